"""The ``regimeforge`` typer app and ``main()``, which maps errors to exit statuses.

Exit statuses (DESIGN §14): 0 done; 1 a failure while running; 2 bad input (one clear message,
no traceback, nothing written); 130 interrupted. Set ``REGIMEFORGE_DEBUG=1`` to see tracebacks.
Each command group lives in its own module exposing ``register(app)``; add yours to
``COMMAND_MODULES``.
"""

from __future__ import annotations

import importlib
import os
import sys
import traceback
from collections.abc import Sequence

import click
import typer

from regimeforge.adapters.cli.common import print_error
from regimeforge.domain.errors import InputError, RegimeForgeError

COMMAND_MODULES: tuple[str, ...] = (
    "regimeforge.adapters.cli.init_cmd",
    "regimeforge.adapters.cli.db_cmd",
    "regimeforge.adapters.cli.grid_cmd",
    "regimeforge.adapters.cli.plugins_cmd",
    "regimeforge.adapters.cli.regimes_cmd",
    "regimeforge.adapters.cli.data_cmd",
    "regimeforge.adapters.cli.runs_cmd",
    "regimeforge.adapters.cli.models_cmd",
    "regimeforge.adapters.cli.queue_cmd",
    "regimeforge.adapters.cli.checkpoints_cmd",
    "regimeforge.adapters.cli.demo_cmd",
)

app = typer.Typer(
    name="regimeforge",
    help="Regime-aware, two-loop model search on market data.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)

# typer >= 0.20 vendors click (typer._click); catch both spellings through public names.
_CLICK_ERRORS: tuple[type[Exception], ...] = (typer.TyperException, click.ClickException)
_EXITS: tuple[type[BaseException], ...] = (typer.Exit, click.exceptions.Exit)

for _module in COMMAND_MODULES:
    importlib.import_module(_module).register(app)


def run(argv: Sequence[str] | None = None) -> int:
    """Run the CLI on ``argv`` (default: ``sys.argv[1:]``) and return the exit status."""
    debug = os.environ.get("REGIMEFORGE_DEBUG", "") not in ("", "0")
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        result = app(args=args, prog_name="regimeforge", standalone_mode=False)
    except _CLICK_ERRORS as exc:  # parsing: usage errors, missing arguments, --help requests
        code = getattr(exc, "exit_code", 2)
        ctx = getattr(exc, "ctx", None)
        if type(exc).__name__ == "NoArgsIsHelpError":
            print(ctx.get_help() if ctx is not None else "see regimeforge --help")
            return 0
        hint = f" (see `{ctx.command_path} --help`)" if ctx is not None and code == 2 else ""
        print_error(f"{getattr(exc, 'format_message', exc.__str__)()}{hint}")
        return int(code)
    except _EXITS as exc:
        return int(getattr(exc, "exit_code", 0))
    except (KeyboardInterrupt, typer.Abort, click.exceptions.Abort) as exc:
        interrupted = isinstance(exc, KeyboardInterrupt) or isinstance(
            exc.__cause__ or exc.__context__, KeyboardInterrupt
        )
        print_error("interrupted" if interrupted else "aborted")
        return 130 if interrupted else 1
    except InputError as exc:
        print_error(str(exc))
        return 2
    except RegimeForgeError as exc:
        if debug:
            traceback.print_exc()
        print_error(str(exc) or type(exc).__name__)
        return 2
    except Exception as exc:
        if debug:
            traceback.print_exc()
        print_error(
            f"unexpected {type(exc).__name__}: {exc} (set REGIMEFORGE_DEBUG=1 for the traceback)"
        )
        return 1
    return result if isinstance(result, int) else 0


def main() -> None:
    """Console-script entry point: ``sys.exit(run())``."""
    sys.exit(run())
