"""R12/R13: documents from stored data (both formats), era dates, anonymisation, the
case book search, the chat intents and the `report` command."""

from __future__ import annotations

import io
import re
from datetime import date, timedelta
from pathlib import Path

import pytest
from docx import Document as open_docx
from sqlmodel import select

from bot.cli.report import run as report_cli
from bot.cli.report import write_documents
from handlers import router
from handlers.documents import build, casebook
from handlers.documents.era import era_date, fiscal_year_label
from handlers.documents.gathering import Period
from storage import engagements, logs
from storage.models import (
    Person,
    WorkLog,
    WorkLogAttendee,
)
from tests.support.factories import publish_cases, refusals, submit
from tests.support.report_season import (
    DAY,
    REQUIRED,
    add_session,
    args,
    at,
)


def docx_text(content: bytes) -> tuple[str, int]:
    document = open_docx(io.BytesIO(content))
    parts = [p.text for p in document.paragraphs]
    for table in document.tables:
        for row in table.rows:
            parts.extend(cell.text for cell in row.cells)
    return "\n".join(parts), len(document.tables)


def html_text(content: bytes) -> str:
    text = content.decode("utf-8")
    assert "@page { size: A4" in text
    body = text.split("</style>", 1)[1]
    return re.sub(r"<[^>]+>", "\n", body).replace("&amp;", "&")


@pytest.mark.parametrize("kind", list(REQUIRED))
def test_every_required_field_is_in_both_formats(ctx, season, kind):
    takes = build.APPLIES[kind]
    period = Period(date(2026, 6, 1), date(2026, 6, 30)) if "period" in takes else None
    municipality = season["uto"] if "municipality" in takes else None
    word = build.build(ctx, kind, "docx", "ja", period, municipality)
    html = build.build(ctx, kind, "html", "ja", period, municipality)
    text, tables = docx_text(word.file.content)
    assert tables >= 1  # re-opens with python-docx and holds its tables
    for expected in REQUIRED[kind]:
        assert expected in text, (kind, expected, "docx")
        assert expected in html_text(html.file.content), (kind, expected, "html")
    assert not word.empty
    assert word.file.name.endswith(".docx") and html.file.mime.startswith("text/html")


def test_the_case_book_items_come_from_the_data(ctx, cast):
    """Without cases, none of the case book's required items is there: they cannot be
    satisfied by the intro text or the practices file."""
    text = build.build(ctx, "casebook", "html", "ja").file.content.decode()
    assert "掲載できる県内の事例はまだありません" in text
    assert not [item for item in REQUIRED["casebook"] if item in text]


def test_the_final_report_counts_a_joint_session_once(ctx, season):
    document, _ = build.document_for(ctx, "final", "ja", Period(date(2026, 6, 1), None))
    results = next(b for b in document.blocks if getattr(b, "header", ("",))[-1] == "計画比")
    bpr = next(row for row in results.rows if row[0] == "BPR伴走支援")
    assert bpr[2:5] == ("1", "0", "1")  # held once although two municipalities took part


def test_the_case_book_names_no_one_from_the_database(ctx, season):
    with ctx.db.transaction() as session:
        staff = {p.name for p in session.exec(select(Person))} | {
            a.name for a in session.exec(select(WorkLogAttendee))
        }
    parts = {part for name in staff for part in name.split()} | staff
    parts |= {name.replace(" ", "") for name in staff}
    for fmt in ("docx", "html"):
        built = build.build(ctx, "casebook", fmt, "ja")
        text = docx_text(built.file.content)[0] if fmt == "docx" else html_text(built.file.content)
        text = text.replace(built.document.addressee, "")  # 熊本県知事 様: not a person's name
        leaked = sorted(p for p in parts if len(p) >= 2 and p in text)
        assert not leaked, (fmt, leaked)
        assert "主査" not in text and "係長" not in text and "@" not in text
        assert "宇土市" not in text and "担当者" in text


def test_case_book_search_ranks_the_closest_first(ctx, season):
    with ctx.db.transaction() as session:
        hits = casebook.search(session, "ja", "電子申請 様式")
        assert hits and hits[0].ref.startswith("C")  # the consultation about forms
        practices = casebook.search(session, "ja", "書かない窓口")
        assert practices[0].title.startswith("北海道北見市") and practices[0].link
        assert casebook.search(session, "ja", "") == []
    assert casebook.tokens("RPA導入") == casebook.tokens("ＲＰＡ導入")  # NFKC


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (date(2019, 4, 30), "平成31年4月30日"),
        (date(2019, 5, 1), "令和元年5月1日"),
        (date(2026, 12, 31), "令和8年12月31日"),
        (date(2027, 1, 1), "令和9年1月1日"),
    ],
)
def test_era_dates_across_the_boundaries(day, expected):
    assert era_date("ja", day) == expected


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (date(2019, 4, 1), "令和元年度"),  # began under 平成31: named by the era at its end
        (date(2019, 5, 1), "令和元年度"),
        (date(2020, 3, 31), "令和元年度"),
        (date(2018, 4, 1), "平成30年度"),
        (date(2019, 3, 31), "平成30年度"),
        (date(1988, 4, 1), "昭和63年度"),  # 平成 began in its January: year 0 is no year
        (date(1989, 4, 1), "平成元年度"),
    ],
)
def test_a_fiscal_year_across_an_era_change(day, expected):
    assert fiscal_year_label("ja", day) == expected


def test_fiscal_years_run_april_to_march():
    assert fiscal_year_label("ja", date(2026, 4, 1)) == "令和8年度"
    assert fiscal_year_label("ja", date(2027, 3, 31)) == "令和8年度"
    assert fiscal_year_label("ja", date(2027, 4, 1)) == "令和9年度"
    assert fiscal_year_label("en", date(2026, 11, 24)).startswith("FY2026")


@pytest.mark.parametrize("kind", ["log", "minutes", "final"])
def test_an_empty_period_says_so(ctx, cast, kind):
    built = build.build(ctx, kind, "html", "ja", Period(date(2026, 8, 1), date(2026, 8, 31)))
    assert built.empty
    assert "該当する記録はありません" in html_text(built.file.content)
    text, _ = docx_text(build.build(ctx, kind, "docx", "ja", Period()).file.content)
    assert "該当する記録はありません" in text


def test_prefecture_receives_the_file_and_others_are_refused(ctx, season, cast):
    prefecture, staff = cast["水前寺 花"], cast["田中 美咲"]
    form = router.press(ctx, prefecture, "report.form").form
    assert form is not None and form.action == "report.request"
    values = {
        "report_document": "plan",
        "municipality": str(season["uto"]),
        "report_format": "docx",
    }
    reply = router.submit(ctx, prefecture, "report.request", values)
    assert reply.ok and reply.files and reply.files[0].name == "支援計画書_宇土市.docx"
    refused = router.submit(ctx, staff, "report.request", values)
    assert not refused.ok and not refused.files
    assert refusals(ctx, "report.request")
    bad = router.submit(
        ctx,
        prefecture,
        "report.request",
        {**values, "report_from": "2026-07-10", "report_to": "2026-07-01"},
    )
    assert not bad.ok and "report_to" in bad.data["errors"]


def test_everyone_can_search_the_case_book_from_chat(ctx, season, cast):
    staff = cast["松本 大輔"]
    assert router.press(ctx, staff, "casebook.form").form is not None
    reply = router.submit(ctx, staff, "casebook.search", {"casebook_words": "RPA"})
    assert reply.ok and reply.data["hits"]
    assert "RPA" in reply.plain_text()


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"start": "2026-13-01"}, "--from"),
        ({"start": "2026-07-02", "end": "2026-07-01"}, "終了日"),
        ({"municipality": "架空町"}, "架空町"),
        ({"out": Path("/nonexistent/dir/x.docx")}, "/nonexistent/dir"),
        ({"out": Path("report.txt")}, "docx"),  # pdf is a format now (#18)
    ],
)
def test_the_command_refuses_bad_arguments_in_one_line(ctx, cast, tmp_path, overrides, message):
    err = io.StringIO()
    assert report_cli(ctx, args(tmp_path, **overrides), "ja", err) == 2
    lines = err.getvalue().strip().splitlines()
    assert len(lines) == 1 and message in lines[0]


def test_the_command_writes_the_file_with_progress(ctx, season, tmp_path):
    err = io.StringIO()
    assert report_cli(ctx, args(tmp_path, out=tmp_path, format="html"), "ja", err) == 0
    written = list(tmp_path.glob("*.html"))
    assert [p.name for p in written] == ["実績報告書.html"]
    assert "業務日報を読み込みました(2件)" in err.getvalue()


def test_write_documents_writes_each_document_once(ctx, season, tmp_path):
    paths = write_documents(ctx, tmp_path / "documents")
    assert len(paths) == len(set(paths)) == 15
    assert {p.suffix for p in paths} == {".docx", ".html", ".pdf"}
    assert all(p.exists() and p.stat().st_size > 0 for p in paths)


# -- review fixes -------------------------------------------------------------------
def test_the_final_report_covers_the_contract_without_dates(ctx, season, tmp_path):
    ctx.clock.set(at(date(2027, 5, 10), 10))  # generated in the next fiscal year
    document, _ = build.document_for(ctx, "final", "ja", Period())
    text = document.text()
    assert (
        "令和8年度 市町村へのデジタル人材派遣" in text
        and "令和9年度" not in text.split("作成日")[0]
    )
    assert "令和8年6月1日〜令和9年3月31日" in text
    only_end, _ = build.document_for(ctx, "final", "ja", Period(None, date(2026, 6, 10)))
    assert "令和8年6月1日〜令和8年6月10日" in only_end.text()
    only_start, _ = build.document_for(ctx, "final", "ja", Period(date(2026, 6, 11), None))
    assert "令和8年6月11日〜令和9年3月31日" in only_start.text()
    assert "申請様式を確認した" in only_start.text() and "現状を聞いた" not in only_start.text()
    # chat: no dates either
    reply = router.submit(
        ctx,
        season_prefecture(ctx),
        "report.request",
        {"report_document": "final", "report_format": "html"},
    )
    assert reply.ok and "令和8年6月1日〜令和9年3月31日" in html_text(reply.files[0].content)


def season_prefecture(ctx):
    from handlers.core.actor import Actor

    with ctx.db.transaction() as session:
        person = session.exec(select(Person).where(Person.role == "prefecture")).first()
        return Actor.from_person(person)


def test_consultants_who_left_stay_in_the_team(ctx, season, cast):
    with ctx.db.transaction() as session:
        for name in ("中村 由紀", "小林 健"):
            session.get(Person, cast[name].id).active = False
    document, _ = build.document_for(ctx, "final", "ja", Period(date(2026, 6, 1), None))
    team = next(b for b in document.blocks if getattr(b, "header", ("",))[-1] == "資格")
    names = [row[0] for row in team.rows]
    assert names == ["高橋 誠", "中村 由紀"]  # 小林 left and took part in nothing


def test_held_is_the_quota_views_rule(ctx, season):
    from handlers.planning import quotas

    ctx.clock.set(at(DAY + timedelta(days=1), 11))  # the consultation has begun, not ended
    document, _ = build.document_for(ctx, "final", "ja", Period(date(2026, 6, 1), None))
    results = next(b for b in document.blocks if getattr(b, "header", ("",))[-1] == "計画比")
    counts = {r.kind: (r.held, r.booked) for r in quotas.figures(ctx)}
    assert counts["consultation"][0] == 1  # begun counts as held before its log is filed
    for row in results.rows:
        kind = next(k for k, v in LABELS.items() if v == row[0])
        assert (int(row[2]), int(row[3])) == counts[kind], row


LABELS = {
    "bpr": "BPR伴走支援",
    "consultation": "個別相談",
    "office_day": "県庁業務",
    "results_meeting": "成果報告会",
}


def test_planned_days_come_from_upcoming_sessions_and_done_days_from_held_ones(ctx, season, cast):
    """予定日: the k-th remaining planned step falls on the k-th upcoming booked BPR
    session; 実施日: the session a done step was done in (step 1, the 6/10 visit)."""
    uto = season["uto"]
    for d in (28, 35):  # 7/8 and 7/15, after the clock (7/1)
        add_session(
            ctx, cast, "bpr", DAY + timedelta(days=d), [uto], engagement_id=season["engagement"]
        )
    with ctx.db.transaction() as session:
        steps = engagements.steps(session, season["engagement"])
        engagements.close_step(session, steps[1], "skipped", [], now=ctx.clock.now(), by=1)
    document, _ = build.document_for(ctx, "plan", "ja", Period(), uto)
    table = next(
        b
        for b in document.blocks
        if getattr(b, "header", ("",))[:3] == ("回", "工程", "予定日(支援日)")
    )
    planned = [row[2] for row in table.rows]
    assert planned[:4] == ["-", "-", "令和8年7月8日", "令和8年7月15日"]
    assert set(planned[4:]) == {"-"}  # beyond the booked sessions: blank
    assert [row[3] for row in table.rows][:3] == ["令和8年6月10日", "-", "-"]
    assert [row[4] for row in table.rows][:4] == ["実施済み", "省略", "予定", "予定"]
    # no note explaining how the dates are worked out: an internal note (#18)
    assert "実施日は工程を実施した支援の日付" not in document.text()


def test_the_word_file_says_who_made_it_and_when(ctx, season):
    built = build.build(ctx, "plan", "docx", "ja")
    core = open_docx(io.BytesIO(built.file.content)).core_properties
    assert core.author == "受託者"  # the 提出者 (DXDESK_SUBMITTER; #18), made by DX Desk
    assert core.last_modified_by == "DX Desk"
    assert core.title == "支援計画書"
    assert core.created == core.modified == at(date(2026, 7, 1), 10)
    assert "python-docx" not in (core.comments or "") + (core.author or "")


@pytest.fixture
def leaky(ctx, cast):
    """A consultation whose free text names people the ways staff really type them."""
    staff = cast["田中 美咲"]
    request = submit(
        ctx,
        staff,
        department="宇土市市民課 田中班",
        description=(
            "森さんと井上 恵課長から聞いた。恵さんも同席。出席: 森、井上。"
            "ＴＡＮＡＫＡ＠ＵＴＯ.ＥＸＡＭＰＬＥ.ＪＰ、電話 ０９６４－２２－１１１１、"
            "090ー1234ー5678、(0964)22-1111、09012345678。宇土の窓口で、"
            "宇土市長と副町長、教育長、市民課長が出席。ﾀﾅｶさんにも確認。森林の保全。"
        ),
    )
    day = DAY + timedelta(days=3)
    session_id = add_session(ctx, cast, "consultation", day, [staff.municipality_id], request)
    with ctx.db.transaction() as session:
        logs.add(
            session,
            WorkLog(
                author_id=cast["高橋 誠"].id,
                method="visit",
                place="宇土市役所",
                summary="森翔太さんと相談した。",
                response="ﾀﾅｶ ﾊﾅｺ係長に資料を渡した。",
                filed_at=at(day, 18),
            ),
            [session_id],
            [
                ("市民課", "課長", "森 翔太"),
                ("市民課", "主任", "井上 恵"),
                ("", "", "タナカ ハナコ"),
            ],
        )
    ctx.clock.set(at(date(2026, 7, 1), 10))
    publish_cases(ctx, cast["熊本 県子"])  # the case book shows published cases (#18)
    with ctx.db.transaction() as session:
        return next(c for c in casebook.gather_cases(session, "ja") if c.ref == f"C{request}")


def test_anonymisation_covers_departments_and_one_character_parts(leaky):
    assert leaky.department == "県内の市市民課 担当者班"
    question = leaky.question
    for leak in ("森さん", "恵", "井上", "出席: 森", "宇土", "田中", "TANAKA", "タナカ", "@"):
        assert leak not in question, leak
    assert "森林の保全" in question  # a one-character part inside a word stays
    assert "出席: 担当者、担当者" in question
    assert "担当者と担当者から聞いた" in question or "担当者と職員から聞いた" in question


def test_anonymisation_removes_full_width_mail_and_every_phone_form(leaky):
    assert "0964" not in leaky.question and "090" not in leaky.question
    assert "1111" not in leaky.question and "5678" not in leaky.question
    assert leaky.question.count("(削除)") == 5


def test_titles_that_name_one_person_are_neutral(leaky):
    assert "県内の市の窓口" in leaky.question  # 「宇土の窓口」: a short name
    for title in ("市長", "副町長", "教育長", "市民課長", "課長", "係長"):
        assert title not in leaky.question + leaky.response, title
    assert "幹部職員と幹部職員、幹部職員、職員が出席" in leaky.question
    # half-width katakana matches a name stored in katakana (there is no reading field)
    assert leaky.response == "担当者と相談した。\n担当者に資料を渡した。"


def test_search_titles_carry_the_redacted_department(ctx, leaky):
    with ctx.db.transaction() as session:
        hits = casebook.search(session, "ja", "田中班 窓口")
    titles = " ".join(h.title for h in hits)
    assert "県内の市市民課 担当者班" in titles and "宇土" not in titles


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"kind": "final", "municipality": "宇土市"}, "--municipality は実績報告書"),
        ({"kind": "minutes", "municipality": "宇土市"}, "--municipality は議事録"),
        ({"kind": "plan", "start": "2026-06-01"}, "--from/--to は支援計画書"),
        ({"kind": "casebook", "end": "2026-06-01"}, "指定できるのは なし"),
        ({"kind": "final", "log": [1]}, "--log"),
        ({"kind": "log", "log": [1], "start": "2026-06-01"}, "--from/--to"),
        ({"kind": "log", "log": [999]}, "No.999"),
        ({"format": "docx", "out": Path("x.pdf")}, ".pdf"),
    ],
)
def test_options_that_do_not_apply_are_refused(ctx, season, tmp_path, overrides, message):
    if isinstance(overrides.get("out"), Path):
        overrides["out"] = tmp_path / overrides["out"]
    err = io.StringIO()
    assert report_cli(ctx, args(tmp_path, **overrides), "ja", err) == 2
    lines = err.getvalue().strip().splitlines()
    assert len(lines) == 1 and message in lines[0], lines
    assert not [p for p in tmp_path.iterdir() if p.suffix in (".docx", ".html", ".pdf")]


def test_an_unwritable_output_is_one_line(ctx, season, tmp_path):
    target = tmp_path / "taken.docx"
    target.mkdir()  # a folder where the file should go, with a name that looks like one
    (target / "実績報告書.docx").mkdir()
    err = io.StringIO()
    assert report_cli(ctx, args(tmp_path, out=target), "ja", err) == 2
    lines = err.getvalue().strip().splitlines()
    assert lines[-1].startswith("出力先") and "書き込めません" in lines[-1]
    assert "Traceback" not in err.getvalue()


def test_one_work_log_by_number(ctx, season, tmp_path):
    with ctx.db.transaction() as session:
        first = min(log.id for log in session.exec(select(WorkLog)))
    err = io.StringIO()
    out = tmp_path / "one.html"
    assert report_cli(ctx, args(tmp_path, kind="log", log=[first], out=out), "ja", err) == 0
    text = html_text(out.read_bytes())
    assert f"業務日報 No.{first}(" in text and f"No.{first + 1}(" not in text


# -- office conventions (#18) ---------------------------------------------------------
W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


def test_word_follows_japanese_office_conventions(ctx, season):
    """A4 with Japanese margins, 作成日 / 宛先 / 提出者 above the title, 明朝 body and
    ゴシック headings as East Asian fonts (no theme font left to override them), black
    headings without the title rule, ja-JP, "n / N" page numbers, sized columns."""
    from docx.shared import Mm

    built = build.build(ctx, "plan", "docx", "ja", None, season["uto"])
    word = open_docx(io.BytesIO(built.file.content))
    section = word.sections[0]
    assert (round(section.page_width.mm), round(section.page_height.mm)) == (210, 297)
    assert (round(section.top_margin.mm), round(section.left_margin.mm)) == (35, 30)
    first = [p.text for p in word.paragraphs[:5]]
    assert first == ["作成日 令和8年7月1日", "熊本県知事 様", "受託者", "支援計画書", "宇土市"]
    assert word.paragraphs[2].alignment == 2 and word.paragraphs[1].alignment == 0  # right, left
    styles = word.styles
    for name, font in (("Normal", "游明朝"), ("Title", "游ゴシック"), ("Heading 1", "游ゴシック")):
        fonts = styles[name].element.rPr.rFonts
        assert fonts.get(f"{W}eastAsia") == font, name
        assert not [a for a in fonts.attrib if a.endswith("Theme") or a.endswith("theme")], name
    for name in ("Title", "Heading 1", "Heading 2", "Heading 3"):
        assert str(styles[name].font.color.rgb) == "000000", name
        assert styles[name].font.italic is False
    assert styles["Title"].element.pPr.find(f"{W}pBdr") is None  # no blue title rule
    defaults = word.styles.element.find(f"{W}docDefaults").find(f".//{W}lang")
    assert defaults.get(f"{W}val") == defaults.get(f"{W}eastAsia") == "ja-JP"
    assert word.core_properties.language == "ja-JP"
    footer = section.footer.paragraphs[0]._p
    fields = [f.get(f"{W}instr").strip() for f in footer.iter(f"{W}fldSimple")]
    assert fields == ["PAGE", "NUMPAGES"] and " / " in footer.xpath("string(.)")
    steps = next(t for t in word.tables if t.rows[0].cells[0].text == "回")
    grid = [c.w for c in steps._tbl.tblGrid.gridCol_lst]
    assert grid[0] < grid[1] / 3  # 回 (a number) is far narrower than 工程 (a phrase)
    assert abs(sum(grid) - Mm(150)) < Mm(1)  # the text width, fixed
    layout = steps._tbl.tblPr.find(f"{W}tblLayout")
    assert layout is not None and layout.get(f"{W}type") == "fixed"


def test_the_addressee_and_submitter_come_from_the_configuration(ctx, season):
    from dataclasses import replace

    ctx.rules = replace(
        ctx.rules,
        addressee="熊本県知事 山田 太郎 様",
        submitter="株式会社サンプル 代表取締役 佐藤 一郎",
    )
    word = open_docx(io.BytesIO(build.build(ctx, "final", "docx", "ja").file.content))
    assert [p.text for p in word.paragraphs[1:3]] == [
        "熊本県知事 山田 太郎 様",
        "株式会社サンプル 代表取締役 佐藤 一郎",
    ]
    assert word.core_properties.author == "株式会社サンプル 代表取締役 佐藤 一郎"
    html = build.build(ctx, "minutes", "html", "ja").file.content.decode()
    assert '<p class="addressee">熊本県知事 山田 太郎 様</p>' in html
    assert '<p class="submitter">株式会社サンプル 代表取締役 佐藤 一郎</p>' in html
    english = build.build(ctx, "minutes", "html", "en").file.content.decode()
    assert "熊本県知事 山田 太郎 様" in english  # a configured name is not translated


def test_html_prints_numbered_a4_pages_in_japanese(ctx, season):
    html = build.build(ctx, "plan", "html", "ja", None, season["uto"]).file.content.decode()
    assert '<html lang="ja-JP">' in html
    assert 'counter(page) " / " counter(pages)' in html
    assert "<colgroup><col" in html and "熊本県知事 様" in html
    assert "table-layout: fixed" in html


def test_no_internal_notes_in_any_document(ctx, season):
    """The plan's explanation of how dates are worked out and the practices file's
    instruction to the prefecture are for us, not for the reader."""
    for kind in ("plan", "casebook", "final"):
        text = build.document_for(ctx, kind, "ja", Period())[0].text()
        assert "県が追加・更新してください" not in text, kind
        assert "当てはめたもの" not in text, kind


def test_attendee_titles_come_from_what_was_filed(ctx, season):
    """Each attendee keeps the title filed with the log (主査, 係長 …), not one for all."""
    text = build.document_for(ctx, "log", "ja", Period())[0].text()
    assert "市民課 主査 田中 美咲" in text and "市民課 係長 宇土 次郎" in text


def test_the_workbook_and_the_bundle_are_refused_in_other_formats(ctx, season, cast):
    prefecture = cast["水前寺 花"]
    reply = router.submit(
        ctx,
        prefecture,
        "report.request",
        {
            "report_document": "workbook",
            "report_format": "docx",
            "report_dates": "iso",
            "municipality": str(season["uto"]),
        },
    )
    assert not reply.ok
    assert {"report_format", "municipality"} <= set(reply.data["errors"])
    dated = router.submit(
        ctx, prefecture, "report.request", {"report_document": "plan", "report_dates": "iso"}
    )
    assert not dated.ok and "report_dates" in dated.data["errors"]


def test_the_prefecture_gets_a_pdf_and_a_workbook_from_chat(ctx, season, cast):
    prefecture = cast["水前寺 花"]
    pdf = router.submit(
        ctx, prefecture, "report.request", {"report_document": "minutes", "report_format": "pdf"}
    )
    assert pdf.ok and pdf.files[0].name == "議事録.pdf"
    assert pdf.files[0].content.startswith(b"%PDF-") and pdf.files[0].mime == "application/pdf"
    book = router.submit(ctx, prefecture, "report.request", {"report_document": "workbook"})
    assert book.ok and book.files[0].name == "集計表.xlsx"
    assert book.files[0].content.startswith(b"PK")
