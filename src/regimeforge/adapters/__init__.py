"""adapters layer of RegimeForge (see docs/architecture.md)."""
