"""The database: models, engine and sessions, Alembic migrations. Imports nothing from bot."""

# DATABASE_URL when it is not set: SQLite under ./data (for the settings and for Alembic's
# command line). Here, not in db.engine, so reading settings does not import SQLAlchemy.
DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///./data/signaldesk.db"
