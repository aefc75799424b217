"""Storage: the schema, migrations, the group-commit writer and the repositories.

Only this package speaks SQL. SQLite (WAL) by default, PostgreSQL for many nodes.
"""
