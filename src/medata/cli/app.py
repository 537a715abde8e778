"""The ``medata`` command: one typer app, one small module per command."""

from __future__ import annotations

import os
import sys

import typer

from medata import __version__
from medata.cli import dedupe, demo, merge, review, stats, train, validate
from medata.errors import MedataError, OutputError
from medata.report.text import one_line

app = typer.Typer(
    name="medata",
    help="Merge, validate, deduplicate and document facial micro-expression datasets.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.command("merge", no_args_is_help=True)(merge.merge_command)
app.command("validate", no_args_is_help=True)(validate.validate_command)
app.command("dedupe")(dedupe.dedupe_command)
app.command("stats", no_args_is_help=True)(stats.stats_command)
app.command("train-baseline", no_args_is_help=True)(train.train_command)
app.command("predict", no_args_is_help=True)(train.predict_command)
app.command("review", no_args_is_help=True)(review.review_command)
app.command("demo")(demo.demo_command)


def _version(value: bool) -> None:
    if value:
        print(f"medata {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Show the version and exit."
    ),
) -> None:
    """Merge, validate, deduplicate and document facial micro-expression datasets."""


def main(argv: list[str] | None = None) -> None:
    """Entry point: library errors become one line on stderr and an exit status, no traceback.

    Usage errors from the parser exit with status 2 (typer's standalone mode); a ``UsageError`` or
    ``InputError`` from the library also gives 2, an ``OutputError`` gives 1.
    """
    try:
        app(args=argv)
    except MedataError as exc:
        print(f"Error: {one_line(str(exc))}", file=sys.stderr)
        sys.exit(1 if isinstance(exc, OutputError) else 2)
    except OSError as exc:  # the machine, not medata: a full disk, a name too long, permissions
        where = f": {exc.filename}" if exc.filename else ""
        print(f"Error: {one_line(f'{exc.strerror or exc}{where}')}", file=sys.stderr)
        sys.exit(1)
    except KeyboardInterrupt:
        print("Interrupted: nothing was written.", file=sys.stderr)
        sys.exit(130)
    except Exception as exc:  # a bug in medata: one line, the traceback only on request
        if os.environ.get("MEDATA_DEBUG"):
            raise
        detail = one_line(f"{type(exc).__name__}: {exc}", 300)
        print(f"Error: internal error ({detail}); set MEDATA_DEBUG=1 for the traceback and "
              "please report it", file=sys.stderr)  # fmt: skip
        sys.exit(3)
