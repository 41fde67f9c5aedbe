"""``main()``'s error mapping (DESIGN §14): 2 bad input, 1 failure, 130 interrupted."""

from __future__ import annotations

import pytest
import typer

from regimeforge.adapters.cli import app as cli
from regimeforge.domain.errors import ConfigError, Problem, StorageError


@pytest.fixture
def with_command(monkeypatch: pytest.MonkeyPatch) -> typer.Typer:
    """The real app plus a hidden ``boom KIND`` command raising what it is told to."""
    errors = {
        "input": ConfigError([Problem("grid.horizon", "must be positive", "use 1..500")]),
        "storage": StorageError("database is locked"),
        "bug": ZeroDivisionError("division by zero"),
        "interrupt": KeyboardInterrupt(),
    }

    def boom(kind: str) -> None:
        if kind == "exit3":
            raise typer.Exit(3)
        raise errors[kind]

    monkeypatch.setattr(cli.app, "registered_commands", list(cli.app.registered_commands))
    cli.app.command("boom", hidden=True)(boom)
    return cli.app


@pytest.mark.parametrize(
    ("kind", "code", "message"),
    [
        ("input", 2, "error: grid.horizon: must be positive (fix: use 1..500)"),
        ("storage", 2, "error: database is locked"),
        ("bug", 1, "error: unexpected ZeroDivisionError: division by zero"),
        ("interrupt", 130, None),  # typer turns KeyboardInterrupt into Exit(130)
        ("exit3", 3, None),
    ],
)
def test_errors_map_to_exit_statuses(
    with_command: typer.Typer,
    capsys: pytest.CaptureFixture[str],
    kind: str,
    code: int,
    message: str | None,
) -> None:
    assert cli.run(["boom", kind]) == code
    err = capsys.readouterr().err
    assert "Traceback" not in err
    if message:
        assert err.splitlines()[-1].startswith(message)


def test_usage_errors_exit_2_with_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.run(["no-such-command"]) == 2
    assert cli.run(["grid", "size"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        "error: No such command 'no-such-command'. (see `regimeforge --help`)",
        "error: Missing argument 'GRID.yaml'. (see `regimeforge grid size --help`)",
    ]


def test_no_arguments_prints_help_and_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.run([]) == 0
    out = capsys.readouterr().out
    for command in ("init", "db", "grid", "plugins"):
        assert command in out


def test_debug_shows_the_traceback(
    with_command: typer.Typer, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REGIMEFORGE_DEBUG", "1")
    assert cli.run(["boom", "bug"]) == 1
    assert "Traceback" in capsys.readouterr().err
