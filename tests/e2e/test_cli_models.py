"""``regimeforge models storage|cleanup|compress`` on real recorded runs (see ``recorded_ws``).

The two ridge runs keep their files and hold every regime rank; the two lasso runs' files were
deleted when they entered no top-1 (their recorded sizes are the bytes freed).
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import pytest
from cli_helpers import rf, tree
from recorded_ws import build, copy_of, run_cli

import regimeforge as rfx
from regimeforge.adapters.storage.rows import QueueRow, table
from regimeforge.domain.usecases.model_files import MISSING_NOTE

pytestmark = pytest.mark.slow

ORPHAN = "ab/ab" + "0" * 30 + ".model"


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return build(tmp_path_factory.mktemp("models"))


def _open(ws: Path) -> Any:
    return rfx.open_workspace(ws, load_entry_points=False)


def _runs(ws: Path, recorded: dict[str, Any]) -> dict[str, Any]:
    opened = _open(ws)
    try:
        return {k: rfx.get_run(opened, u) for k, u in recorded["runs"].items()}
    finally:
        opened.close()


def _json(capsys: pytest.CaptureFixture[str], *args: Any) -> dict[str, Any]:
    code, out, err = run_cli(capsys, *args)
    assert code == 0, err
    return dict(json.loads(out))


def _bad(capsys: pytest.CaptureFixture[str], *args: Any) -> str:
    code, out, err = run_cli(capsys, *args)
    assert code == 2, (code, out, err)
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    return lines[0]


def test_storage_reports_kept_freed_per_regime_and_per_model_type(capsys, recorded) -> None:
    ws = recorded["path"]
    runs = _runs(ws, recorded)
    doc = _json(capsys, "models", "storage", "-w", ws, "--json")
    kept = [r for r in runs.values() if r.is_model_kept]
    freed = [r for k, r in runs.items() if k.startswith("lasso")]
    assert {r.config.model_type for r in kept} == {"ridge"} and len(kept) == 2
    kept_bytes = sum(r.model_file_size_bytes for r in kept)
    assert doc["kept"] == {"files": 2, "bytes": kept_bytes}
    assert doc["on_disk"] == {"files": 2, "bytes": kept_bytes}
    assert doc["freed"] == {"files": 2, "bytes": sum(r.model_file_size_bytes for r in freed)}
    assert doc["freed"]["bytes"] > 0 and doc["lost"] == {"files": 0}
    assert doc["orphans"] == {"files": 0, "bytes": 0} and doc["missing"] == {"files": 0}
    assert doc["by_model_type"] == {"ridge": {"files": 2, "bytes": kept_bytes}}
    expected: dict[str, dict[str, int]] = {}
    for r in kept:
        for regime in r.best_regimes:
            entry = expected.setdefault(regime, {"files": 0, "bytes": 0})
            entry["files"] += 1
            entry["bytes"] += r.model_file_size_bytes
    assert doc["by_regime"] == expected and len(expected) == 3
    result = rf("models", "storage", "--workspace", ws)
    assert result.returncode == 0, result.stderr
    for words in ("kept (recorded)", "freed so far", "Kept per regime", "bull_trending", "ridge"):
        assert words in result.stdout


def _stage_cleanup(ws: Path, outside: Path) -> dict[str, Path]:
    """An orphan, links pointing outside, a file outside; returns what must survive."""
    artifacts = ws / "artifacts"
    (artifacts / "ab").mkdir()
    (artifacts / ORPHAN).write_bytes(b"no run names me")
    outside.mkdir()
    target = outside / "precious.model"
    target.write_bytes(b"outside the artifacts dir")
    (artifacts / "cd").mkdir()
    link = artifacts / "cd" / ("cd" + "1" * 30 + ".model")
    link.symlink_to(target)
    (outside / ("ef" + "2" * 30 + ".model")).write_bytes(b"reached through a linked shard")
    shard = artifacts / "ef"
    shard.symlink_to(outside, target_is_directory=True)
    beside = ws / ("12" + "3" * 30 + ".model")
    beside.write_bytes(b"in the workspace, not in artifacts")
    return {"target": target, "link": link, "shard": shard, "beside": beside}


def test_cleanup_deletes_orphans_records_missing_files_and_never_leaves_artifacts_dir(
    capsys, recorded, tmp_path
) -> None:
    ws = copy_of(recorded, tmp_path)
    keep = _stage_cleanup(ws, tmp_path / "outside")
    outside_before = {p.name: p.read_bytes() for p in (tmp_path / "outside").iterdir()}
    runs = _runs(ws, recorded)
    lost = runs["ridge_gbp"]
    opened = _open(ws)
    opened.artifacts.path_of(lost.model_file_path).unlink()
    opened.close()
    before = tree(ws / "artifacts")
    code, out, err = run_cli(capsys, "models", "cleanup", "--dry-run", "-w", ws)
    assert code == 0, err
    assert "would delete 1 orphan files" in out and ORPHAN in out
    assert "would record 1 kept runs whose file is missing" in out and "nothing changed" in out
    assert tree(ws / "artifacts") == before and _runs(ws, recorded)["ridge_gbp"].is_model_kept
    code, out, err = run_cli(capsys, "models", "cleanup", "-w", ws)
    assert code == 0, err
    assert "deleted 1 files" in out and "cleared is_model_kept on 1 runs" in out
    assert not (ws / "artifacts" / ORPHAN).exists()
    assert keep["link"].is_symlink() and keep["shard"].is_symlink() and keep["beside"].is_file()
    assert {p.name: p.read_bytes() for p in (tmp_path / "outside").iterdir()} == outside_before
    after = _runs(ws, recorded)["ridge_gbp"]
    assert not after.is_model_kept and after.best_regimes == ()
    assert after.error_message and after.error_message.startswith(MISSING_NOTE)
    opened = _open(ws)
    try:
        bests = rfx.regime_bests(opened)
        with opened.uow() as uow:
            history = [h for h in uow.bests.history(limit=100) if h.change == "file_missing"]
    finally:
        opened.close()
    assert all(b.run_uuid != lost.run_uuid for top in bests.values() for b in top)
    assert {h.regime_name for h in history} == set(lost.best_regimes)
    doc = _json(capsys, "models", "storage", "-w", ws, "--json")
    assert doc["lost"] == {"files": 1} and doc["kept"]["files"] == 1
    assert doc["orphans"]["files"] == 0 and doc["missing"]["files"] == 0
    code, out, _ = run_cli(capsys, "models", "cleanup", "-w", ws)
    assert code == 0 and "deleted 0 files" in out


def test_cleanup_spares_young_files_while_a_queue_runs(capsys, recorded, tmp_path) -> None:
    ws = copy_of(recorded, tmp_path)
    (ws / "artifacts" / "ab").mkdir()
    (ws / "artifacts" / ORPHAN).write_bytes(b"a worker just wrote me")
    opened = _open(ws)
    queues = table(QueueRow)
    with opened.engine.begin() as conn:
        conn.execute(queues.update().where(queues.c.name == "cli-good").values(status="running"))
    opened.close()
    code, out, err = run_cli(capsys, "models", "cleanup", "-w", ws)
    assert code == 0, err
    assert "left alone (young, a queue is running): 1 files" in out
    assert (ws / "artifacts" / ORPHAN).exists()
    code, out, err = run_cli(capsys, "models", "cleanup", "--grace-minutes", "0", "-w", ws)
    assert code == 0 and "deleted 1 files" in out
    assert not (ws / "artifacts" / ORPHAN).exists()
    assert "--grace-minutes: is -1" in _bad(capsys, "models", "cleanup", "--grace-minutes", "-1",
                                            "-w", ws)  # fmt: skip


def test_compress_rewrites_kept_files_that_still_load_and_verify(capsys, recorded, tmp_path):
    ws = copy_of(recorded, tmp_path)
    before = _runs(ws, recorded)
    kept = {k: r for k, r in before.items() if r.is_model_kept}
    code, out, err = run_cli(capsys, "models", "compress", "--older-than", "0", "--dry-run",
                             "-w", ws)  # fmt: skip
    assert code == 0 and "2 would compress" in out, err
    opened = _open(ws)
    paths = {k: opened.artifacts.path_of(r.model_file_path) for k, r in kept.items()}
    opened.close()
    assert all(p.read_bytes()[:2] != b"\x1f\x8b" for p in paths.values())
    code, out, err = run_cli(capsys, "models", "compress", "--older-than", "0", "-w", ws)
    assert code == 0, err
    after = _runs(ws, recorded)
    saved = 0
    for k, path in paths.items():
        raw = path.read_bytes()
        assert raw[:2] == b"\x1f\x8b"  # gzip
        assert after[k].model_file_size_bytes == len(raw) < before[k].model_file_size_bytes
        assert after[k].model_file_sha256 == before[k].model_file_sha256  # of the payload
        assert len(gzip.decompress(raw)) == before[k].model_file_size_bytes
        saved += before[k].model_file_size_bytes - len(raw)
    assert "2 compressed" in out and "saved" in out and saved > 0
    opened = _open(ws)
    try:  # loads transparently, hash-verified
        model = rfx.load_model(opened, kept["ridge_eur"].run_uuid)
        assert model.run.run_uuid == kept["ridge_eur"].run_uuid
    finally:
        opened.close()
    code, out, err = run_cli(capsys, "runs", "rerun-inference", kept["ridge_eur"].run_uuid[:8],
                             "-w", ws, "--inference-grid", _grid(tmp_path))  # fmt: skip
    assert code == 0 and "0 backtests added, 8 already recorded" in out, err
    assert "gave other" not in out
    code, out, _ = run_cli(capsys, "models", "compress", "--older-than", "0", "-w", ws)
    assert code == 0 and "2 already" in out
    code, out, _ = run_cli(capsys, "models", "compress", "--older-than", "36500", "-w", ws)
    assert code == 0 and "no kept model file is that old" in out


def _grid(tmp_path: Path) -> Path:
    import yaml
    from recorded_ws import INFERENCE

    path = tmp_path / "grid.yaml"
    path.write_text(yaml.safe_dump({"inference_grid": INFERENCE}), encoding="utf-8")
    return path


def test_compress_leaves_a_corrupt_file_alone_and_fails(capsys, recorded, tmp_path) -> None:
    ws = copy_of(recorded, tmp_path)
    run = _runs(ws, recorded)["ridge_gbp"]
    opened = _open(ws)
    path = opened.artifacts.path_of(run.model_file_path)
    opened.close()
    tampered = path.read_bytes()[:-4] + b"oops"
    path.write_bytes(tampered)
    code, out, err = run_cli(capsys, "models", "compress", "--older-than", "0", "-w", ws)
    assert code == 1 and "1 corrupt" in out and "1 compressed" in out
    assert "SHA-256" in err
    assert path.read_bytes() == tampered


def test_compress_bad_input(capsys, recorded) -> None:
    ws = recorded["path"]
    line = _bad(capsys, "models", "compress", "--older-than", "-1", "-w", ws)
    assert "--older-than: is -1" in line and "fix:" in line
    line = _bad(capsys, "models", "compress", "-w", ws)
    assert "--older-than" in line
