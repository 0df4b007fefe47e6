"""`--statistics`: how many findings of each rule, most frequent first (as ruff prints them)."""

from __future__ import annotations

from collections import Counter

from rich.console import Console
from rich.markup import escape

from ..linting import FileResult


def render(results: list[FileResult], out: Console, err: Console) -> None:
    for result in results:
        if result.error:
            err.print(f"[bold]{escape(result.path)}[/]: [red]error[/]: {escape(result.error)}", soft_wrap=True)
    counts = Counter((d.code, d.name) for r in results for d in r.diagnostics)
    width = len(str(max(counts.values(), default=0)))
    for (code, name), count in sorted(counts.items(), key=lambda item: (-item[1], item[0])):
        out.print(f"{count:>{width}}  [bold]{code}[/]  {name}", soft_wrap=True)
    partly = sum(1 for r in results if r.notes and not r.error)
    if partly:  # a count of findings is not "clean" either when something was skipped
        out.print(f"{partly} file{'s' * (partly != 1)} only partly checked (see the notes without --statistics)")
