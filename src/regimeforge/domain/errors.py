"""The error family of RegimeForge.

Every error the framework raises on purpose is a ``RegimeForgeError``. Adapters translate library
exceptions (SQLAlchemy, YAML, pluggy, torch, ...) into these; the CLI maps them to exit status 2
with one clear line, the web API to a 4xx answer with a JSON body.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import attrs


@attrs.frozen
class Problem:
    """One thing wrong with an input: where (a dotted field path), what, and how to fix it."""

    path: str
    message: str
    fix: str = ""

    def __str__(self) -> str:
        text = f"{self.path}: {self.message}" if self.path else self.message
        return f"{text} (fix: {self.fix})" if self.fix else text


class RegimeForgeError(Exception):
    """Base of every error RegimeForge raises on purpose."""


class InputError(RegimeForgeError):
    """Bad input from a user: carries every problem found, each with its path and a fix.

    Raised by validators (configs, grids, settings, CLI arguments, HTTP bodies) after they have
    looked at the whole input, so that one error reports everything wrong at once.
    """

    def __init__(self, problems: Sequence[Problem] | str, *, subject: str = "") -> None:
        if isinstance(problems, str):
            problems = [Problem("", problems)]
        self.problems: tuple[Problem, ...] = tuple(problems)
        self.subject = subject
        head = f"{subject}: " if subject else ""
        if len(self.problems) == 1:
            text = head + str(self.problems[0])
        else:
            lines = "\n".join(f"  - {p}" for p in self.problems)
            text = f"{head}{len(self.problems)} problems\n{lines}"
        super().__init__(text)

    @classmethod
    def collect(cls, problems: Iterable[Problem], *, subject: str = "") -> None:
        """Raise with ``problems`` if there are any; return quietly otherwise."""
        found = list(problems)
        if found:
            raise cls(found, subject=subject)


class ConfigError(InputError):
    """A model config, inference config, grid or settings file is invalid (raised by validators)."""


class DataError(InputError):
    """Market data is unusable: unsorted/duplicate timestamps, bad prices, too few bars, gaps."""


class RuleError(ConfigError):
    """A regime detection rule does not parse; the message names the position of the problem."""


class PluginError(RegimeForgeError):
    """A plugin is broken: bad return value from a hook, a name registered twice, unknown name."""


class CheckpointError(RegimeForgeError):
    """A checkpoint file is corrupt, truncated, of the wrong version, or fails its checksum."""


class StorageError(RegimeForgeError):
    """The database or artifact store refused an operation (constraint, missing row, bad hash)."""


class NotFoundError(StorageError):
    """A run, backtest, queue, regime or artifact asked for by id or name does not exist."""


class ArtifactIntegrityError(StorageError):
    """An artifact's SHA-256 does not match its record; it is never deserialised."""


class IllegalTransitionError(RegimeForgeError):
    """A status change that the run or queue state machine does not allow."""


class CancelledError(RegimeForgeError):
    """Raised inside a use case when its cancel token was set (between models or batches)."""


class ModelTimeoutError(RegimeForgeError):
    """Training one model took longer than the per-model timeout."""
