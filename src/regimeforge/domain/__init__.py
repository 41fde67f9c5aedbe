"""domain layer of RegimeForge (see docs/architecture.md)."""
