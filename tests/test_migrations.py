from sqlalchemy import inspect

from storage import migrate, people


def test_upgrade_from_empty_has_no_drift_and_downgrades_to_base(empty_database):
    database = empty_database
    assert migrate.current(database) is None
    migrate.upgrade(database)
    assert migrate.current(database) == migrate.head()
    assert migrate.drift(database) == []
    migrate.downgrade(database)
    assert migrate.current(database) is None
    assert set(inspect(database.engine).get_table_names()) <= {"alembic_version"}


def test_the_45_municipalities_are_seeded(db):
    with db.transaction() as session:
        rows = people.municipalities(session)
    assert len(rows) == 45
    kinds = [m.kind for m in rows]
    assert (kinds.count("市"), kinds.count("町"), kinds.count("村")) == (14, 23, 8)
    kumamoto = next(m for m in rows if m.name == "熊本市")
    assert kumamoto.code == "431001" and kumamoto.reading == "くまもとし"
    assert all(m.travel_minutes > 0 for m in rows)
    assert all(m.district for m in rows if m.kind != "市")


def test_0009_links_done_steps_to_their_sessions_and_keeps_old_logs(empty_database):
    """Upgrade over old-style rows: each done step is linked to the latest begun, live BPR
    session of its engagement on or before its done_on (else the earliest begun one; with
    none it stays unlinked for `python -m bot check`); logs lose method and place, not
    their sessions. Downgrade puts the dates and facts back from the links."""
    from datetime import UTC, date, datetime

    from sqlalchemy import MetaData, select

    database = empty_database
    migrate.upgrade(database, "0008")
    meta = MetaData()
    meta.reflect(database.engine)
    tables = meta.tables
    now = datetime(2020, 5, 1, tzinfo=UTC)

    def at(day: int, month: int = 6, year: int = 2020) -> datetime:
        return datetime(year, month, day, 1, 0, tzinfo=UTC)  # 10:00 in Tokyo

    with database.engine.begin() as connection:
        town, other = [row[0] for row in connection.execute(select(tables["municipality"].c.id))][
            :2
        ]
        connection.execute(
            tables["person"].insert(),
            [
                {
                    "id": 1,
                    "name": "高橋 誠",
                    "role": "consultant",
                    "is_approver": False,
                    "is_lead": True,
                    "is_admin": False,
                    "qualifications": [],
                    "active": True,
                }
            ],
        )
        for number, place in ((1, town), (2, other)):
            connection.execute(
                tables["request"].insert(),
                [
                    {
                        "id": number,
                        "number": f"B-{number}",
                        "kind": "bpr_application",
                        "state": "approved",
                        "municipality_id": place,
                        "department": "市民課",
                        "requester_name": "田中",
                        "requester_title": "主査",
                        "entered_by_id": 1,
                        "channel": "chat",
                        "topic": "bpr",
                        "description": "x",
                        "mode": "visit",
                        "preferred_dates": [],
                        "created_at": now,
                        "updated_at": now,
                    }
                ],
            )
            connection.execute(
                tables["engagement"].insert(),
                [
                    {
                        "id": number,
                        "municipality_id": place,
                        "application_id": number,
                        "department": "市民課",
                        "created_at": now,
                    }
                ],
            )
        sessions = [  # id, engagement, kind, status, start
            (1, 1, "bpr", "held", at(10)),
            (2, 1, "bpr", "cancelled", at(11)),
            (3, 1, "bpr", "booked", at(20)),
            (4, 1, "consultation", "held", at(12)),
            (5, 1, "bpr", "booked", at(10, 6, 2099)),
            (6, 2, "bpr", "booked", at(11, 6, 2099)),
        ]
        connection.execute(
            tables["support_session"].insert(),
            [
                {
                    "id": i,
                    "engagement_id": e,
                    "kind": k,
                    "status": st,
                    "starts_at": start,
                    "ends_at": start,
                    "mode": "online" if i == 3 else "visit",
                    "place": "市役所",
                    "meeting_url": "https://meet.example.jp/a" if i == 3 else None,
                    "uid": f"s{i}",
                    "sequence": 0,
                    "created_by_id": 1,
                    "created_at": now,
                }
                for i, e, k, st, start in sessions
            ],
        )
        steps = [  # id, engagement, number, status, done_on
            (1, 1, 1, "done", date(2020, 6, 12)),  # → 1 (2 is cancelled, 4 not BPR)
            (2, 1, 2, "done", date(2020, 6, 5)),  # before any: the earliest begun, 1
            (3, 1, 3, "done", date(2020, 6, 25)),  # → 3
            (4, 1, 4, "planned", None),
            (5, 1, 5, "skipped", None),
            (6, 2, 1, "done", date(2020, 6, 30)),  # nothing begun: left for the check
        ]
        connection.execute(
            tables["engagement_step"].insert(),
            [
                {
                    "id": i,
                    "engagement_id": e,
                    "number": n,
                    "phase": "hearing",
                    "status": st,
                    "done_on": d,
                }
                for i, e, n, st, d in steps
            ],
        )
        connection.execute(
            tables["work_log"].insert(),
            [
                {
                    "id": 1,
                    "author_id": 1,
                    "method": "visit",
                    "place": "宇土市役所",
                    "summary": "s",
                    "response": "r",
                    "attachments": [],
                    "filed_at": at(20),
                }
            ],
        )
        connection.execute(
            tables["work_log_session"].insert(),
            [{"log_id": 1, "session_id": 1}, {"log_id": 1, "session_id": 3}],
        )

    migrate.upgrade(database)
    assert migrate.drift(database) == []
    inspector = inspect(database.engine)
    assert "done_on" not in {c["name"] for c in inspector.get_columns("engagement_step")}
    assert not {"method", "place"} & {c["name"] for c in inspector.get_columns("work_log")}
    meta = MetaData()
    meta.reflect(database.engine)
    with database.engine.connect() as connection:
        links = set(connection.execute(select(meta.tables["engagement_step_session"])).all())
        kept = set(connection.execute(select(meta.tables["work_log_session"])).all())
    assert links == {(1, 1), (2, 1), (3, 3)}
    assert kept == {(1, 1), (1, 3)}

    migrate.downgrade(database, "0008")
    meta = MetaData()
    meta.reflect(database.engine)
    with database.engine.connect() as connection:
        done = dict(
            connection.execute(select(meta.tables["engagement_step"].c["id", "done_on"])).all()
        )
        log = connection.execute(select(meta.tables["work_log"].c["method", "place"])).one()
    assert done[1] == done[2] == date(2020, 6, 10) and done[3] == date(2020, 6, 20)
    assert done[6] is None
    assert tuple(log) == ("visit", "市役所")  # the first session's facts
