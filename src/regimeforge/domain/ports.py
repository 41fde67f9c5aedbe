"""The ports: what the domain's use cases need from the outside world, as typing.Protocols.

Adapters implement them (SQLAlchemy, the filesystem, scikit-learn, PyTorch, Dask, SMTP); tests
use hand-written fakes from ``tests/fakes.py``. Nothing here does I/O.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from types import TracebackType
from typing import TYPE_CHECKING, Any, Protocol

import attrs
import numpy as np
import pandas as pd

from regimeforge.domain.config import ModelConfig
from regimeforge.domain.entities import InferenceBacktest, QueueItem, TrainingQueue, TrainingRun
from regimeforge.domain.events import Event
from regimeforge.domain.forecasts import MemberForecasts, PreparedData
from regimeforge.domain.regimes import RegimeBest, RegimeBestChange, RegimeDefinition
from regimeforge.domain.states import ItemStatus, RunStatus

if TYPE_CHECKING:
    from regimeforge.domain.usecases.checkpoints import CheckpointDocument

# --- storage --------------------------------------------------------------------------------


@attrs.frozen
class RunFilter:
    """Filters of ``runs list`` (all optional; ``text`` searches symbol, model type, error)."""

    status: RunStatus | None = None
    model_type: str | None = None
    symbol: str | None = None
    queue_uuid: str | None = None
    created_after: datetime | None = None
    created_before: datetime | None = None
    kept: bool | None = None
    text: str | None = None
    min_sharpe: float | None = None
    max_drawdown: float | None = None


class RunRepository(Protocol):
    """Training runs. Never commits: the unit of work does."""

    def add(self, run: TrainingRun) -> None:
        """Insert a new run (its uuid must be new)."""

    def update(self, run: TrainingRun) -> None:
        """Write every field of an existing run; NotFoundError if it does not exist."""

    def get(self, run_uuid: str) -> TrainingRun:
        """The run with this uuid; NotFoundError otherwise."""

    def find_completed(self, keys: Collection[tuple[str, str]]) -> dict[tuple[str, str], str]:
        """Batched dedup lookup: (config_hash, data_fingerprint) -> uuid of the completed run."""

    def list(
        self,
        filters: RunFilter | None = None,
        *,
        limit: int = 50,
        offset: int = 0,
        order_by: str = "-created_at",
    ) -> builtins.list[TrainingRun]:
        """Runs matching ``filters``, newest first unless ``order_by`` says otherwise."""

    def count(self, filters: RunFilter | None = None) -> int:
        """How many runs match ``filters``."""

    def delete(self, run_uuid: str) -> None:
        """Delete a run and (by cascade) its backtests and regime bests."""


class BacktestRepository(Protocol):
    """Inference backtests of runs."""

    def add_many(self, backtests: Sequence[InferenceBacktest]) -> None:
        """Insert many backtests at once (one bulk statement where the database allows)."""

    def for_run(self, run_uuid: str) -> builtins.list[InferenceBacktest]:
        """Every backtest of a run, in inference-hash order."""

    def get(self, backtest_uuid: str) -> InferenceBacktest:
        """One backtest; NotFoundError otherwise."""

    def delete_for_run(self, run_uuid: str) -> int:
        """Delete a run's backtests (for rerun-inference); returns how many."""


class RegimeRepository(Protocol):
    """Regime definitions."""

    def list(self, *, active_only: bool = False) -> builtins.list[RegimeDefinition]:
        """Definitions in priority order."""

    def get(self, name: str) -> RegimeDefinition:
        """One definition; NotFoundError otherwise."""

    def add(self, regime: RegimeDefinition) -> None:
        """Insert; StorageError when the name exists."""

    def update(self, regime: RegimeDefinition) -> None:
        """Replace the definition of that name."""

    def remove(self, name: str) -> None:
        """Delete a definition (and its bests)."""


class RegimeBestRepository(Protocol):
    """The stored top-N per regime and its history."""

    def top(self, regime_name: str) -> builtins.list[RegimeBest]:
        """The bests of a regime, rank 1 first."""

    def all(self) -> dict[str, list[RegimeBest]]:
        """Every regime's bests, rank 1 first."""

    def replace(self, regime_name: str, bests: Sequence[RegimeBest]) -> None:
        """Replace a regime's top-N with ``bests`` (ranks 1..len)."""

    def add_history(self, changes: Iterable[RegimeBestChange]) -> None:
        """Append facts to ``regime_best_history``."""

    def history(
        self, regime_name: str | None = None, limit: int = 100
    ) -> builtins.list[RegimeBestChange]:
        """Latest history entries, newest first."""

    def runs_with_rank(self) -> set[str]:
        """Uuids of every run that holds a rank in some regime."""


class QueueRepository(Protocol):
    """Training queues and their items (claimed with SKIP LOCKED on PostgreSQL)."""

    def add(self, queue: TrainingQueue, items: Iterable[QueueItem]) -> None:
        """Insert a queue with all its items."""

    def get(self, queue_uuid: str) -> TrainingQueue:
        """One queue by uuid (or unique name); NotFoundError otherwise."""

    def update(self, queue: TrainingQueue) -> None:
        """Write every field of an existing queue."""

    def list(self) -> builtins.list[TrainingQueue]:
        """Every queue, newest first."""

    def claim_next(self, queue_uuid: str, worker: str, at: datetime) -> QueueItem | None:
        """Atomically claim the lowest pending item (status running, attempts + 1)."""

    def update_item(self, item: QueueItem) -> None:
        """Write an item's status and fields."""

    def items(self, queue_uuid: str, status: ItemStatus | None = None) -> builtins.list[QueueItem]:
        """Items of a queue in index order, optionally of one status."""

    def count_items(self, queue_uuid: str) -> dict[ItemStatus, int]:
        """Item counts per status."""


class UnitOfWork(Protocol):
    """One transaction over every repository; rolls back unless ``commit()`` was called."""

    runs: RunRepository
    backtests: BacktestRepository
    regimes: RegimeRepository
    bests: RegimeBestRepository
    queues: QueueRepository

    def __enter__(self) -> UnitOfWork: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    def commit(self) -> None:
        """Make everything done in this unit of work permanent."""

    def rollback(self) -> None:
        """Throw away everything done since the last commit."""


# --- files ----------------------------------------------------------------------------------


@attrs.frozen
class ArtifactInfo:
    """Where an artifact lies (a name relative to the store), its size and SHA-256."""

    name: str
    size_bytes: int
    sha256: str


class ArtifactStore(Protocol):
    """Model files. Names are generated by the store; reads verify the SHA-256 first."""

    def put(self, data: bytes, *, suffix: str = ".bin") -> ArtifactInfo:
        """Write atomically under a new generated name."""

    def open(self, name: str, sha256: str) -> bytes:
        """Read and verify; ArtifactIntegrityError on mismatch (nothing deserialised)."""

    def delete(self, name: str) -> int:
        """Delete; returns the bytes freed (0 when it was gone)."""

    def exists(self, name: str) -> bool:
        """Whether the artifact is there."""

    def size(self, name: str) -> int:
        """Bytes on disk."""

    def sha256(self, name: str) -> str:
        """SHA-256 of the stored content."""

    def list(self) -> builtins.list[str]:
        """Every artifact name in the store."""


class CheckpointStore(Protocol):
    """Checkpoint files (JSON with checksum), written atomically."""

    def save(self, checkpoint: CheckpointDocument | Mapping[str, Any]) -> str:
        """Write a checkpoint (a document, or a payload as canonical JSON); returns its path."""

    def load(self, path: str) -> dict[str, Any]:
        """Read and verify; CheckpointError on corrupt, truncated or wrong-version files."""

    def latest(self, queue_uuid: str) -> str | None:
        """The newest checkpoint of a queue, if any."""

    def list(self, queue_uuid: str | None = None) -> builtins.list[str]:
        """Checkpoint paths, newest first."""

    def delete_for(self, queue_uuid: str) -> int:
        """Delete a queue's checkpoints; returns how many."""

    def keep_latest(self, queue_uuid: str, keep: int) -> int:
        """Delete all but the ``keep`` newest checkpoints of a queue; returns how many went."""

    def prune(self, older_than: datetime) -> int:
        """Delete checkpoints older than a time; returns how many."""


# --- data and models ------------------------------------------------------------------------


class MarketDataSource(Protocol):
    """Bars for a symbol: a DataFrame with a sorted, unique UTC DatetimeIndex and OHLCV."""

    def bars(
        self,
        symbol: str,
        timeframe: str,
        start: datetime | None = None,
        end: datetime | None = None,
    ) -> pd.DataFrame: ...


class FeatureBuilder(Protocol):
    """Bars + model config -> prepared, causally built, split and scaled data."""

    def prepare(self, bars: pd.DataFrame, config: ModelConfig) -> PreparedData: ...


class TrainedModel(Protocol):
    """A fitted model: forecasts for any prediction method without retraining."""

    @property
    def feature_count(self) -> int:
        """How many feature columns the model consumes."""

    @property
    def training_metrics(self) -> Mapping[str, float]:
        """Validation errors and other figures measured while fitting."""

    def forecast(
        self, features: np.ndarray, method: str, params: Mapping[str, Any] | None = None
    ) -> MemberForecasts:
        """Member forecasts of the cumulative horizon return for ``features`` (n, f) rows."""

    def to_bytes(self) -> bytes:
        """Serialised form for the artifact store."""


class Encoder(Protocol):
    """Turns feature rows into the inputs a model consumes (none, pca, autoencoder, vae, ...).

    Fitted on the train segment only; its state travels inside the model artifact.
    """

    def fit(self, train_features: np.ndarray) -> None: ...

    def transform(self, features: np.ndarray) -> np.ndarray: ...


class ModelTrainer(Protocol):
    """Fits one model type (K walk-forward members, heads, stacking meta-model)."""

    name: str

    def fit(self, data: PreparedData, config: ModelConfig) -> TrainedModel: ...

    def load(self, payload: bytes) -> TrainedModel:
        """Rebuild a model from ``to_bytes()`` output (already verified by the store)."""


class RegimeDetector(Protocol):
    """Bars -> one causal regime label per bar ("" during warm-up)."""

    name: str

    def detect(self, bars: pd.DataFrame, regimes: Sequence[RegimeDefinition]) -> np.ndarray: ...


class Metric(Protocol):
    """A backtest metric computed for many configurations at once.

    ``pnl`` and ``positions`` are (C, n): net per-bar log returns and positions of C columns;
    returns (C,) values. ``higher_is_better`` tells the regime ranking which way is up.
    """

    name: str
    higher_is_better: bool

    def compute(
        self, pnl: np.ndarray, positions: np.ndarray, periods_per_year: float
    ) -> np.ndarray: ...


# --- running --------------------------------------------------------------------------------


class Executor(Protocol):
    """Runs training tasks (pickleable callables) somewhere: inline, processes, Dask."""

    def submit(self, fn: Callable[..., Any], *args: Any) -> Any:
        """Start a task; returns a handle for ``as_completed``."""

    def as_completed(
        self, handles: Iterable[Any], timeout: float | None = None
    ) -> Iterator[tuple[Any, Any, BaseException | None]]:
        """Yield (handle, result, error) as tasks finish.

        With ``timeout`` the iterator simply ends when nothing more finished within that many
        seconds (no error), so that a coordinator can heartbeat and look at its flags.
        """

    def cancel(self, handles: Iterable[Any]) -> None:
        """Cancel tasks not yet finished."""

    def shutdown(self) -> None:
        """Release workers."""


class Notifier(Protocol):
    """Tells people about events (log, email, webhook)."""

    name: str

    def notify(self, event: Event) -> None: ...


class Clock(Protocol):
    """The time; the domain never reads the clock directly."""

    def now(self) -> datetime:
        """Now, timezone-aware UTC."""

    def monotonic(self) -> float:
        """Seconds from an arbitrary origin, for durations."""


class DiskProbe(Protocol):
    """Free space on the disk that holds a folder (the artifact store)."""

    def free_bytes(self, path: str) -> int:
        """Bytes available to this process on the file system of ``path``."""
