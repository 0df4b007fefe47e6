"""Human output of `bnlint inspect`: one table row per BN layer, momenta at a glance."""

from __future__ import annotations

from collections import Counter
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from ..inventory import statistics_line

TRAINS = {True: "[yellow]yes[/]", False: "no", None: "?"}
PIPE_WIDTH = 160  # rich assumes 80 columns when stdout is not a terminal: too narrow for this table


def render(report: dict[str, Any], out: Console) -> None:
    if not out.is_terminal and out.width < PIPE_WIDTH:
        out.width = PIPE_WIDTH
    rows = report["bn_layers"]
    version = report.get("keras_version") or "unknown"
    out.print(
        f"[bold]{escape(report['path'])}[/]: keras_version {escape(version)} "
        f"({report.get('generation', '?')} semantics), {len(rows)} BN layer{'s' * (len(rows) != 1)}",
        soft_wrap=True,
    )
    if not rows:
        out.print("No BatchNormalization layers.")
    else:
        table = Table(show_lines=False, pad_edge=False)
        for column, justify in (
            ("path", "left"),
            ("momentum", "right"),
            ("1/(1-m)", "right"),
            ("epsilon", "right"),
            ("axis", "right"),
            ("trainable", "center"),
            ("γβ", "center"),
            ("renorm", "center"),
            ("trains", "center"),
            ("moving mean / variance", "left"),
        ):
            table.add_column(column, justify=justify, overflow="fold")
        for row in rows:
            table.add_row(
                escape(row["path"]),
                _number(row["momentum"]),
                _number(row["time_constant"], "{:,.0f}"),
                _number(row["epsilon"]),
                escape(str(row["axis"])),
                "yes" if row["trainable"] else "[bold]no[/]",
                ("γ" if row["scale"] else "") + ("β" if row["center"] else "") or "-",
                "yes" if row["renorm"] else "",
                TRAINS[row["trains"]],
                escape(statistics_line(row["statistics"])),
            )
        out.print(table)
        out.print(momentum_summary(rows), soft_wrap=True)
    for note in report.get("notes", []):
        out.print(f"[dim]note: {escape(note)}[/]", soft_wrap=True)


def momentum_summary(rows: list[dict[str, Any]]) -> str:
    """'Momenta: 52 with momentum 0.999 (time constant 1,000 steps).'; `trains` says whether
    a layer updates its statistics during fit() under the semantics of the Keras that saved it."""
    counts = Counter((row["momentum"], row["time_constant"]) for row in rows)
    parts = [
        f"{count} with momentum {_number(m)}" + (f" (time constant {tau:,.0f} steps)" if tau else "")
        for (m, tau), count in counts.most_common()
    ]
    return "Momenta: " + "; ".join(parts) + "."


def _number(value: Any, style: str = "{:g}") -> str:
    return style.format(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else "-"
