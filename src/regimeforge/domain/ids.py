"""Identifiers: ``new_id`` for runs and queues, ``new_ordered_id`` for backtests.

``new_id`` is a random UUID (version 4) as 32 hex digits: people refer to runs and queues by
the first few of them (``runs show 3fa85f64``), so those must differ from one run to the next.

``new_ordered_id`` is a UUID version 7 (RFC 9562): it starts with the Unix time in milliseconds,
so identifiers made later sort later. That matters to the database: every backtest uuid goes
into a unique index, and random keys land on random pages of it. Once the index was larger than
a few thousand rows, each of the 135 backtests of a model dirtied its own index page, so
recording a model rewrote ~135 pages (about 1 MiB with 8 KiB pages) however small the rows
were, and that grew with the database. Ordered keys are appended at the index's right edge: a
few pages per model. Backtests are shown by the random end of their id (``short_backtest_id``),
since the start is the same for every backtest of a model.

Within one process ordered identifiers strictly increase (RFC 9562 section 6.2, method 1): the
12 bits after the version count up within a millisecond (starting at a random value below 2,048,
so that two processes in the same millisecond rarely meet there), a clock that goes back is not
followed, and a counter that overflows moves to the next millisecond. The last 62 bits are random.
"""

from __future__ import annotations

import os
import threading
import time

#: The bits ``uuid.uuid4`` sets (version 4, RFC 4122 variant) and the ones it clears first.
_V4_SET = (4 << 76) | (0x8000 << 48)
_V4_CLEAR = ~((0xF000 << 64) | (0xC000 << 48))

_VERSION = 7 << 76
_VARIANT = 0b10 << 62
_RAND_B = (1 << 62) - 1
_COUNTER_MAX = 0xFFF

_lock = threading.Lock()
_last_ms = 0
_counter = 0


def new_id() -> str:
    """A new random UUID (version 4) as 32 lowercase hex digits, for runs and queues.

    The same value ``uuid.uuid4().hex`` gives, without building a ``UUID`` object.
    """
    bits = int.from_bytes(os.urandom(16), "big")
    return f"{(bits & _V4_CLEAR) | _V4_SET:032x}"


def new_ordered_id() -> str:
    """A new UUID version 7 as 32 lowercase hex digits; strictly increasing in this process."""
    global _last_ms, _counter  # noqa: PLW0603 - the generator's state is per process by design
    random = int.from_bytes(os.urandom(10), "big")
    now_ms = time.time_ns() // 1_000_000
    with _lock:
        if now_ms > _last_ms:
            _last_ms, _counter = now_ms, (random >> 62) & 0x7FF
        else:  # the same millisecond, or the clock went back: count on from the last one
            _counter += 1
            if _counter > _COUNTER_MAX:
                _last_ms, _counter = _last_ms + 1, 0
        ms, counter = _last_ms, _counter
    value = (ms << 80) | _VERSION | (counter << 64) | _VARIANT | (random & _RAND_B)
    return f"{value:032x}"


def short_backtest_id(identifier: str) -> str:
    """Eight hex digits that tell a backtest apart: the random end of its (ordered) id."""
    return identifier[-8:]
