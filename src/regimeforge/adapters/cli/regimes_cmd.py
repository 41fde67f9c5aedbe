"""``regimeforge regimes``: detect regimes in a data file, manage definitions, show the bests."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Annotated, Any

import attrs
import numpy as np
import pandas as pd
import typer
from rich.table import Table

from regimeforge.adapters.cli.common import WorkspaceOption, console, open_ws
from regimeforge.domain.errors import ConfigError, DataError, Problem
from regimeforge.domain.ids import short_backtest_id
from regimeforge.domain.regime_detection import parse_definition_rules
from regimeforge.domain.regimes import DEFAULT_REGIME_DEFINITIONS, RegimeDefinition

regimes_app = typer.Typer(
    help="Detect regimes and manage regime definitions.", no_args_is_help=True
)

RuleOption = Annotated[
    list[str] | None,
    typer.Option(
        "--rule", "-r", help='INDICATOR="RULE", e.g. --rule realized_vol="> 75th percentile"'
    ),
]


def register(app: typer.Typer) -> None:
    """Add the ``regimes`` command group to ``app``."""
    app.add_typer(regimes_app, name="regimes")


def read_bars(path: Path) -> pd.DataFrame:
    """OHLCV bars from a CSV whose first column is the timestamp (naive means UTC)."""
    if not path.is_file():
        raise DataError([Problem("--data", f"{path} does not exist", "pass an OHLCV CSV file")])
    frame = pd.read_csv(path, index_col=0)
    frame.columns = [str(c).strip().lower() for c in frame.columns]
    problems = []
    if "close" not in frame.columns:
        problems.append(Problem("--data", f"{path} has no close column", "add a Close column"))
    index = pd.to_datetime(frame.index, utc=True, errors="coerce")
    if index.isna().any():
        problems.append(Problem("--data", "some timestamps do not parse", "use ISO timestamps"))
    elif not (index.is_monotonic_increasing and index.is_unique):
        problems.append(Problem("--data", "timestamps are unsorted or repeated", "sort and dedupe"))
    DataError.collect(problems, subject=str(path))
    frame.index = index
    close = pd.to_numeric(frame["close"], errors="coerce")
    if (~(close > 0)).any():
        raise DataError([Problem("--data", "close prices must be positive numbers", "")])
    frame["close"] = close.astype(float)
    return frame


def _definitions(ws: Any) -> list[RegimeDefinition]:
    from regimeforge.adapters.settings import SETTINGS_FILE

    if not (Path(ws.root) / SETTINGS_FILE).exists():
        return list(DEFAULT_REGIME_DEFINITIONS)
    with ws.uow() as uow:
        return list(uow.regimes.list(active_only=True))


@regimes_app.command()
def detect(
    data: Annotated[Path, typer.Option("--data", help="OHLCV CSV file (timestamp first)")],
    out: Annotated[Path, typer.Option("--out", help="Where to write one label per bar (CSV)")],
    detector: Annotated[str | None, typer.Option(help="Detector (default: settings)")] = None,
    timeframe: Annotated[str | None, typer.Option(help="Timeframe of the bars (info only)")] = None,
    workspace: WorkspaceOption = None,
) -> None:
    """Label every bar with a regime and print the share of each regime."""
    ws = open_ws(workspace)
    settings = dict(ws.settings.regimes)
    name = detector or str(settings.get("detector", "rules"))
    found = ws.registry.detectors.get(name)
    if found is None or not found.available:
        why = "unknown" if found is None else found.unavailable_reason
        known = sorted(ws.registry.detectors)
        raise ConfigError([Problem("--detector", f"{name!r}: {why}", f"use one of {known}")])
    bars = read_bars(data)
    labels = np.asarray(found.factory(settings).detect(bars, _definitions(ws)))
    out.parent.mkdir(parents=True, exist_ok=True)
    pd.DataFrame({"time": bars.index, "regime": labels}).to_csv(out, index=False)
    counts = Counter(str(label) or "(warm-up)" for label in labels)
    table = Table(title=f"{name} regimes of {data.name}" + (f" ({timeframe})" if timeframe else ""))
    for column in ("regime", "bars", "share"):
        table.add_column(column, justify="left" if column == "regime" else "right")
    for regime, count in sorted(counts.items(), key=lambda kv: -kv[1]):
        table.add_row(regime, f"{count:,}", f"{100 * count / max(len(labels), 1):.1f}%")
    console.print(table)
    console.print(f"wrote {len(labels):,} labels to {out}")


@regimes_app.command("list")
def list_(workspace: WorkspaceOption = None) -> None:
    """List the regime definitions in priority order."""
    ws = open_ws(workspace, require_init=True)
    with ws.uow() as uow:
        regimes = sorted(uow.regimes.list(), key=lambda r: (r.priority, r.name))
    table = Table(title="Regime definitions")
    for column in ("priority", "name", "rules", "detector", "active", "description"):
        table.add_column(column)
    for r in regimes:
        rules = ", ".join(f"{k} {v}" for k, v in r.detection_rules.items())
        table.add_row(
            str(r.priority),
            r.name,
            rules,
            r.detector,
            "yes" if r.is_active else "no",
            r.description,
        )
    console.print(table)


def _parse_rules(rules: list[str] | None) -> dict[str, str]:
    parsed: dict[str, str] = {}
    problems = []
    for item in rules or []:
        key, sep, text = item.partition("=")
        if not sep or not key.strip():
            problems.append(Problem("--rule", f"{item!r} is not INDICATOR=RULE", 'e.g. x="> 1"'))
        else:
            parsed[key.strip()] = text.strip()
    ConfigError.collect(problems)
    return parsed


def _save(workspace: Path | None, regime: RegimeDefinition, *, new: bool) -> None:
    parse_definition_rules(regime)  # validate everything before touching the database
    ws = open_ws(workspace, require_init=True)
    with ws.uow() as uow:
        (uow.regimes.add if new else uow.regimes.update)(regime)
        uow.commit()
    console.print(f"{'added' if new else 'updated'} regime {regime.name}")


@regimes_app.command()
def add(
    name: str,
    *,
    rule: RuleOption = None,
    priority: Annotated[int, typer.Option(help="Lower is tried first")] = 100,
    description: Annotated[str, typer.Option(help="What the regime means")] = "",
    workspace: WorkspaceOption = None,
) -> None:
    """Add a regime definition (its rules are validated first; nothing is half-written)."""
    regime = RegimeDefinition(name, _parse_rules(rule), description, priority=priority)
    _save(workspace, regime, new=True)


@regimes_app.command()
def edit(
    name: str,
    *,
    rule: RuleOption = None,
    priority: Annotated[int | None, typer.Option(help="Lower is tried first")] = None,
    description: Annotated[str | None, typer.Option(help="What the regime means")] = None,
    active: Annotated[bool | None, typer.Option("--active/--inactive")] = None,
    workspace: WorkspaceOption = None,
) -> None:
    """Change a regime's rules (replacing them all when --rule is given), priority or text."""
    rules = _parse_rules(rule)
    ws = open_ws(workspace, require_init=True)
    with ws.uow() as uow:
        old = uow.regimes.get(name)
    changes: dict[str, Any] = {"detection_rules": rules} if rules else {}
    for key, value in (("priority", priority), ("description", description), ("is_active", active)):
        if value is not None:
            changes[key] = value
    _save(workspace, attrs.evolve(old, **changes), new=False)


@regimes_app.command()
def remove(name: str, workspace: WorkspaceOption = None) -> None:
    """Remove a regime definition."""
    ws = open_ws(workspace, require_init=True)
    with ws.uow() as uow:
        uow.regimes.remove(name)
        uow.commit()
    console.print(f"removed regime {name}")


@regimes_app.command()
def best(workspace: WorkspaceOption = None) -> None:
    """Show the stored top-N backtests of every regime."""
    ws = open_ws(workspace, require_init=True)
    with ws.uow() as uow:
        tops = uow.bests.all()
    table = Table(title=f"Regime bests ({ws.settings.primary_metric})")
    for column in ("regime", "rank", "score", "run", "backtest", "achieved"):
        table.add_column(column, justify="right" if column in ("rank", "score") else "left")
    for regime in sorted(tops):
        for entry in sorted(tops[regime], key=lambda e: e.rank):
            when = entry.achieved_at.strftime("%Y-%m-%d %H:%M") if entry.achieved_at else ""
            table.add_row(
                regime,
                str(entry.rank),
                f"{entry.performance_score:.4f}",
                entry.run_uuid[:8],
                short_backtest_id(entry.backtest_uuid),
                when,
            )
    console.print(table if tops else "no regime bests yet")
