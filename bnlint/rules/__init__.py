"""The rule registry: one module per rule, each exporting RULE."""

from __future__ import annotations

from . import (
    bn001_frozen_base_training_call,
    bn002_slow_bn_momentum,
    bn003_tiny_batch_bn,
    bn004_trainable_after_compile,
    bn005_stale_moving_stats,
    bn006_invalid_moving_stats,
    bn007_renorm_without_warmup,
    bn008_bias_before_bn,
    bn009_bn_axis_mismatch,
    bn010_dropout_before_bn,
    bn011_legacy_frozen_bn,
    bn012_training_false_ignored,
    bn013_model_executes_code,
    bn014_pretrained_bn_unfrozen,
)
from .base import Example, Rule

_MODULES = (
    bn001_frozen_base_training_call,
    bn002_slow_bn_momentum,
    bn003_tiny_batch_bn,
    bn004_trainable_after_compile,
    bn005_stale_moving_stats,
    bn006_invalid_moving_stats,
    bn007_renorm_without_warmup,
    bn008_bias_before_bn,
    bn009_bn_axis_mismatch,
    bn010_dropout_before_bn,
    bn011_legacy_frozen_bn,
    bn012_training_false_ignored,
    bn013_model_executes_code,
    bn014_pretrained_bn_unfrozen,
)

RULES: dict[str, Rule] = {module.RULE.code: module.RULE for module in _MODULES}

__all__ = ["RULES", "Rule", "Example", "select"]


def select(select_codes: list[str] | None = None, ignore_codes: list[str] | None = None) -> list[Rule]:
    """Rules enabled by --select/--ignore; a code may be a prefix ("BN00" or "BN")."""

    def matches(code: str, patterns: list[str]) -> bool:
        return any(code.startswith(p.strip().upper()) for p in patterns if p.strip())

    chosen = [r for r in RULES.values() if not select_codes or matches(r.code, select_codes)]
    return [r for r in chosen if not ignore_codes or not matches(r.code, ignore_codes)]
