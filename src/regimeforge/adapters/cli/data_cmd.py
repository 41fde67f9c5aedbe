"""``regimeforge data``: write synthetic bars with their true regimes, check a data file."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Annotated

import numpy as np
import typer
from rich.table import Table

from regimeforge.adapters.cli.common import WorkspaceOption, console, fmt_int
from regimeforge.domain.errors import ConfigError, Problem

data_app = typer.Typer(help="Generate and check market data files.", no_args_is_help=True)

_SUFFIXES = (".csv", ".parquet", ".pq")


def register(app: typer.Typer) -> None:
    """Add the ``data`` command group to ``app``."""
    app.add_typer(data_app, name="data")


def _check_suffix(path: Path, option: str) -> None:
    if path.suffix.lower() not in _SUFFIXES:
        raise ConfigError(
            [
                Problem(
                    option,
                    f"{path.name}: unknown file type {path.suffix or '(none)'!r}",
                    "use a .csv or .parquet file",
                )
            ]
        )


@data_app.command()
def synth(
    bars: Annotated[int, typer.Option("--bars", help="Number of bars to generate")],
    out: Annotated[Path, typer.Option("--out", help="Output file (.csv or .parquet)")],
    seed: Annotated[int, typer.Option("--seed", help="Random seed")] = 0,
    timeframe: Annotated[str, typer.Option("--timeframe", help="Bar timeframe")] = "1h",
    workspace: WorkspaceOption = None,
) -> None:
    """Write seeded regime-switching OHLCV bars with a ``regime`` column of true labels."""
    from regimeforge.adapters.marketdata.files import write_bars
    from regimeforge.adapters.marketdata.synthetic import SyntheticMarketDataSource

    _check_suffix(out, "--out")
    source = SyntheticMarketDataSource(bars, seed, timeframe=timeframe)
    generated = source.generated()
    frame = generated.bars.copy()
    frame["regime"] = np.asarray(generated.labels, dtype=object)
    write_bars(frame, out)
    counts = Counter(str(x) for x in generated.labels)
    table = Table(title=f"{fmt_int(bars)} {timeframe} bars (seed {seed}) -> {out}")
    table.add_column("regime")
    table.add_column("bars", justify="right")
    table.add_column("share", justify="right")
    for name, n in sorted(counts.items(), key=lambda kv: -kv[1]):
        table.add_row(name, fmt_int(n), f"{n / bars:.1%}")
    console.print(table)


@data_app.command()
def check(
    file: Annotated[Path, typer.Argument(help="CSV or Parquet file of OHLCV bars")],
    timeframe: Annotated[
        str | None, typer.Option("--timeframe", help="Timeframe of the file (default: inferred)")
    ] = None,
    timezone: Annotated[
        str, typer.Option("--timezone", help="Time zone of naive timestamps")
    ] = "UTC",
    workspace: WorkspaceOption = None,
) -> None:
    """Validate a data file (every problem with its fix) and print a summary."""
    from regimeforge.adapters.marketdata.files import (
        CsvMarketDataSource,
        ParquetMarketDataSource,
    )
    from regimeforge.adapters.marketdata.plugin import check_spec
    from regimeforge.domain.marketdata import fingerprint
    from regimeforge.domain.timeframes import TIMEFRAME_MINUTES

    _check_suffix(file, "FILE")
    check_spec({"timeframe": timeframe}, frozenset({"timeframe"}), ())
    cls = CsvMarketDataSource if file.suffix.lower() == ".csv" else ParquetMarketDataSource
    bars, tf = cls(file, timeframe=timeframe, timezone=timezone).load("")
    steps = np.diff(bars.index.asi8) if len(bars) > 1 else np.array([], dtype=np.int64)
    gaps = int((steps > TIMEFRAME_MINUTES[tf] * 60e9).sum())
    table = Table(title=f"{file}: OK", show_header=False)
    table.add_column("what")
    table.add_column("value", overflow="fold")
    rows = [
        ("bars", fmt_int(len(bars))),
        ("first", str(bars.index[0]) if len(bars) else "-"),
        ("last", str(bars.index[-1]) if len(bars) else "-"),
        ("timeframe", f"{tf}" + (" (declared)" if timeframe else " (inferred)")),
        ("gaps", f"{fmt_int(gaps)} steps longer than one bar"),
        ("close", f"{bars['close'].min():.6g} .. {bars['close'].max():.6g}"),
        ("volume", f"{bars['volume'].sum():.6g} in total"),
        ("fingerprint", fingerprint(bars)),
    ]
    for what, value in rows:
        table.add_row(what, value)
    console.print(table)
