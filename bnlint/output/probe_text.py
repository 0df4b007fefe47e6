"""Human output of `bnlint probe` (a table of the shift per BN layer, in network order,
and the verdict with its numbers) and of `bnlint recalibrate` (a short summary)."""

from __future__ import annotations

import math
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

PIPE_WIDTH = 140  # rich assumes 80 columns when stdout is not a terminal: too narrow for the table
CLOSE_ADVICE = "keep BN frozen (tf_keras: `training=False`; Keras 3: BN `trainable=False`)"
FAR_ADVICE = "let BN adapt: momentum 0.9 (BN002's fix), or `bnlint recalibrate`"


def render_probe(report: dict[str, Any], data: str, out: Console) -> None:
    if not out.is_terminal and out.width < PIPE_WIDTH:
        out.width = PIPE_WIDTH
    rows, threshold = report["layers"], report["threshold"]
    out.print(
        f"[bold]{escape(report['path'])}[/]: keras_version {escape(report['keras_version'] or 'unknown')}, "
        f"{len(rows)} BN layer{'s' * (len(rows) != 1)}, {report['samples']} samples from {escape(data)}",
        soft_wrap=True,
    )
    table = Table(pad_edge=False)
    for column, justify in (
        ("#", "right"),
        ("layer", "left"),
        ("channels", "right"),
        ("mean shift", "right"),
        ("log var ratio", "right"),
        ("score", "right"),
    ):
        table.add_column(column, justify=justify, overflow="fold")
    for depth, row in enumerate(rows, start=1):
        score = f"{row['score']:.3f}"
        table.add_row(
            str(depth),
            escape(row["path"]),
            str(row["channels"]),
            f"{row['mean_shift']:.3f}",
            f"{row['log_var_ratio']:.3f}",
            score if row["score"] <= threshold else f"[red]{score}[/]",
        )
    out.print(table)
    out.print(verdict_line(report), soft_wrap=True)


def verdict_line(report: dict[str, Any]) -> str:
    """The last line: the verdict, the numbers behind it and what to do."""
    rows, score, threshold = report["layers"], report["score"], report["threshold"]
    far = [row for row in rows if not row["score"] <= threshold]  # NaN: broken statistics count as far
    numbers = f"score {score:.3f} {'>' if report['verdict'] == 'far' else '<='} threshold {threshold:g}"
    numbers += f", {len(far)} of {len(rows)} BN layers above it"
    if far:
        worst = max(far, key=lambda row: row["score"] if math.isfinite(row["score"]) else math.inf)
        numbers += f", largest {worst['score']:.3f} at {worst['path']}"
    if report["verdict"] == "far":
        return f"[bold red]far[/] ({escape(numbers)}): {escape(FAR_ADVICE)}"
    return f"[bold green]close[/] ({escape(numbers)}): {escape(CLOSE_ADVICE)}"


def render_recalibration(report: dict[str, Any], data: str, backup: str | None, out: Console) -> None:
    rows = report["layers"]
    prior = f"prior {report['prior']} pseudo-samples" if report["prior"] else "no prior: full replacement"
    out.print(
        f"[bold]{escape(report['path'])}[/]: recalibrated {len(rows)} BN layer{'s' * (len(rows) != 1)} "
        f"on {report['samples']} samples from {escape(data)} ({prior}; {report['passes']} "
        f"pass{'es' * (report['passes'] != 1)} over the data)",
        soft_wrap=True,
    )
    if rows:
        worst = max(rows, key=lambda row: row["score_before"])
        mean = sum(row["score_before"] for row in rows) / len(rows)
        out.print(
            f"shift before: mean score {mean:.3f}, largest {worst['score_before']:.3f} at {escape(worst['path'])}",
            soft_wrap=True,
        )
    written = f"written to {escape(report['output'])}"
    if backup:
        written += f" (original kept as {escape(backup)})"
    out.print(written, soft_wrap=True)
