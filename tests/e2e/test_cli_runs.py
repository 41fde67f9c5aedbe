"""``regimeforge runs list|show|export|compare|delete|rerun-inference`` on real recorded runs.

The workspace (``recorded_ws``) holds four completed runs (two ridge with kept files holding
every regime rank, two lasso whose files were deleted) and a failed rf run. Most commands run in
this process (``run_cli``); a few run the installed command as a user would.
"""

from __future__ import annotations

import csv
import io
import json
import math
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from cli_helpers import EXE, clean_env, rf, tree
from recorded_ws import BACKDATED, INFERENCE, build, copy_of, run_cli, set_run_columns

import regimeforge as rfx

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return build(tmp_path_factory.mktemp("runs"))


@pytest.fixture(scope="module")
def facts(recorded: dict[str, Any]) -> dict[str, Any]:
    """Backtests and ranks read through the Python API (the expectations of the filters)."""
    ws = rfx.open_workspace(recorded["path"], load_entry_points=False)
    try:
        backtests = {k: rfx.backtests(ws, u) for k, u in recorded["runs"].items()}
        bests = rfx.regime_bests(ws)
    finally:
        ws.close()
    return {"backtests": backtests, "bests": bests}


def listed(capsys: pytest.CaptureFixture[str], ws: Path, *args: Any) -> dict[str, Any]:
    code, out, err = run_cli(capsys, "runs", "list", "--json", "-w", ws, *args)
    assert code == 0, err
    return json.loads(out)


def labels(recorded: dict[str, Any], doc: dict[str, Any]) -> set[str]:
    by_uuid = {u: k for k, u in recorded["runs"].items()}
    return {by_uuid[r["run_uuid"]] for r in doc["runs"]}


def bad(capsys: pytest.CaptureFixture[str], *args: Any) -> str:
    code, out, err = run_cli(capsys, *args)
    assert code == 2, (code, out, err)
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    return lines[0]


ALL = {"lasso_eur", "lasso_gbp", "rf_usd", "ridge_eur", "ridge_gbp"}


def test_list_without_filters_shows_every_run_newest_first(capsys, recorded) -> None:
    doc = listed(capsys, recorded["path"])
    assert doc["total"] == 5 and labels(recorded, doc) == ALL
    created = [r["created_at"] for r in doc["runs"]]
    assert created == sorted(created, reverse=True)
    assert doc["runs"][-1]["run_uuid"] == recorded["runs"]["lasso_gbp"]  # the back-dated one
    ridge = next(r for r in doc["runs"] if r["run_uuid"] == recorded["runs"]["ridge_eur"])
    assert ridge["backtests"] == 8 and ridge["model_file"]["kept"] is True
    assert ridge["config"]["model_hyperparams"] == {"alpha": 0.37}
    assert ridge["best_score"]["metric"] == "sharpe" and ridge["best_score"]["value"] > 0


def test_status_model_type_symbol_queue_and_kept_filters(capsys, recorded) -> None:
    ws = recorded["path"]
    assert labels(recorded, listed(capsys, ws, "--status", "failed")) == {"rf_usd"}
    assert labels(recorded, listed(capsys, ws, "--status", "COMPLETED")) == ALL - {"rf_usd"}
    assert labels(recorded, listed(capsys, ws, "--model-type", "lasso")) == {
        "lasso_eur", "lasso_gbp"}  # fmt: skip
    assert labels(recorded, listed(capsys, ws, "--symbol", "GBP/USD")) == {
        "lasso_gbp", "ridge_gbp"}  # fmt: skip
    assert labels(recorded, listed(capsys, ws, "--queue", "cli-bad")) == {"rf_usd"}
    good = recorded["queues"]["cli-good"]
    assert labels(recorded, listed(capsys, ws, "--queue", good)) == ALL - {"rf_usd"}
    assert labels(recorded, listed(capsys, ws, "--kept")) == {"ridge_eur", "ridge_gbp"}
    assert labels(recorded, listed(capsys, ws, "--not-kept", "--model-type", "ridge")) == set()
    combined = listed(capsys, ws, "--model-type", "ridge", "--symbol", "EUR/USD", "--kept")
    assert labels(recorded, combined) == {"ridge_eur"}


def test_an_unknown_symbol_lists_nothing_and_says_which_symbols_exist(capsys, recorded) -> None:
    code, out, err = run_cli(capsys, "runs", "list", "-w", recorded["path"], "--symbol", "EURUSD")
    assert code == 0 and "no runs match" in out
    assert "no run has symbol 'EURUSD'" in err and "EUR/USD" in err


def test_date_filters_compare_with_the_creation_time(capsys, recorded) -> None:
    ws = recorded["path"]
    assert BACKDATED.isoformat().startswith("2020-01-15T10:00")
    assert labels(recorded, listed(capsys, ws, "--until", "2020-01-15")) == {"lasso_gbp"}
    assert labels(recorded, listed(capsys, ws, "--until", "2020-01-14")) == set()
    window = ("--since", "2020-01-15T09:30", "--until", "2020-01-15T10:30")
    assert labels(recorded, listed(capsys, ws, *window)) == {"lasso_gbp"}
    assert labels(recorded, listed(capsys, ws, "--since", "2020-01-15T10:30")) == ALL - {
        "lasso_gbp"}  # fmt: skip
    assert labels(recorded, listed(capsys, ws, "--since", "1d")) == ALL - {"lasso_gbp"}
    assert labels(recorded, listed(capsys, ws, "--since", "2030-01-01")) == set()


def _best(facts: dict[str, Any], label: str, max_dd: float | None = None) -> float:
    values = [
        b.backtest_metrics["sharpe"]
        for b in facts["backtests"][label]
        if max_dd is None or abs(b.backtest_metrics["max_drawdown"]) <= max_dd
    ]
    return max((v for v in values if v is not None), default=-math.inf)


def test_min_sharpe_and_max_drawdown_filter_on_one_backtest(capsys, recorded, facts) -> None:
    ws = recorded["path"]
    done = ALL - {"rf_usd"}
    # a threshold between the two lowest distinct best Sharpe ratios
    low, next_up = sorted({_best(facts, k) for k in done})[:2]
    threshold = (low + next_up) / 2
    above = {k for k in done if _best(facts, k) >= threshold}
    assert above and above != done
    assert labels(recorded, listed(capsys, ws, "--min-sharpe", threshold)) == above
    drawdowns = sorted(abs(b.backtest_metrics["max_drawdown"])
                       for k in done for b in facts["backtests"][k])  # fmt: skip
    cap = drawdowns[len(drawdowns) // 2]
    expected = {k for k in done if _best(facts, k, cap) > -math.inf}
    assert labels(recorded, listed(capsys, ws, "--max-drawdown", cap)) == expected
    both = {k for k in done if _best(facts, k, cap) >= threshold}
    assert both != expected or both != above  # the two bounds together select differently
    found = listed(capsys, ws, "--max-drawdown", cap, "--min-sharpe", threshold)
    assert labels(recorded, found) == both


def test_search_looks_in_config_model_type_symbol_and_error(capsys, recorded) -> None:
    ws = recorded["path"]
    assert labels(recorded, listed(capsys, ws, "--search", "0.37")) == {"ridge_eur", "ridge_gbp"}
    assert labels(recorded, listed(capsys, ws, "--search", "LASSO")) == {"lasso_eur", "lasso_gbp"}
    assert labels(recorded, listed(capsys, ws, "--search", "jpy")) == {"rf_usd"}
    assert labels(recorded, listed(capsys, ws, "--search", "n_estimators")) == {"rf_usd"}
    error = listed(capsys, ws, "--search", "InvalidParameterError")
    assert labels(recorded, error) == {"rf_usd"}
    assert "n_estimators" in error["runs"][0]["error_message"]


def test_limit_offset_and_sort(capsys, recorded) -> None:
    ws = recorded["path"]
    first = listed(capsys, ws, "--limit", "2", "--sort", "id")
    second = listed(capsys, ws, "--limit", "2", "--offset", "2", "--sort", "id")
    assert [r["id"] for r in first["runs"]] == [1, 2] and first["total"] == 5
    assert [r["id"] for r in second["runs"]] == [3, 4]
    scored = listed(capsys, ws, "--sort=-score")["runs"]
    values = [r["best_score"]["value"] for r in scored]
    assert values[-1] is None  # the failed run has no backtest: last
    assert values[:-1] == sorted(values[:-1], reverse=True)
    horizons = listed(capsys, ws, "--sort", "-horizon", "--status", "completed")["runs"]
    assert {r["horizon"] for r in horizons} == {3}
    code, out, _ = run_cli(capsys, "runs", "list", "-w", ws, "--limit", "2", "--sort", "id")
    assert code == 0 and "showing 1-2 of 5; --offset 2 for more" in out


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--status", "bogus"], "--status: 'bogus' is not a run status"),
        (["--since", "notadate"], "--since: 'notadate' is not a date"),
        (["--until", "2020-13-45"], "--until: '2020-13-45' is not a date"),
        (["--since", "2021-01-01", "--until", "2020-01-01"], "--until: is not after --since"),
        (["--model-type", "nosuch"], "--model-type: unknown model type 'nosuch'"),
        (["--queue", "nosuch"], "--queue: no queue 'nosuch'"),
        (["--sort", "bogus"], "--sort: cannot sort by 'bogus'"),
        (["--limit", "0"], "--limit: is 0"),
        (["--offset", "-1"], "--offset: is -1"),
        (["--search", " "], "--search: is empty"),
        (["--min-sharpe", "high"], "'--min-sharpe'"),
    ],
)
def test_bad_filter_values_exit_2_with_one_message(capsys, recorded, args, expected) -> None:
    line = bad(capsys, "runs", "list", "-w", recorded["path"], *args)
    assert expected in line, line
    assert "fix:" in line or "--min-sharpe" in args


def test_list_prints_a_table_for_people(recorded) -> None:
    result = rf("runs", "list", "--workspace", recorded["path"])
    assert result.returncode == 0, result.stderr
    assert "Runs (5 matching" in result.stdout and "best sharpe" not in result.stderr
    for word in ("ridge", "lasso", "failed", "GBP/USD", "bull_trending"):
        assert word in result.stdout


def test_show_gives_config_data_timings_backtests_ranks_and_file(capsys, recorded, facts) -> None:
    ws, uuid = recorded["path"], recorded["runs"]["ridge_eur"]
    code, out, err = run_cli(capsys, "runs", "show", uuid[:6], "-w", ws, "--json")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["run_uuid"] == uuid and doc["config"]["symbol"] == "EUR/USD"
    assert len(doc["data_fingerprint"]) == 64 and doc["queue_name"] == "cli-good"
    assert doc["started_at"] <= doc["completed_at"] and doc["training_duration_seconds"] > 0
    assert doc["training_metrics"]["members"] == 5
    sharpe = [b["metrics"]["sharpe"] for b in doc["best_backtests"]]
    assert len(sharpe) == 5 and sharpe == sorted(sharpe, reverse=True)
    assert sharpe[0] == max(b.backtest_metrics["sharpe"] for b in facts["backtests"]["ridge_eur"])
    held = {(b.regime_name, b.rank) for top in facts["bests"].values() for b in top
            if b.run_uuid == uuid}  # fmt: skip
    assert held and {(r["regime"], r["rank"]) for r in doc["regime_ranks"]} == held
    file = doc["model_file"]
    assert file["kept"] and file["exists"] and file["compressed"] is False
    assert Path(file["absolute_path"]).is_file()
    assert Path(file["absolute_path"]).parent.parent == ws / "artifacts"
    assert file["bytes_on_disk"] == file["size_bytes"]
    by_id = json.loads(run_cli(capsys, "runs", "show", str(doc["id"]), "-w", ws, "--json")[1])
    assert by_id["run_uuid"] == uuid


def test_show_as_a_table_and_unknown_runs(capsys, recorded) -> None:
    ws = recorded["path"]
    result = rf("runs", "show", recorded["runs"]["rf_usd"][:8], "--workspace", ws)
    assert result.returncode == 0, result.stderr
    assert "failed" in result.stdout and "InvalidParameterError" in result.stdout
    assert "Config" in result.stdout and "n_estimators" in result.stdout
    assert "no run matches 'ffffffff'" in bad(capsys, "runs", "show", "ffffffff", "-w", ws)
    assert "is not a run id or uuid prefix" in bad(capsys, "runs", "show", "xyz", "-w", ws)


def test_export_json_and_csv_with_filters(capsys, recorded, facts, tmp_path) -> None:
    ws = recorded["path"]
    code, out, err = run_cli(capsys, "runs", "export", "-w", ws, "--model-type", "ridge")
    assert code == 0, err
    doc = json.loads(out)
    assert {r["run_uuid"] for r in doc["runs"]} == {
        recorded["runs"]["ridge_eur"], recorded["runs"]["ridge_gbp"]}  # fmt: skip
    assert all(len(r["backtests_exported"]) == 1 for r in doc["runs"])
    best = doc["runs"][0]["backtests_exported"][0]["metrics"]["sharpe"]
    assert best == doc["runs"][0]["best_score"]["value"]
    target = tmp_path / "all.csv"
    args = ("runs", "export", "-w", ws, "--format", "csv", "--backtests", "all", "-o", target)
    code, _, err = run_cli(capsys, *args, "--status", "completed")
    assert code == 0 and f"wrote 4 runs to {target}" in err
    rows = list(csv.DictReader(io.StringIO(target.read_text(encoding="utf-8"))))
    assert len(rows) == sum(len(facts["backtests"][k]) for k in ALL - {"rf_usd"}) == 32
    assert {"run_uuid", "sharpe", "prediction_method", "bull_trending.sharpe"} <= set(rows[0])
    assert json.loads(rows[0]["config"])["days_history"] == 150
    code, out, _ = run_cli(capsys, "runs", "export", "-w", ws, "--format", "csv")
    one_per_run = list(csv.DictReader(io.StringIO(out)))
    assert len(one_per_run) == 5  # the failed run too, with empty backtest columns
    failed = next(r for r in one_per_run if r["status"] == "failed")
    assert failed["backtest_uuid"] == "" and "n_estimators" in failed["error_message"]


def test_export_refuses_bad_options_and_writes_nothing(capsys, recorded, tmp_path) -> None:
    ws = recorded["path"]
    before = tree(tmp_path)
    line = bad(capsys, "runs", "export", "-w", ws, "--format", "xml", "-o", tmp_path / "x.xml")
    assert "--format: 'xml' is not a format" in line
    line = bad(capsys, "runs", "export", "-w", ws, "-o", tmp_path / "no" / "such" / "x.json")
    assert "--output: folder" in line and "does not exist" in line
    line = bad(capsys, "runs", "export", "-w", ws, "--since", "soon", "-o", tmp_path / "a.json")
    assert "--since" in line
    assert tree(tmp_path) == before


def test_compare_shows_configs_side_by_side_with_differences(capsys, recorded) -> None:
    ws, runs = recorded["path"], recorded["runs"]
    args = ("runs", "compare", runs["ridge_eur"][:8], runs["lasso_gbp"][:8], runs["ridge_gbp"][:8])
    code, out, err = run_cli(capsys, *args, "-w", ws, "--json")
    assert code == 0, err
    doc = json.loads(out)
    assert set(doc["differences"]) == {"model_type", "symbol", "model_hyperparams.alpha"}
    assert doc["config"]["symbol"] == ["EUR/USD", "GBP/USD", "GBP/USD"]
    assert doc["config"]["horizon"] == [3, 3, 3]
    assert doc["metrics"]["model kept"] == ["yes", "no", "yes"]
    assert all(isinstance(v, float) for v in doc["metrics"]["sharpe"])
    result = rf(*args, "--workspace", ws)
    assert result.returncode == 0, result.stderr
    marked = [line for line in result.stdout.splitlines() if "│ * │" in line]
    assert len(marked) == 3 and any("model_type" in line for line in marked)
    assert "give at least two runs" in bad(capsys, "runs", "compare", runs["ridge_eur"], "-w", ws)


def _count_runs(ws: Path) -> int:
    opened = rfx.open_workspace(ws, load_entry_points=False)
    try:
        return len(rfx.runs(opened, limit=100))
    finally:
        opened.close()


def answer(ws: Path, run: str, text: str) -> subprocess.CompletedProcess[str]:
    """``runs delete RUN`` in a subprocess, answering the question with ``text``."""
    return subprocess.run(
        [str(EXE), "runs", "delete", run, "--workspace", str(ws)],
        input=text, capture_output=True, text=True, env=clean_env(), timeout=300, check=False,
    )  # fmt: skip


def test_delete_refuses_a_rank_holder_without_force_and_asks_first(capsys, recorded, tmp_path):
    ws = copy_of(recorded, tmp_path)
    runs = recorded["runs"]
    line = bad(capsys, "runs", "delete", runs["ridge_eur"][:8], runs["lasso_eur"][:8], "-w", ws,
               "--yes")  # fmt: skip
    assert "--force: run" in line and "holds a regime best" in line
    assert _count_runs(ws) == 5
    for text in ("", "n\n"):  # end of input, or a no: nothing is deleted, exit 1
        answered = answer(ws, runs["lasso_eur"][:8], text)
        assert answered.returncode == 1 and "Delete 1 runs" in answered.stdout
        assert _count_runs(ws) == 5
    yes = answer(ws, runs["lasso_eur"][:8], "y\n")
    assert yes.returncode == 0, yes.stderr
    assert "deleted 1 runs, 8 backtests and 0 model files" in yes.stdout
    assert _count_runs(ws) == 4


def test_delete_with_force_clears_ranks_records_them_and_deletes_the_file(capsys, recorded,
                                                                           tmp_path):  # fmt: skip
    ws = copy_of(recorded, tmp_path)
    uuid, other = recorded["runs"]["ridge_eur"], recorded["runs"]["ridge_gbp"]
    opened = rfx.open_workspace(ws, load_entry_points=False)
    run = rfx.get_run(opened, uuid)
    path = opened.artifacts.path_of(run.model_file_path)
    assert path.is_file()
    code, out, err = run_cli(capsys, "runs", "delete", uuid[:8], "--force", "--yes", "-w", ws)
    assert code == 0, err
    assert "deleted 1 runs, 8 backtests and 1 model files" in out
    assert not path.exists()
    bests = rfx.regime_bests(opened)
    # the regimes it held are empty now (top-1); the other run keeps its own
    assert set(bests) == set(rfx.get_run(opened, other).best_regimes)
    assert all(b.run_uuid == other and b.rank == 1 for top in bests.values() for b in top)
    with opened.uow() as uow:
        history = uow.bests.history(limit=100)
        assert uow.backtests.for_run(uuid) == []
    deleted = [h for h in history if h.change == "deleted"]
    assert {h.run_uuid for h in deleted} == {uuid}
    assert {h.regime_name for h in deleted} == set(run.best_regimes) and run.best_regimes
    opened.close()
    assert "no run matches" in bad(capsys, "runs", "show", uuid[:8], "-w", ws)


def test_delete_refuses_a_running_run(capsys, recorded, tmp_path) -> None:
    ws = copy_of(recorded, tmp_path)
    uuid = recorded["runs"]["lasso_gbp"]
    opened = rfx.open_workspace(ws, load_entry_points=False)
    set_run_columns(opened.engine, uuid, status="running")
    opened.close()
    line = bad(capsys, "runs", "delete", uuid[:8], "--yes", "--force", "-w", ws)
    assert "is running" in line and "queue" in line
    assert _count_runs(ws) == 5


def _grid_file(tmp_path: Path, grid: dict[str, Any]) -> Path:
    path = tmp_path / "inference.yaml"
    path.write_text(yaml.safe_dump({"inference_grid": grid}), encoding="utf-8")
    return path


def test_rerun_inference_adds_new_configs_and_reproduces_recorded_ones(capsys, recorded, facts,
                                                                        tmp_path):  # fmt: skip
    ws = copy_of(recorded, tmp_path)
    uuid = recorded["runs"]["ridge_gbp"]
    same = _grid_file(tmp_path, INFERENCE)
    code, out, err = run_cli(capsys, "runs", "rerun-inference", uuid[:8], "-w", ws,
                             "--inference-grid", same)  # fmt: skip
    assert code == 0, err
    # the stored model on its own data window gives the recorded backtests back exactly
    assert "0 backtests added, 8 already recorded" in out and "gave other" not in out
    wider = _grid_file(tmp_path, {**INFERENCE, "confidence_threshold": [0.0, 0.3, 0.6],
                                  "ensemble_method": ["mean", "weighted", "stacking"]})  # fmt: skip
    code, out, err = run_cli(capsys, "runs", "rerun-inference", uuid[:8], "-w", ws,
                             "--inference-grid", wider)  # fmt: skip
    assert code == 0, err
    assert "10 backtests added, 8 already recorded" in out
    opened = rfx.open_workspace(ws, load_entry_points=False)
    try:
        stored = rfx.backtests(opened, uuid)
        kept = {r.run_uuid for r in rfx.runs(opened, kept=True, limit=100)}
        bests = rfx.regime_bests(opened)
    finally:
        opened.close()
    assert len(stored) == 18
    old = {b.inference_hash: b for b in facts["backtests"]["ridge_gbp"]}
    assert all(stored_b.backtest_uuid == old[h].backtest_uuid
               for h, stored_b in ((b.inference_hash, b) for b in stored) if h in old)  # fmt: skip
    holders = {b.run_uuid for top in bests.values() for b in top}
    assert holders == kept  # every kept model holds a rank and every rank holder is kept


def test_rerun_inference_failures(capsys, recorded, tmp_path) -> None:
    ws = copy_of(recorded, tmp_path)
    runs = recorded["runs"]
    code, _, err = run_cli(capsys, "runs", "rerun-inference", runs["lasso_eur"][:8], "-w", ws)
    assert code == 1 and "the model file of run" in err and "was deleted" in err
    line = bad(capsys, "runs", "rerun-inference", runs["rf_usd"][:8], "-w", ws)
    assert "is failed, not completed" in line
    broken = _grid_file(tmp_path, {"confidence_threshold": [2.0]})
    line = bad(capsys, "runs", "rerun-inference", runs["ridge_eur"][:8], "-w", ws,
               "--inference-grid", broken)  # fmt: skip
    assert "--inference-grid" in line and "confidence_threshold[0]" in line
    opened = rfx.open_workspace(ws, load_entry_points=False)
    path = opened.artifacts.path_of(rfx.get_run(opened, runs["ridge_eur"]).model_file_path)
    opened.close()
    path.write_bytes(path.read_bytes()[:-10] + b"0123456789")  # tampered
    code, _, err = run_cli(capsys, "runs", "rerun-inference", runs["ridge_eur"][:8], "-w", ws)
    assert code == 1 and "SHA-256" in err and "nothing was recorded" in err
