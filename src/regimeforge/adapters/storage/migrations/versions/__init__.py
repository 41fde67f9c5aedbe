"""Alembic revisions (each module is one revision; they never import application code)."""
