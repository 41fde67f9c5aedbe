"""The composition root: settings -> engine, unit of work, plugins, artifacts, clock.

Only this module (and the CLI and dashboard entry points it serves) knows the container. Services
take their dependencies in their constructors. Nothing is built at import time: a ``Container``
is created by ``open_workspace`` and each provider builds its object on first use (adapters are
imported inside the providers so that ``import regimeforge`` stays light).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator, Mapping
from importlib import resources
from pathlib import Path
from typing import Any

from dependency_injector import containers, providers

from regimeforge.adapters.clock import SystemClock
from regimeforge.adapters.settings import SETTINGS_FILE, Settings, load_settings
from regimeforge.domain.errors import ConfigError, Problem
from regimeforge.plugins.manager import get_plugin_manager
from regimeforge.plugins.registry import PluginRegistry

WORKSPACE_ENV = "REGIMEFORGE_WORKSPACE"


def _settings(root: Path, overrides: Mapping[str, Any] | None, env: Any) -> Settings:
    path = root / SETTINGS_FILE
    return load_settings(path if path.exists() else None, env, root=root, overrides=overrides)


def _engine(settings: Settings) -> Iterator[Any]:
    from regimeforge.adapters.storage.engine import make_engine

    engine = make_engine(settings.database_url, pool_size=settings.database_connection_pool_size)
    try:
        yield engine
    finally:
        engine.dispose()


def _uow(engine: Any) -> Any:
    from regimeforge.adapters.storage.uow import SqlAlchemyUnitOfWork

    return SqlAlchemyUnitOfWork(engine)


def _registry(settings: Settings, load_entry_points: bool) -> PluginRegistry:
    return get_plugin_manager(
        entry_points=load_entry_points and settings.plugins.entry_points,
        allow=settings.plugins.allow,
        block=settings.plugins.block,
    )


def _artifacts(settings: Settings) -> Any:
    from regimeforge.adapters.artifacts import FilesystemArtifactStore

    return FilesystemArtifactStore(
        settings.artifacts_dir,
        compress=settings.compress_old_models,
        cache_mb=settings.model_cache_size_mb,
    )


class Container(containers.DeclarativeContainer):
    """Wires one workspace; every provider is lazy and, except ``uow``, a singleton."""

    root = providers.Dependency(instance_of=Path)
    overrides: providers.Object[Mapping[str, Any] | None] = providers.Object(None)
    env: providers.Object[Mapping[str, str] | None] = providers.Object(None)
    load_entry_points = providers.Object(True)

    settings = providers.Singleton(_settings, root=root, overrides=overrides, env=env)
    engine = providers.Resource(_engine, settings=settings)
    uow = providers.Factory(_uow, engine=engine)
    registry = providers.Singleton(
        _registry, settings=settings, load_entry_points=load_entry_points
    )
    artifacts = providers.Singleton(_artifacts, settings=settings)
    clock = providers.Singleton(SystemClock)


class Workspace:
    """One workspace folder with everything built from its settings, on first use.

    ``uow()`` returns a new unit of work; ``close()`` (or ``with``) disposes the engine.
    """

    def __init__(self, container: Container) -> None:
        self.container = container
        self.root: Path = container.root()

    @property
    def settings(self) -> Settings:
        """The validated settings of this workspace."""
        settings: Settings = self.container.settings()
        return settings

    @property
    def registry(self) -> PluginRegistry:
        """The loaded plugins."""
        registry: PluginRegistry = self.container.registry()
        return registry

    @property
    def engine(self) -> Any:
        """The SQLAlchemy engine of ``settings.database_url``."""
        return self.container.engine()

    @property
    def artifacts(self) -> Any:
        """The artifact store under ``settings.artifacts_dir``."""
        return self.container.artifacts()

    @property
    def clock(self) -> SystemClock:
        """The clock."""
        clock: SystemClock = self.container.clock()
        return clock

    def uow(self) -> Any:
        """A new SqlAlchemyUnitOfWork on this workspace's engine."""
        return self.container.uow()

    def close(self) -> None:
        """Dispose the engine (if one was built)."""
        self.container.shutdown_resources()

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def workspace_root(path: Path | str | None = None, env: Mapping[str, str] | None = None) -> Path:
    """``path``, else ``$REGIMEFORGE_WORKSPACE``, else the current directory (absolute)."""
    environ = os.environ if env is None else env
    chosen = path if path not in (None, "") else environ.get(WORKSPACE_ENV) or Path.cwd()
    return Path(chosen).expanduser().resolve()


def open_workspace(
    path: Path | str | None = None,
    *,
    settings_overrides: Mapping[str, Any] | None = None,
    load_entry_points: bool = True,
    env: Mapping[str, str] | None = None,
) -> Workspace:
    """Open the workspace at ``path`` (see ``workspace_root``); settings are validated now.

    A folder without ``training_pipeline.yaml`` uses the defaults (relative to that folder).
    """
    root = workspace_root(path, env)
    container = Container(
        root=root, overrides=settings_overrides, env=env, load_entry_points=load_entry_points
    )
    workspace = Workspace(container)
    workspace.settings  # noqa: B018 - fail early, with every settings problem, not on first use
    return workspace


def default_settings_text() -> str:
    """The packaged default ``training_pipeline.yaml`` (commented, every key)."""
    resource = resources.files("regimeforge") / "resources" / SETTINGS_FILE
    return resource.read_text(encoding="utf-8")


def init_workspace(
    path: Path | str,
    *,
    force: bool = False,
    env: Mapping[str, str] | None = None,
    load_entry_points: bool = True,
) -> Workspace:
    """Create the workspace layout of DESIGN §14 at ``path`` and migrate its database to head.

    Refuses (ConfigError) to overwrite an existing settings file unless ``force``. On any
    failure, whatever this call created is removed again.
    """
    root = Path(path).expanduser().resolve()
    settings_file = root / SETTINGS_FILE
    if settings_file.exists() and not force:
        raise ConfigError(
            [
                Problem(
                    str(settings_file),
                    "already exists: this folder is a workspace",
                    "use --force to overwrite its settings, or choose another folder",
                )
            ],
            subject="init",
        )
    if root.exists() and not root.is_dir():
        raise ConfigError([Problem(str(root), "is a file, not a folder")], subject="init")
    text = default_settings_text()
    # Validate (with environment overrides) before anything is written.
    settings = load_settings(settings_file, env, root=root, text=text)
    created: list[Path] = []
    previous: bytes | None = None
    try:
        if not root.exists():
            root.mkdir(parents=True)
            created.append(root)
        previous = settings_file.read_bytes() if settings_file.exists() else None
        settings_file.write_text(text, encoding="utf-8")
        if previous is None:
            created.append(settings_file)
        for folder in (settings.artifacts_dir, settings.checkpoints_dir):
            if not folder.exists():
                folder.mkdir(parents=True)
                created.append(folder)
        db_file = _sqlite_file(settings.database_url)
        if db_file is not None and not db_file.exists():
            created.extend(db_file.with_name(db_file.name + s) for s in ("", "-wal", "-shm"))
        from regimeforge.adapters.storage.migrate import upgrade

        upgrade(settings.database_url, revision="head")
    except BaseException:
        for item in reversed(created):
            if item.is_dir():
                shutil.rmtree(item, ignore_errors=True)
            elif item.exists():
                item.unlink()
        if previous is not None and settings_file.parent.exists():
            settings_file.write_bytes(previous)
        raise
    return open_workspace(root, env=env, load_entry_points=load_entry_points)


def _sqlite_file(url: str) -> Path | None:
    prefix = "sqlite:///"
    if url.startswith(prefix) and url != prefix + ":memory:":
        return Path(url[len(prefix) :])
    return None
