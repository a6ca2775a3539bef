"""R13 case book (#18): clean redaction on a corpus of real-looking Japanese text (exact
outputs: no artefacts, no over-redaction), and the prefecture's review — a case is found
by other towns only once published; its own town always finds it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from handlers import router
from handlers.core import payloads
from handlers.documents import casebook
from handlers.documents.casebook import Place, Redactor, Words
from storage.models import AuditEntry
from tests.support.factories import count, refusals, submit
from tests.support.report_season import DAY, add_log, add_session

NAMES = {"森 翔太", "井上 恵", "田中 美咲", "佐藤 一", "長谷川 りえ", "タナカ ハナコ"}
TITLES = {"主査", "主任", "係長", "課長補佐", "主事"}
PLACES = [
    Place("宇土市", "うとし", "市", "県内の市"),
    Place("美里町", "みさとまち", "町", "県内の町"),
    Place("五木村", "いつきむら", "村", "県内の村"),
]


@pytest.fixture(scope="module")
def redact() -> Redactor:
    return Redactor(NAMES, TITLES, PLACES, Words("担当者", "職員", "幹部職員", "(削除)"))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # phone numbers in brackets: the brackets go with them
        ("田中さん(090-1234-5678)に連絡する。", "担当者(削除)に連絡する。"),
        ("連絡先:森(096-333-2222)", "連絡先:担当者(削除)"),
        ("電話(0964)22-1111まで", "電話(削除)まで"),
        ("ＴＥＬ（０９６）３３３－２２２２", "TEL(削除)"),
        ("代表 0964-22-1111(内線 234)", "代表 (削除)(内線 234)"),
        ("問い合わせ tanaka@uto.example.jp (田中)", "問い合わせ (削除) (担当者)"),
        # an unknown longer surname ending in a known one-character part: all of it
        ("大森さんと森さんが出席した。", "担当者と担当者が出席した。"),
        ("森林組合の大森さんに確認した。", "森林組合の担当者に確認した。"),
        ("市民課大森さんが説明した。", "市民課担当者が説明した。"),
        ("宇土市大森さんから電話。", "県内の市担当者から電話。"),
        # a one-character part inside a word, or another surname, is left alone
        ("森林の保全と恵まれた環境。", "森林の保全と恵まれた環境。"),
        ("森田さんは他県の方。", "森田さんは他県の方。"),
        # names, titles and a department with its head
        ("田中美咲主査、森翔太主事が対応。", "担当者、担当者が対応。"),
        ("市民課長の佐藤と井上 恵課長補佐", "職員の担当者と担当者"),
        ("長谷川りえさん(主任)", "担当者(職員)"),
        ("出席: 森、井上、高橋", "出席: 担当者、担当者、高橋"),
        ("主査の森から説明。", "職員の担当者から説明。"),
        ("ﾀﾅｶ ﾊﾅｺ係長に資料を渡した。", "担当者に資料を渡した。"),
        # municipalities and their one-person heads
        ("宇土市長と美里町の副町長が出席。", "幹部職員と県内の町の幹部職員が出席。"),
        ("五木村教育長、宇土の窓口", "幹部職員、県内の市の窓口"),
        ("うとしのホームページ", "県内の市のホームページ"),
        # numbers that are not phone numbers stay
        ("令和8年7月1日 2026-07-01 予算1,000,000円", "令和8年7月1日 2026-07-01 予算1,000,000円"),
    ],
)
def test_redaction_on_the_corpus(redact, text, expected):
    assert redact(text) == expected


def test_no_artefact_is_ever_left(redact):
    corpus = [
        "森(090-1234-5678)",
        "井上(0964-22-1111)・田中(tanaka@uto.example.jp)",
        "（０９０）１２３４－５６７８",
    ]
    for text in corpus:
        out = redact(text)
        assert "))" not in out and "((" not in out and "担当者担当者" not in out, out


@pytest.fixture
def cases(ctx, cast):
    """A consultation of 宇土市 (田中 美咲's town) with its log; a BPR engagement of 宇土市."""
    staff = cast["田中 美咲"]
    request = submit(ctx, staff, description="電子申請の様式づくりを相談したい。")
    session_id = add_session(ctx, cast, "consultation", DAY, [staff.municipality_id], request)
    add_log(ctx, cast, [session_id], staff.municipality_id, "申請様式を確認した。")
    ctx.clock.set(ctx.clock.now() + timedelta(days=40))
    return f"C{request}"


def search_refs(ctx, actor, words="電子申請 様式"):
    reply = router.submit(ctx, actor, "casebook.search", {"casebook_words": words})
    assert reply.ok, reply.plain_text()
    return reply.plain_text()


def test_a_case_is_found_by_other_towns_only_once_published(ctx, cast, cases):
    own, other, prefecture = cast["田中 美咲"], cast["松本 大輔"], cast["熊本 県子"]
    assert own.municipality_id != other.municipality_id
    assert f"事例 {cases}" in search_refs(ctx, own)  # its own town sees it at once
    assert f"事例 {cases}" not in search_refs(ctx, other)
    with ctx.db.transaction() as session:
        assert casebook.gather_cases(session, "ja") == []  # nor is it in the case book
    listing = router.press(ctx, prefecture, "case.review")
    assert "審査待ち1件/全1件" in listing.plain_text()
    assert "審査待ち" in listing.plain_text() and "電子申請の様式づくり" in listing.plain_text()
    (item,) = listing.blocks[0].items
    assert [b.label for b in item.buttons] == ["公開", "非公開"]
    published = router.press(ctx, prefecture, "case.publish", item.buttons[0].value)
    assert published.ok and "公開しました" in published.plain_text()
    assert f"事例 {cases}" in search_refs(ctx, other)
    with ctx.db.transaction() as session:
        assert [c.ref for c in casebook.gather_cases(session, "ja")] == [cases]
    again = router.press(ctx, prefecture, "case.review")
    assert "審査待ち0件/全1件" in again.plain_text()
    assert [b.label for b in again.blocks[0].items[0].buttons] == ["非公開"]
    withheld = router.press(ctx, prefecture, "case.withhold", item.buttons[1].value)
    assert withheld.ok and "非公開にしました" in withheld.plain_text()
    assert f"事例 {cases}" not in search_refs(ctx, other)
    assert f"事例 {cases}" in search_refs(ctx, own)
    with ctx.db.transaction() as session:
        entries = session.exec(
            select(AuditEntry).where(AuditEntry.target_type == "case").order_by(AuditEntry.id)
        ).all()
    assert [(e.action, e.target_id, e.before, e.after) for e in entries] == [
        ("case.publish", cases, None, {"status": "published"}),
        ("case.withhold", cases, {"status": "published"}, {"status": "withheld"}),
    ]
    assert all(e.actor_id == prefecture.id for e in entries)


def test_only_the_prefecture_reviews_and_a_forged_case_is_refused(ctx, cast, cases):
    value = payloads.encode(kind=cases[0], id=int(cases[1:]))
    for who in ("田中 美咲", "小林 健"):
        assert not router.press(ctx, cast[who], "case.publish", value).ok
        assert not router.press(ctx, cast[who], "case.review").ok
    assert len(refusals(ctx, "case.publish")) == 2
    prefecture = cast["熊本 県子"]
    missing = router.press(ctx, prefecture, "case.publish", payloads.encode(kind="C", id=999))
    assert not missing.ok and "見つかりませんでした" in missing.plain_text()
    forged = router.press(ctx, prefecture, "case.publish", payloads.encode(kind="X", id=1))
    assert not forged.ok
    from storage.models import CaseReview

    assert count(ctx, CaseReview) == 0
    menu = router.press(ctx, prefecture, "menu").plain_text()
    assert "事例の公開審査" in menu
    assert "事例の公開審査" not in router.press(ctx, cast["田中 美咲"], "menu").plain_text()


# -- #18 follow-up: a publication holds for the content reviewed; one case per click ----
def audit_of_cases(ctx) -> list[tuple[str, dict | None, dict | None]]:
    with ctx.db.transaction() as session:
        entries = session.exec(
            select(AuditEntry).where(AuditEntry.target_type == "case").order_by(AuditEntry.id)
        ).all()
    return [(e.action, e.before, e.after) for e in entries]


def test_a_published_case_that_changes_awaits_review_again(ctx, cast, cases):
    """A log filed after publication adds text: other towns stop seeing the case until
    the prefecture has read it again and published it again."""
    own, other, prefecture = cast["田中 美咲"], cast["松本 大輔"], cast["熊本 県子"]
    value = payloads.encode(kind="C", id=int(cases[1:]))
    assert router.press(ctx, prefecture, "case.publish", value).ok
    assert f"事例 {cases}" in search_refs(ctx, other)
    later = add_session(
        ctx, cast, "consultation", DAY + timedelta(days=3), [own.municipality_id], int(cases[1:])
    )
    add_log(ctx, cast, [later], own.municipality_id, "追加の相談で森さんの新しい様式を見た。")
    assert f"事例 {cases}" not in search_refs(ctx, other)
    assert f"事例 {cases}" in search_refs(ctx, own)  # its own town still does
    with ctx.db.transaction() as session:
        assert casebook.gather_cases(session, "ja") == []  # nor the case book document
    listing = router.press(ctx, prefecture, "case.review").plain_text()
    assert "審査待ち1件/全1件" in listing and "内容が変わりました" in listing
    assert "追加の相談で担当者の新しい様式" in listing  # the new text, redacted, to review
    (item,) = router.press(ctx, prefecture, "case.review").blocks[0].items
    assert [b.label for b in item.buttons] == ["公開", "非公開"]
    assert router.press(ctx, prefecture, "case.publish", value).ok
    assert f"事例 {cases}" in search_refs(ctx, other)
    with ctx.db.transaction() as session:
        (shown,) = casebook.gather_cases(session, "ja")
    assert "追加の相談" in shown.response
    assert "審査待ち0件/全1件" in router.press(ctx, prefecture, "case.review").plain_text()
    assert audit_of_cases(ctx) == [
        ("case.publish", None, {"status": "published"}),
        ("case.publish", {"status": "changed"}, {"status": "published"}),
    ]


def test_a_publication_without_a_digest_awaits_review_again(ctx, cast, cases):
    """Rows published before migration 0014 recorded no content: read again first."""
    from storage.models import CaseReview

    prefecture = cast["熊本 県子"]
    value = payloads.encode(kind="C", id=int(cases[1:]))
    assert router.press(ctx, prefecture, "case.publish", value).ok
    with ctx.db.transaction() as session:
        row = session.get(CaseReview, cases)
        assert row is not None and len(row.digest or "") == 64
        row.digest = None
        session.add(row)
    assert f"事例 {cases}" not in search_refs(ctx, cast["松本 大輔"])
    assert "内容が変わりました" in router.press(ctx, prefecture, "case.review").plain_text()


def test_a_case_published_in_english_reaches_japanese_readers(ctx, cast, cases):
    """The digest is of the Japanese text whoever reviews: the same substance."""
    from dataclasses import replace

    prefecture = replace(cast["熊本 県子"], language="en")
    value = payloads.encode(kind="C", id=int(cases[1:]))
    listing = router.press(ctx, prefecture, "case.review").plain_text()
    assert "Awaiting review" in listing
    assert router.press(ctx, prefecture, "case.publish", value).ok
    assert f"事例 {cases}" in search_refs(ctx, cast["松本 大輔"])
    assert "Awaiting review" not in router.press(ctx, prefecture, "case.review").plain_text()


@pytest.mark.parametrize("language", ["ja", "en"])
def test_one_case_built_alone_is_the_one_in_the_whole_book(ctx, season, language):
    """case_of (a click) builds the same case, digest included, as the whole book."""
    from storage import engagements

    with ctx.db.transaction() as session:
        every = casebook.gather_cases(session, language, shown_to=casebook.EVERY)
        assert sorted(c.ref[0] for c in every) == ["B", "C"]
        for case in every:
            assert casebook.case_of(session, language, case.ref) == case
            assert len(case.digest) == 64
        assert casebook.case_of(session, language, "C999") is None
        assert casebook.case_of(session, language, "B999") is None
        engagement = engagements.get(session, season["engagement"])
        assert engagement is not None  # its application is a request, but no consultation
        assert casebook.case_of(session, language, f"C{engagement.application_id}") is None


def test_publishing_one_case_reads_the_same_however_many_engagements(ctx, cast, cases):
    """No query per engagement: neither in a click on one case nor in the review list."""
    from storage import engagements
    from storage.models import Engagement
    from tests.support.factories import apply
    from tests.support.sql_statements import statements

    prefecture = cast["熊本 県子"]
    value = payloads.encode(kind="C", id=int(cases[1:]))

    def measured() -> tuple[int, int]:
        with statements(ctx) as publish:
            assert router.press(ctx, prefecture, "case.publish", value).ok
        with statements(ctx) as listing:
            assert router.press(ctx, prefecture, "case.review").ok
        return len(publish), len(listing)

    measured()  # the first decision inserts its row; the later ones update it
    before = measured()
    staff = cast["田中 美咲"]
    with ctx.db.transaction() as session:
        taken = {e.municipality_id for e in engagements.listing(session)}
    free = [m for m in range(1, 46) if m not in taken][:4]
    for municipality_id in free:
        application = apply(ctx, staff, description=f"窓口{municipality_id}")
        with ctx.db.transaction() as session:
            engagements.add(
                session,
                Engagement(
                    municipality_id=municipality_id,
                    application_id=application,
                    department="総務課",
                    goal="窓口の改善",
                    created_at=ctx.clock.now(),
                ),
            )
    assert measured() == before


def test_two_first_decisions_at_once_are_one_row_and_both_audited(ctx, cast):
    """Publish and withhold pressed at the same moment on a case never reviewed: on
    PostgreSQL (the CI's second pass) both insert the row; the insert's conflict lets
    one write it and the other update it — no primary-key error, and the later one's
    audit says what it changed."""
    from storage.models import CaseReview
    from tests.support.threads import run_together

    staff, prefecture = cast["田中 美咲"], cast["熊本 県子"]
    for round_number in range(4):
        request = submit(ctx, staff, description=f"電子申請の相談 その{round_number}")
        day = DAY + timedelta(days=round_number)
        held = add_session(ctx, cast, "consultation", day, [staff.municipality_id], request)
        add_log(ctx, cast, [held], staff.municipality_id, "申請様式を確認した。")
        value = payloads.encode(kind="C", id=request)
        replies = run_together(
            lambda v=value: casebook.publish(ctx, prefecture, v),
            lambda v=value: casebook.withhold(ctx, prefecture, v),
        )
        assert all(r is not None and r.ok for r in replies), [
            r.plain_text() if r else None for r in replies
        ]
        with ctx.db.transaction() as session:
            row = session.get(CaseReview, f"C{request}")
            entries = session.exec(
                select(AuditEntry).where(AuditEntry.target_id == f"C{request}")
            ).all()
        assert row is not None and row.digest
        first = next(e for e in entries if e.before is None)
        (second,) = [e for e in entries if e is not first]
        assert second.before == first.after and first.after != second.after
        assert row.status == second.after["status"]
    assert count(ctx, CaseReview) == 4
