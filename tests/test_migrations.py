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
