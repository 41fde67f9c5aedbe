"""Built-in plugins: registered like third-party ones (see plugins.manager.DEFAULT_PLUGINS)."""
