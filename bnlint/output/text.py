"""Human output: findings in one of two styles, errors as `PATH: error: reason`, a summary.

`concise`: one line per finding (location, code, headline: detail), for logs and grep.
`full` (the default on a terminal): the headline, then the source line with a marker under
the span (scripts) or the layer and the BN settings that matter (models), the detail as
wrapped, indented lines, and the fix bnlint can apply.
"""

from __future__ import annotations

import textwrap
from collections import Counter

from rich.console import Console
from rich.markup import escape

from ..diagnostics import Diagnostic, Severity
from ..linting import FileResult

STYLE = {Severity.ERROR: "bold red", Severity.WARNING: "yellow", Severity.INFO: "cyan"}
WIDTH = 100  # the detail is wrapped to this width (or the terminal's, when narrower)


def location(result: FileResult, diagnostic: Diagnostic) -> str:
    """PATH:LINE:COL (columns counted from 1, as editors do), or PATH:LAYER for models."""
    column = diagnostic.column or 1
    if diagnostic.cell is not None:
        return f"{result.path}:cell {diagnostic.cell}:{diagnostic.line}:{column}"
    if diagnostic.line is not None:
        return f"{result.path}:{diagnostic.line}:{column}"
    return f"{result.path}:{diagnostic.layer}" if diagnostic.layer else result.path


def render(results: list[FileResult], out: Console, err: Console, style: str = "full") -> None:
    counts: Counter[Severity] = Counter()
    show = _full if style == "full" else _concise
    for result in results:
        if result.error:  # a script with a syntax error may still have findings above it
            err.print(f"[bold]{escape(result.path)}[/]: [red]error[/]: {escape(result.error)}", soft_wrap=True)
        for diagnostic in result.diagnostics:
            counts[diagnostic.severity] += 1
            show(result, diagnostic, out)
        if result.diagnostics and result.context:
            out.print(f"[dim]  context: {escape(result.context)}[/]", soft_wrap=True)
        for note in result.notes:  # what could not be checked (not a finding: exit status unchanged)
            out.print(f"[bold]{escape(result.path)}[/]: [magenta]note[/]: {escape(note)}", soft_wrap=True)
        if style == "full" and (result.diagnostics or result.notes):
            out.print()
    out.print(summary(results, counts), soft_wrap=True)


def _headline(result: FileResult, diagnostic: Diagnostic, message: str) -> str:
    style = STYLE[diagnostic.severity]
    return (
        f"[bold]{escape(location(result, diagnostic))}[/]: [{style}]{diagnostic.code}[/] "
        f"[dim]{diagnostic.severity.value}[/] {escape(message)}"
    )


def _concise(result: FileResult, diagnostic: Diagnostic, out: Console) -> None:
    out.print(_headline(result, diagnostic, diagnostic.full_message), soft_wrap=True)


def _full(result: FileResult, diagnostic: Diagnostic, out: Console) -> None:
    out.print(_headline(result, diagnostic, diagnostic.message), soft_wrap=True)
    gutter = "    "
    code = diagnostic.extra.get("source_line")
    if code is not None and diagnostic.line is not None:
        number = str(diagnostic.line)
        gutter = " " * (len(number) + 1) + "| "
        column = min(max((diagnostic.column or 1) - 1, 0), len(code))
        code, column = code.expandtabs(4), len(code[:column].expandtabs(4))  # the marker must line up
        span = max(len(code.rstrip()) - column, 1)
        out.print(f"[dim]{number} |[/] {escape(code.rstrip())}", soft_wrap=True, highlight=False)
        out.print(f"[dim]{gutter}[/]{' ' * column}[{STYLE[diagnostic.severity]}]{'^' * span}[/]", soft_wrap=True)
    elif diagnostic.layer:
        shown = [f"layer {diagnostic.layer}"]
        shown += [f"{key} {value}" for key, value in diagnostic.extra.get("settings", {}).items()]
        out.print(f"[dim]{gutter}{escape(' · '.join(shown))}[/]", soft_wrap=True)
    width = max(min(out.width, WIDTH) - len(gutter), 40)
    if diagnostic.detail:
        detail = _sentence(diagnostic.detail)
        for line in textwrap.wrap(detail, width, break_on_hyphens=False):
            out.print(f"[dim]{gutter}[/]{escape(line)}", soft_wrap=True)
    if diagnostic.fix is not None:
        how = "--fix" if diagnostic.fix.applicability == "safe" else "--fix --unsafe-fixes"
        text = f"fix ({diagnostic.fix.applicability}, {how}): {diagnostic.fix.description}"
        for line in textwrap.wrap(text, width, break_on_hyphens=False):
            out.print(f"[dim]{gutter}[/][green]{escape(line)}[/]", soft_wrap=True)
        for edit in diagnostic.fix.edits:
            if edit.kind == "text" and edit.key == "insert-statement" and edit.new:
                for added in str(edit.new).rstrip("\n").split("\n"):
                    out.print(f"[dim]{gutter}[/][green]+ {escape(added)}[/]", soft_wrap=True, highlight=False)


def _sentence(text: str) -> str:
    """The detail standing alone starts with a capital, unless its first word is code (fit(), training=False)."""
    first = text.split(" ", 1)[0]
    return text[0].upper() + text[1:] if first.isalpha() and first.islower() else text


def summary(results: list[FileResult], counts: Counter[Severity]) -> str:
    total = sum(counts.values())
    failed = sum(1 for r in results if r.error and not r.partial)
    partial = sum(1 for r in results if r.partial)
    unchecked = sum(1 for r in results if r.notes and not r.error)
    linted = len(results) - failed
    parts = [f"{counts[s]} {s.value}{'s' * (counts[s] != 1)}" for s in Severity if counts[s]]
    text = (
        f"Found {total} finding{'s' * (total != 1)} ({', '.join(parts)})"
        if total
        else "[green]No BatchNormalization problems found[/]"
    )
    text += f" in {linted} file{'s' * (linted != 1)}"
    if unchecked:  # never "no problems" alone when something was not checked
        text += f"; {unchecked} {'was' if unchecked == 1 else 'were'} only partly checked (see the notes)"
    if partial:
        text += f"; [red]{partial} only in part[/] (see the errors)"
    if failed:
        text += f"; [red]{failed} could not be read[/]"
    return text + "."
