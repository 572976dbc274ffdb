"""Persistence: SQLAlchemy models, engine and session factory, queries and migrations."""
