"""Every rule example, built with real Keras 3 and tf_keras and saved in every
format, makes its rule fire exactly where the example says."""

from __future__ import annotations

import pytest

import bnlint
from bnlint.rules import RULES

from recipes import RECIPES

CASES = [
    pytest.param(rule.code, index, generation, fmt, id=f"{rule.code}-{index}-{generation}-{fmt}")
    for rule in RULES.values()
    for index, example in enumerate(rule.examples)
    if example.kind == "model"
    for generation in ("keras3", "keras2")
    for fmt in RECIPES[f"{rule.code}-{index}"].formats
    if not (fmt == "savedmodel" and generation == "keras3")
]


@pytest.mark.parametrize("code, index, generation, fmt", CASES)
def test_example(models, code, index, generation, fmt):
    example = RULES[code].examples[index]
    path = models.path(f"{code}-{index}", generation, fmt)
    report = bnlint.lint(str(path), **example.context)
    [result] = report["files"]
    assert result["error"] is None
    codes = [d["code"] for d in result["diagnostics"]]
    if generation in example.fires_on:
        assert code in codes, f"{example.title!r} should fire {code} on {generation}; got {codes}"
    else:
        assert code not in codes, f"{example.title!r} must not fire {code} on {generation}; got {result['diagnostics']}"


HEADLINE = 100  # characters: a headline fits one line of a terminal; the numbers go to the detail


def headlines_fit(report: dict) -> None:
    for result in report["files"]:
        for d in result["diagnostics"]:
            assert len(d["message"]) <= HEADLINE, (result["path"], d["message"])
            assert d["detail"], (result["path"], d["code"], "a finding without its numbers and remedy")


@pytest.mark.parametrize("code, index, generation, fmt", CASES)
def test_headlines_are_short_and_details_present(models, code, index, generation, fmt):
    example = RULES[code].examples[index]
    headlines_fit(bnlint.lint(str(models.path(f"{code}-{index}", generation, fmt)), **example.context))


def test_script_headlines_are_short_and_details_present():
    from pathlib import Path

    root = Path(__file__).resolve().parent
    report = bnlint.lint([str(root / "scripts"), str(root.parent / "examples")])
    assert sum(len(f["diagnostics"]) for f in report["files"]) > 50  # the check covers many findings
    headlines_fit(report)
