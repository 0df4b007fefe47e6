"""The human rule catalogue in rules/ is generated from the rule definitions."""

from __future__ import annotations

from pathlib import Path

from bnlint.rules import RULES
from bnlint.rules.docs import catalogue

ROOT = Path(__file__).resolve().parent.parent


def test_rules_folder_is_up_to_date():
    expected = catalogue()
    actual = {path.name: path.read_text() for path in (ROOT / "rules").glob("*.md")}
    assert actual == expected, "rules/ is stale: run `python -m bnlint.rules.docs`"


def test_every_rule_is_documented_with_examples():
    for rule in RULES.values():
        assert rule.code.startswith("BN") and rule.name == rule.name.lower()
        assert rule.what and rule.why and rule.fix_text and rule.fix_safety
        assert any(e.fires_on for e in rule.examples), f"{rule.code} has no example that fires"
        assert any(not e.fires_on for e in rule.examples), f"{rule.code} has no example that stays silent"


def test_module_names_match_codes_and_names():
    """bnNNN_<name>.py holds rule BNNNN <name>: the registry discovers rules by this."""
    import bnlint.rules as registry

    for module in registry._MODULES:
        rule = module.RULE
        assert module.__name__.rsplit(".", 1)[1] == f"{rule.code.lower()}_{rule.name.replace('-', '_')}"
