"""Persistence: tables, the database connection, repositories and migrations."""
