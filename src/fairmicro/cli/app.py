"""``fairmicro`` command line: the console entry :func:`main`.

This module stays cheap to import. ``ingest``, ``query`` and ``plugins`` with
ordinary arguments are parsed by :mod:`fairmicro.cli.fast` and run by
:mod:`fairmicro.cli.lean_cmds` without typer, pydantic or rich; everything
else (help, version, the other commands, unusual arguments) goes to the typer
app in :mod:`fairmicro.cli.commands`, which is still reachable here as ``app``.
"""

from __future__ import annotations

import os
import sys
from typing import Any, NoReturn

from fairmicro.errors import FairmicroError, first_line

_state = {"debug": False}

_FAST_COMMANDS = {"query": "query_command", "ingest": "ingest_command", "plugins": "plugins_command"}


def __getattr__(name: str) -> Any:
    # `app`, `stdout` and `stderr` live with the typer app; load it only when asked for
    if name in {"app", "stdout", "stderr"}:
        from fairmicro.cli import commands

        return getattr(commands, name)
    raise AttributeError(f"module 'fairmicro.cli.app' has no attribute {name!r}")


def _run(argv: list[str]) -> int:
    """Run one command line; returns the exit code (typer's own exits are raised as SystemExit)."""
    from fairmicro.cli import fast

    argv = fast.take_data_path(argv)
    sys.argv[1:] = argv  # typer reads sys.argv itself
    parsed = fast.parse(argv)
    if parsed is None:
        return _run_typer()
    from fairmicro.cli import lean_cmds

    _state["debug"] = parsed.debug
    lean_cmds.configure(parsed.debug)
    values = dict(parsed.values)
    wait = values.pop("wait", None)
    if wait is not None:
        from fairmicro.catalog.connection import set_wait

        set_wait(wait)
    return getattr(lean_cmds, _FAST_COMMANDS[parsed.command])(**values)


def _click_errors() -> Any:
    """The click exceptions typer raises (recent typer vendors click as ``typer._click``)."""
    import importlib

    try:
        return importlib.import_module("typer._click.exceptions")
    except ImportError:  # pragma: no cover - typer that depends on click
        return importlib.import_module("click.exceptions")


def _run_typer() -> int:
    """The typer app on ``sys.argv`` (it names the program as the user called it); usage errors are two lines."""
    import typer

    from fairmicro.cli.commands import app

    errors = _click_errors()
    try:
        code = app(standalone_mode=False)
    except errors.NoArgsIsHelpError as exc:  # bare `fairmicro`: the help, as --help prints it
        sys.stdout.write(exc.format_message() + "\n")
        return 0
    except errors.UsageError as exc:
        sys.stderr.write(usage_error_lines(exc.format_message(), exc.ctx))
        return exc.exit_code
    except errors.ClickException as exc:
        sys.stderr.write(f"error: {' '.join(exc.format_message().split())}\n")
        return exc.exit_code
    except typer.Abort:
        sys.stderr.write("\nAborted!\n")
        return 1
    return code if isinstance(code, int) else 0


def usage_error_lines(message: str, ctx: Any) -> str:
    """A usage error as users see it: one ``error:`` line, then the usage with where to get help."""
    lines = f"error: {' '.join(message.split())}\n"
    if ctx is not None:
        usage = " ".join(ctx.get_usage().split())
        lines += f"{usage} (see '{ctx.command_path} --help')\n"
    return lines


def _fail(message: str) -> NoReturn:
    sys.stderr.write(f"error: {message}\n")
    sys.exit(1)


def main() -> None:
    """Console-script entry: expected failures are one line on stderr, exit 1."""
    try:
        sys.exit(_run(sys.argv[1:]))
    except FairmicroError as exc:
        if _state["debug"]:
            raise
        _fail(first_line(exc, sys.maxsize))
    except KeyboardInterrupt:  # as click does for the commands it runs
        sys.stderr.write("\nAborted!\n")
        sys.exit(1)
    except BrokenPipeError:  # `fairmicro query ... | head`: the reader left; no traceback, no second error
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        sys.exit(1)
    except Exception as exc:  # a bug, not an expected failure: still one line, with a way to the traceback
        if _state["debug"]:
            raise
        _fail(
            f"internal error ({type(exc).__name__}: {first_line(exc)}); "
            "rerun with `fairmicro --debug ...` for the traceback and report it"
        )
