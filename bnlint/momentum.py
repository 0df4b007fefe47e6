"""Arithmetic of BN moving averages: after T updates a fraction m**T of the
initial (pretrained) statistic remains; the time constant is 1/(1-m) steps."""

from __future__ import annotations

import math

FORGET_STEPS = 5  # time constants after which < 1% (e**-5 = 0.7%) of the old value is left
FLOOR = 0.9


def time_constant(momentum: float) -> float:
    return math.inf if momentum >= 1 else 1.0 / (1.0 - momentum)


def remaining(momentum: float, steps: int) -> float:
    return momentum**steps


def steps_to_one_percent(momentum: float) -> int:
    if momentum >= 1:
        return 0
    if momentum <= 0:
        return 1
    return math.ceil(math.log(0.01) / math.log(momentum))


def suggested(steps: int | None, factor: int = FORGET_STEPS) -> float:
    """max(0.9, 1 - factor/T): forget the old statistics within the horizon, never below 0.9."""
    if not steps:
        return FLOOR
    return round(max(FLOOR, 1.0 - factor / steps), 4)


def pct(fraction: float) -> str:
    value = fraction * 100
    if value >= 10:
        return f"{value:.0f}%"
    if value >= 0.1:
        return f"{value:.1f}%"
    return f"{value:.2g}%"


def describe(momentum: float) -> str:
    """'momentum 0.99 (time constant 100 steps; 37% left after 100 steps, 1% after 459)'."""
    tau = time_constant(momentum)
    return (
        f"momentum {momentum:g} (time constant {tau:.0f} steps; "
        f"{pct(remaining(momentum, 100))} of the old statistics left after 100 steps, "
        f"1% after {steps_to_one_percent(momentum)})"
    )
