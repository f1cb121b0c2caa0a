"""Revisions, oldest first; each one written to match :mod:`cairn.store.tables` at its time."""
