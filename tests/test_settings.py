"""Per-person settings (`/dx 設定`): a person's own language for every reply and notice
(R15), and how their session invites reach them — worded, audited, and obeyed when
invites are queued."""

from __future__ import annotations

from sqlmodel import select

from handlers import router
from handlers.core.reply import Form
from handlers.notifications import notices
from handlers.people import preferences
from storage import people
from storage.models import AuditEntry, Person
from tests.support.bookings import book_consultation, invite_rows
from tests.support.factories import refusals


def person(ctx, actor) -> Person:
    with ctx.db.transaction() as session:
        return Person.model_validate(people.get(session, actor.id))


def form_of(reply) -> Form:
    (form,) = [b for b in reply.blocks if isinstance(b, Form)]
    return form


def save(ctx, actor, **values):
    return router.submit(ctx, actor, "settings.set", values)


def test_the_command_opens_the_form_filled_with_what_they_have(ctx, cast, staff):
    for words in ("設定", "settings"):  # either language's word, on every platform
        form = form_of(router.command(ctx, staff, words))
        assert form.action == "settings.set" and form.title == "個人設定"
        values = {i.name: i.value for i in form.inputs}
        assert values == {"language": "ja", "invite_delivery": "both"}
        labels = {c.value: c.label for i in form.inputs for c in i.choices}
        assert labels["feed"] == "カレンダー購読のみ(招待は送らない)"
    menu = router.press(ctx, staff, "menu").plain_text()
    assert "個人設定" in menu


def test_english_chosen_is_spoken_from_then_on_and_audited(ctx, cast, staff):
    reply = save(ctx, staff, language="en", invite_delivery="message")
    assert reply.ok, reply.plain_text()
    text = reply.plain_text()
    assert "Your settings are saved." in text and "Language: English" in text
    assert "message (with the .ics) only" in text
    saved = person(ctx, staff)
    assert (saved.language, saved.invite_delivery) == ("en", "message")
    with ctx.db.transaction() as session:
        (entry,) = session.exec(select(AuditEntry).where(AuditEntry.action == "settings.set")).all()
        assert (entry.actor_id, entry.target_id, entry.outcome) == (staff.id, str(staff.id), "ok")
        assert entry.before == {"language": None, "invite_delivery": "both"}
        assert entry.after == {"language": "en", "invite_delivery": "message"}

    # the adapters build the actor from the person: every reply is English now …
    english = router.press(ctx, people_actor(ctx, staff), "menu").plain_text()
    assert english.startswith("Hello") and "個別相談" not in english, english
    # … and so is every notice to them (the request approved, the session's invite)
    book_consultation(ctx, cast)
    theirs = [o for o in notices.claim(ctx, None) if o.person_id == staff.id]
    assert len(theirs) >= 2 and {o.language for o in theirs} == {"en"}
    texts = "\n".join(o.reply.plain_text() for o in theirs)
    assert "approved" in texts.lower() and "を承認しました" not in texts, texts


def people_actor(ctx, actor):
    from handlers.core.actor import Actor

    return Actor.from_person(person(ctx, actor))


def test_email_without_an_address_is_refused_next_to_its_field(ctx, cast, staff):
    with ctx.db.transaction() as session:
        row = people.get(session, staff.id)
        row.email = None
        session.add(row)
    reply = save(ctx, staff, language="en", invite_delivery="email")
    assert not reply.ok
    form = form_of(reply)
    errors = {i.name: i.error for i in form.inputs if i.error}
    assert list(errors) == ["invite_delivery"]
    assert "e-mail address is not on the roster" not in errors["invite_delivery"]  # still ja
    assert "メールアドレスが名簿に登録されていない" in errors["invite_delivery"]
    assert {i.name: i.value for i in form.inputs}["language"] == "en"  # refilled as typed
    assert person(ctx, staff).language is None  # nothing saved


def test_a_value_not_offered_is_an_error_on_that_field(ctx, cast, staff):
    reply = save(ctx, staff, language="fr", invite_delivery="pigeon")
    assert not reply.ok
    assert set(reply.data["errors"]) == {"language", "invite_delivery"}
    assert person(ctx, staff).invite_delivery == "both"


def test_invites_are_queued_as_each_attendee_chose(ctx, cast):
    chosen = {"小林 健": "feed", "田中 美咲": "message", "水前寺 花": "email"}
    for name, delivery in chosen.items():
        assert save(ctx, cast[name], language="ja", invite_delivery=delivery).ok
    book_consultation(ctx, cast)
    kinds: dict[int, set[str]] = {}
    for row in invite_rows(ctx):
        kinds.setdefault(row.person_id, set()).add(row.kind)
    assert kinds == {
        cast["田中 美咲"].id: {"invite"},
        cast["水前寺 花"].id: {"invite_email"},
    }  # 小林 健 follows his feed: no invite at all


def test_invite_channels_fall_back_to_a_message_without_an_address():
    def channels(delivery: str, email: str | None) -> tuple[str, ...]:
        return preferences.invite_channels(
            Person(name="x", role="consultant", email=email, invite_delivery=delivery)
        )

    assert channels("both", "a@example.jp") == ("chat", "email")
    assert channels("both", None) == ("chat",)
    assert channels("email", None) == ("chat",)  # an invite must reach them somehow
    assert channels("feed", "a@example.jp") == ()


def test_settings_are_for_oneself_only(ctx, cast, staff):
    """No field names a person: the form saves the actor's own row; nothing else moved."""
    other = cast["松本 大輔"]
    assert save(ctx, staff, language="en", invite_delivery="feed").ok
    assert person(ctx, other).language is None and person(ctx, other).invite_delivery == "both"
    assert not refusals(ctx, "settings.set")
