"""Relational storage: one SQLAlchemy schema for PostgreSQL and the embedded SQLite file."""
