"""SQLAlchemy models, queries (jurisdiction filters live here), bulk load, Alembic migrations."""
