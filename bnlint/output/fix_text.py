"""Human output of --fix / --diff: per file what was (or would be) changed, setting by
setting, what was skipped and why, the verification, then the remaining findings."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape

from ..fixing import FixReport
from .text import render


def render_fixes(reports: list[FixReport], write: bool, out: Console, err: Console, style: str = "full") -> None:
    for report in reports:
        if report.error:
            continue  # printed with the remaining findings, as `PATH: error: reason`
        if report.applied:
            verb = f"fixed, written to {escape(report.output)}" if report.output else "would change"
            if write and not report.output:
                verb = "nothing to change"
            codes = ", ".join(dict.fromkeys(fix.code for fix in report.applied))
            out.print(f"[bold]{escape(report.path)}[/]: {verb} ({codes})", soft_wrap=True)
        for fix in report.applied:
            out.print(f"  [bold]{fix.code}[/] {escape(fix.description)}", soft_wrap=True)
            if report.diff is not None:
                continue  # a script's changes are the diff below
            for change in fix.changes:
                out.print(f"    {escape(change.describe())}", soft_wrap=True)
            if not fix.changes:
                out.print("    [dim](already in place)[/]", soft_wrap=True)
        if report.diff and not write:
            out.file.write(report.diff if report.diff.endswith("\n") else report.diff + "\n")  # as diff(1) prints it
        for code, description, reason in report.skipped:
            out.print(f"  [dim]not applied[/] {code} {escape(description)}: {escape(reason)}", soft_wrap=True)
        if report.verification:
            out.print(f"  {escape(_verification(report.verification))}", soft_wrap=True)
    remaining = []
    for report in reports:
        result = report.remaining
        if report.error and not result.error:
            result.error = report.error
        remaining.append(result)
    render(remaining, out, err, style)


def _verification(result: dict) -> str:
    checks = "; ".join(check["detail"] for check in result.get("checks", []))
    status = "verified" if result.get("ok") else f"verification failed: {result.get('problem')}"
    return f"{status}: max |difference| {result.get('max_abs_diff', float('nan')):.3g} in inference mode" + (
        f"; {checks}" if checks else ""
    )
