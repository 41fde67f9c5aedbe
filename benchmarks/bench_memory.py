"""Memory and time per config over a long run: do they stay flat?

Run: ``.venv/bin/python benchmarks/bench_memory.py [--configs 1000] [--tracemalloc]``.

A 1,000-config queue goes through the real coordinator on SQLite (a temporary folder) with a
trivial model: each config's "result" (135 backtests, 11 metrics overall and per regime for 4
regimes) is made on the fly from a template scaled by a per-config factor, so nothing is kept
between configs except what RegimeForge itself keeps. At config 100 and at the last config the
process's resident memory (RSS) is sampled (with ``--tracemalloc``, the Python heap traced since
the start instead: slower, but blind to allocator arenas and SQLite's page cache); bookkeeping
time per config is measured over the first and the last 100 configs (CPU and wall, the model's
own time subtracted; the share of the checkpoints, which list every finished item, shown
apart). Targets (issue 5): memory growth between config 100 and the end < 10%; time per config
flat. Ends with one line of JSON.
"""

from __future__ import annotations

import argparse
import gc
import json
import resource
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any

import attrs
from bench_outer_loop import STORE, make_result, runner_for

from regimeforge.domain.events import Event, Progress
from regimeforge.domain.usecases.queue_session import QueueSession
from regimeforge.domain.usecases.tasks import BacktestRecord, WorkerResult

WINDOW = 100


def rss_mb() -> float:
    """Resident memory of this process now (Linux /proc; else the peak from getrusage)."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return pages * resource.getpagesize() / 2**20


class ScaledModel:
    """The trivial model: a template result with every metric scaled by the config's factor."""

    def __init__(self) -> None:
        self.template = make_result("template")
        self.seconds = 0.0  # CPU time spent making results (subtracted from the bookkeeping)

    def __call__(self, config_hash: str) -> WorkerResult:
        start = time.process_time()
        f = 0.5 + int(config_hash[:8], 16) / 2**32
        records = tuple(
            BacktestRecord(
                r.inference,
                r.inference_hash,
                {k: v * f for k, v in r.backtest_metrics.items()},
                {
                    regime: {k: v * f if isinstance(v, float) else v for k, v in m.items()}
                    for regime, m in r.regime_metrics.items()
                },
                r.duration_seconds,
            )
            for r in self.template.backtests
        )
        artifact = STORE.put(config_hash.encode())
        result = attrs.evolve(self.template, artifact=artifact, backtests=records)
        self.seconds += time.process_time() - start
        return result


@attrs.define
class Sampler:
    """Observes Progress events: memory at config ``WINDOW`` and ``last``, clocks per window."""

    last: int
    model: ScaledModel
    use_tracemalloc: bool
    checkpoint_seconds: float = 0.0  # CPU time in QueueSession.checkpoint so far
    marks: dict[int, tuple[float, float, float, float]] = attrs.field(factory=dict)
    memory: dict[int, float] = attrs.field(factory=dict)

    def __call__(self, event: Event) -> None:
        if not isinstance(event, Progress):
            return
        done = event.done
        if done in (1, WINDOW + 1, self.last - WINDOW, self.last):
            self.marks[done] = (
                time.perf_counter(),
                time.process_time(),
                self.model.seconds,
                self.checkpoint_seconds,
            )
        if done in (WINDOW, self.last):
            gc.collect()
            self.memory[done] = (
                tracemalloc.get_traced_memory()[0] / 2**20 if self.use_tracemalloc else rss_mb()
            )

    def window(self, first: int, last: int) -> tuple[float, float, float]:
        """Wall, CPU and checkpoint CPU ms per config between two marks (model time excluded)."""
        (w0, c0, m0, k0), (w1, c1, m1, k1) = self.marks[first], self.marks[last]
        n = last - first
        model = m1 - m0
        return (1000 * (w1 - w0 - model) / n, 1000 * (c1 - c0 - model) / n,
                1000 * (k1 - k0) / n)  # fmt: skip

    def timing_checkpoints(self) -> None:
        """Count the CPU time of every checkpoint (each lists every finished item)."""
        checkpoint = QueueSession.checkpoint

        def timed(session: QueueSession) -> str | None:
            start = time.process_time()
            try:
                return checkpoint(session)
            finally:
                self.checkpoint_seconds += time.process_time() - start

        QueueSession.checkpoint = timed  # type: ignore[method-assign]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--configs", type=int, default=1000)
    parser.add_argument("--tracemalloc", action="store_true", help="trace the Python heap")
    args = parser.parse_args()
    n = args.configs
    if n < 2 * WINDOW + 2:
        parser.error(f"--configs must be at least {2 * WINDOW + 2}")
    if args.tracemalloc:
        tracemalloc.start()
    model = ScaledModel()
    sampler = Sampler(n, model, args.tracemalloc)
    sampler.timing_checkpoints()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        runner, queue_uuid, engine = runner_for(
            f"sqlite:///{root / 'memory.db'}", n, n, root, model=model, events=sampler
        )
        start = rss_mb()
        outcome = runner.run(queue_uuid)
        assert outcome.completed == n, outcome
        engine.dispose()
        db_mb = sum(p.stat().st_size for p in root.glob("memory.db*")) / 2**20
    first = sampler.window(1, WINDOW + 1)
    last = sampler.window(n - WINDOW, n)
    at_window, at_end = sampler.memory[WINDOW], sampler.memory[n]
    growth = (at_end - at_window) / at_window
    what = "Python heap traced (MB)" if args.tracemalloc else "RSS (MB)"
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{n:,} configs, trivial model, SQLite (database {db_mb:,.0f} MB at the end)")
    print(f"{'':<22}{what:>24}{'wall ms/config':>16}{'CPU ms/config':>15}"
          f"{'of which checkpoints':>22}")  # fmt: skip
    for label, memory, (wall, cpu, checkpoints) in (
        (f"configs 1-{WINDOW}", at_window, first),
        (f"configs {n - WINDOW + 1:,}-{n:,}", at_end, last),
    ):
        print(f"{label:<22}{memory:>24.1f}{wall:>16.2f}{cpu:>15.2f}{checkpoints:>22.2f}")
    print(f"memory growth from config {WINDOW} to {n:,}: {100 * growth:+.1f}% (target < 10%); "
          f"CPU per config, last window / first: {last[1] / first[1]:.2f}; "
          f"RSS before the run {start:.0f} MB, peak {peak:.0f} MB")  # fmt: skip
    figures: dict[str, Any] = {
        "benchmark": "outer_loop_memory",
        "configs": n,
        "measure": "tracemalloc" if args.tracemalloc else "rss",
        "memory_mb_at_100": round(at_window, 2),
        "memory_mb_at_end": round(at_end, 2),
        "memory_growth_percent": round(100 * growth, 2),
        "peak_rss_mb": round(peak, 1),
        "first_window_cpu_ms": round(first[1], 3),
        "last_window_cpu_ms": round(last[1], 3),
        "first_window_wall_ms": round(first[0], 3),
        "last_window_wall_ms": round(last[0], 3),
        "first_window_checkpoint_cpu_ms": round(first[2], 3),
        "last_window_checkpoint_cpu_ms": round(last[2], 3),
        "database_mb": round(db_mb, 1),
    }
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
