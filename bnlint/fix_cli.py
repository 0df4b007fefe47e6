"""The `check` command's fix options (--fix, --diff, -o, --backup, --unsafe-fixes,
--renorm, --verify) and their wiring to bnlint.fixing; kept apart so cli.py stays a
list of commands."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import click

OPTIONS = (
    click.option("--fix", is_flag=True, help="Rewrite models with their safe fixes applied (atomically, in place)."),
    click.option("--unsafe-fixes", is_flag=True, help="Also apply fixes that change training behaviour."),
    click.option("--diff", is_flag=True, help="Show every change a fix would make; write nothing."),
    click.option(
        "-o", "--output", type=click.Path(), help="Write the fixed model here instead of in place (one model)."
    ),
    click.option("--backup", is_flag=True, help="With --fix in place: keep the original as PATH.bak."),
    click.option("--renorm", is_flag=True, help="Switch the BN layers that train to Batch Renormalization."),
    click.option("--verify", is_flag=True, help="Check the result with real Keras first (needs TensorFlow)."),
    click.option(
        "--trust-model-code",
        is_flag=True,
        help="Let --verify load a model that holds code (BN013: Lambda bytecode, custom objects, pickles).",
    ),
)


def fix_options(command: Callable) -> Callable:
    for option in reversed(OPTIONS):
        command = option(command)
    return command


def requested(flags: dict[str, Any]) -> bool:
    """Any of the options implies fixing (-o, --renorm and --verify imply --fix)."""
    return any(flags.get(name) for name in ("fix", "unsafe_fixes", "diff", "output", "renorm", "verify", "backup"))


def run(paths: tuple[str, ...], options: Any, flags: dict[str, Any], output_format: str) -> int:
    from .fixing import FixOptions, exit_status, fix_paths, report

    write = not flags.get("diff")
    if flags.get("diff") and (flags.get("output") or flags.get("backup") or flags.get("verify")):
        raise click.UsageError("--diff writes nothing: it cannot be combined with -o, --backup or --verify")
    wanted = FixOptions(
        unsafe=bool(flags.get("unsafe_fixes")),
        renorm=bool(flags.get("renorm")),
        write=write,
        output=flags.get("output"),
        backup=bool(flags.get("backup")),
        verify=bool(flags.get("verify")),
        trust_code=bool(flags.get("trust_model_code")),
    )
    reports = fix_paths(list(paths), options, wanted, jobs=flags.get("jobs") or 1)
    if output_format == "json":
        click.echo(json.dumps(report(reports), indent=2))
    else:
        from rich.console import Console

        from .output.fix_text import render_fixes

        style = output_format if output_format in ("full", "concise") else "full"
        render_fixes(reports, write, Console(highlight=False), Console(stderr=True, highlight=False), style)
    return exit_status(reports, write)
