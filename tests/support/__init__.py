"""What tests and benchmarks share: fake Slack and Teams servers and a fake token
authority, a live server per module, factories, the databases tests run on
(`db_setup`: SQLite copies, PostgreSQL scratch databases, snapshots), the plan checker,
season actors, the desk's season and hostile strings.

And what more than one test module uses, so that no test module imports another: the apps
under test over HTTP (`slack_app`, `teams_app`, `teams_auth`: fixtures that conftest loads
as plugins), the reports' season, 宇土市's engagement, bookings, uploads, queued notices,
the message catalogues, the Adaptive Card schema, SQL statement capture and threads
started together.
"""
