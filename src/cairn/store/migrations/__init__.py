"""Alembic migrations of the store's schema, run by :func:`cairn.store.migrate.upgrade`."""
