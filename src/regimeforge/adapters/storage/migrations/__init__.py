"""Alembic migrations of RegimeForge's schema, shipped inside the package (see docs/storage.md)."""
