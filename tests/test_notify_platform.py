"""Each person's notices go to exactly one chat platform: the one they last used DX Desk
from, else the one they were linked to first (people.notified_on, notices.claim)."""

from __future__ import annotations

from sqlalchemy import inspect, text

from handlers.core.lookups import notify
from handlers.notifications import notices
from handlers.people import roster
from storage import migrate, people
from storage.models import Person
from tests.support.sql_statements import statements

TANAKA = "田中 美咲"
TAKAHASHI = "高橋 誠"


def link(ctx, person_id: int, *accounts: tuple[str, str]) -> None:
    """Link chat accounts in this order (the first is the earliest-linked)."""
    for platform, user_id in accounts:
        with ctx.db.transaction() as session:
            people.link_identity(session, person_id, platform, user_id)


def queue(ctx, key: str, *person_ids: int) -> None:
    with ctx.db.transaction() as session:
        notify(
            session,
            key=key,
            person_ids=list(person_ids),
            message="notice.assigned",
            params={"number": "相談-2026-001", "municipality": "宇土市"},
            now=ctx.clock.now(),
        )


def claimed(ctx, platform: str) -> list[tuple[str, str | None]]:
    """(key, platform user id) of what `platform`'s deliverer claims now."""
    return sorted((out.key, out.to) for out in notices.claim(ctx, platform))


def stored_platform(ctx, person_id: int) -> str | None:
    with ctx.db.transaction() as session:
        person = session.get(Person, person_id)
        assert person is not None
        return person.notify_platform


def test_notices_go_only_to_the_platform_last_used(ctx, cast):
    assert ctx.clock.now().weekday() < 5 and 9 <= ctx.clock.now().hour < 17
    tanaka = cast[TANAKA].id
    link(ctx, tanaka, ("slack", "U-TANAKA"), ("teams", "aad-tanaka"))
    assert roster.identify(ctx, "teams", "aad-tanaka").id == tanaka
    assert stored_platform(ctx, tanaka) == "teams"
    queue(ctx, "test.one", tanaka)
    assert claimed(ctx, "slack") == []
    assert claimed(ctx, "teams") == [(f"test.one:{tanaka}", "aad-tanaka")]
    assert claimed(ctx, "slack") == []  # and nothing left for the other one afterwards


def test_switching_platforms_moves_later_notices(ctx, cast):
    tanaka = cast[TANAKA].id
    link(ctx, tanaka, ("slack", "U-TANAKA"), ("teams", "aad-tanaka"))
    roster.identify(ctx, "teams", "aad-tanaka")
    queue(ctx, "test.first", tanaka)
    assert claimed(ctx, "teams") == [(f"test.first:{tanaka}", "aad-tanaka")]

    roster.identify(ctx, "slack", "U-TANAKA")  # back on Slack
    assert stored_platform(ctx, tanaka) == "slack"
    queue(ctx, "test.second", tanaka)
    assert claimed(ctx, "teams") == []
    assert claimed(ctx, "slack") == [(f"test.second:{tanaka}", "U-TANAKA")]

    roster.identify(ctx, "teams", "aad-tanaka")  # a notice queued earlier moves too
    queue(ctx, "test.third", tanaka)
    roster.identify(ctx, "slack", "U-TANAKA")
    assert claimed(ctx, "teams") == []
    assert claimed(ctx, "slack") == [(f"test.third:{tanaka}", "U-TANAKA")]


def test_the_platform_is_written_only_when_it_changes(ctx, cast):
    tanaka = cast[TANAKA].id
    link(ctx, tanaka, ("slack", "U-TANAKA"), ("teams", "aad-tanaka"))
    with statements(ctx) as seen:
        roster.identify(ctx, "slack", "U-TANAKA")
    assert seen.count("UPDATE") == 1
    with statements(ctx) as seen:
        roster.identify(ctx, "slack", "U-TANAKA")
        roster.identify(ctx, "slack", "U-TANAKA")
    assert seen.count("SELECT") == 2 and "UPDATE" not in seen
    with statements(ctx) as seen:  # a lookup that is not the person's doing
        assert roster.identify(ctx, "teams", "aad-tanaka", inbound=False).id == tanaka
    assert "UPDATE" not in seen
    assert stored_platform(ctx, tanaka) == "slack"
    assert roster.identify(ctx, "teams", "aad-nobody") is None


def test_someone_never_seen_gets_them_on_the_platform_linked_first(ctx, cast):
    tanaka, takahashi = cast[TANAKA].id, cast[TAKAHASHI].id
    link(ctx, tanaka, ("teams", "aad-tanaka"), ("slack", "U-TANAKA"))
    link(ctx, takahashi, ("slack", "U-TAKA"), ("teams", "aad-taka"))
    queue(ctx, "test.default", tanaka, takahashi)
    assert stored_platform(ctx, tanaka) is None and stored_platform(ctx, takahashi) is None
    assert claimed(ctx, "slack") == [(f"test.default:{takahashi}", "U-TAKA")]
    assert claimed(ctx, "teams") == [(f"test.default:{tanaka}", "aad-tanaka")]


def test_a_platform_no_longer_linked_falls_back_to_the_first_linked(ctx, cast):
    tanaka, takahashi = cast[TANAKA].id, cast[TAKAHASHI].id
    link(ctx, tanaka, ("slack", "U-TANAKA"), ("teams", "aad-tanaka"))
    roster.identify(ctx, "teams", "aad-tanaka")
    link(ctx, takahashi, ("teams", "aad-tanaka"))  # the Teams account moved to someone else
    queue(ctx, "test.moved", tanaka)
    assert stored_platform(ctx, tanaka) == "teams"
    assert claimed(ctx, "teams") == []
    assert claimed(ctx, "slack") == [(f"test.moved:{tanaka}", "U-TANAKA")]


def test_someone_on_one_platform_is_unaffected(ctx, cast):
    tanaka, takahashi = cast[TANAKA].id, cast[TAKAHASHI].id
    link(ctx, tanaka, ("slack", "U-TANAKA"))
    link(ctx, takahashi, ("teams", "aad-taka"))
    queue(ctx, "test.never", tanaka, takahashi)
    assert claimed(ctx, "slack") == [(f"test.never:{tanaka}", "U-TANAKA")]
    assert claimed(ctx, "teams") == [(f"test.never:{takahashi}", "aad-taka")]

    roster.identify(ctx, "slack", "U-TANAKA")
    roster.identify(ctx, "teams", "aad-taka")
    queue(ctx, "test.seen", tanaka, takahashi)
    assert claimed(ctx, "slack") == [(f"test.seen:{tanaka}", "U-TANAKA")]
    assert claimed(ctx, "teams") == [(f"test.seen:{takahashi}", "aad-taka")]


def test_two_accounts_on_one_platform_get_one_notice_on_the_earlier(ctx, cast):
    tanaka = cast[TANAKA].id
    link(ctx, tanaka, ("slack", "U-TANAKA"), ("slack", "U-TANAKA-2"), ("teams", "aad-tanaka"))
    roster.identify(ctx, "slack", "U-TANAKA-2")
    queue(ctx, "test.twice", tanaka)
    assert claimed(ctx, "teams") == []
    assert claimed(ctx, "slack") == [(f"test.twice:{tanaka}", "U-TANAKA")]


def test_notified_on_leaves_out_the_deactivated(ctx, cast):
    tanaka = cast[TANAKA].id
    link(ctx, tanaka, ("slack", "U-TANAKA"), ("teams", "aad-tanaka"))
    with ctx.db.transaction() as session:
        assert people.notified_on(session, "slack") == {tanaka: "U-TANAKA"}
        assert people.notified_on(session, "teams") == {}
        person = session.get(Person, tanaka)
        person.active = False
        session.add(person)
    with ctx.db.transaction() as session:
        assert people.notified_on(session, "slack") == {}


def test_the_migration_keeps_people_both_ways(empty_database):
    database = empty_database
    migrate.upgrade(database, "0006")
    with database.engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO person (name, role, is_approver, is_lead, is_admin,"
                " qualifications, active) VALUES ('管理 太郎', 'admin', false, false, true,"
                " '[]', true)"
            )
        )
        connection.execute(
            text(
                "INSERT INTO chat_identity (person_id, platform, platform_user_id)"
                " VALUES (1, 'slack', 'U-ADMIN')"
            )
        )
    migrate.upgrade(database)
    assert migrate.drift(database) == []
    with database.engine.begin() as connection:
        assert connection.execute(text("SELECT notify_platform FROM person")).all() == [(None,)]
        connection.execute(text("UPDATE person SET notify_platform = 'slack'"))
    migrate.downgrade(database, "0006")  # with people referenced from other tables
    columns = {c["name"] for c in inspect(database.engine).get_columns("person")}
    assert "notify_platform" not in columns and "name" in columns
    with database.engine.begin() as connection:
        assert connection.execute(text("SELECT count(*) FROM chat_identity")).scalar() == 1
    migrate.upgrade(database)
    assert migrate.current(database) == migrate.head()
