"""The rule registry: one module per rule, each exporting RULE."""

from __future__ import annotations

import importlib
import pkgutil
import re

from .base import Example, Rule

# Every module named bnNNN_<rule-name> is a rule; the registry is ordered by code.
_MODULES = [
    importlib.import_module(f"{__name__}.{info.name}")
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda info: info.name)
    if re.fullmatch(r"bn\d{3}_\w+", info.name)
]

RULES: dict[str, Rule] = {module.RULE.code: module.RULE for module in _MODULES}

__all__ = ["RULES", "Rule", "Example", "select"]


def select(select_codes: list[str] | None = None, ignore_codes: list[str] | None = None) -> list[Rule]:
    """Rules enabled by --select/--ignore; a code may be a prefix ("BN00" or "BN")."""

    def matches(code: str, patterns: list[str]) -> bool:
        return any(code.startswith(p.strip().upper()) for p in patterns if p.strip())

    chosen = [r for r in RULES.values() if not select_codes or matches(r.code, select_codes)]
    return [r for r in chosen if not ignore_codes or not matches(r.code, ignore_codes)]
