"""Built-in metrics plugin: the domain's vectorised metrics, registered like third-party ones.

Each descriptor wraps a ``regimeforge.domain.metrics.BuiltinMetric``; the inner loop's kernels
compute all of them in one pass and call ``compute`` only for metrics of other plugins.
"""

from __future__ import annotations

from regimeforge.domain.metrics import builtin_metrics
from regimeforge.plugins.descriptors import MetricDescriptor
from regimeforge.plugins.hookspecs import hookimpl


@hookimpl
def register_metrics() -> list[MetricDescriptor]:
    """sharpe, sortino, max_drawdown, calmar, total_return, win_rate, profit_factor, n_trades,
    exposure, turnover and hit_rate (definitions: docs/inner-loop.md)."""
    return [MetricDescriptor(m.name, m, m.description) for m in builtin_metrics()]
