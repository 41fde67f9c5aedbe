"""Notifiers: log, email, webhook."""
