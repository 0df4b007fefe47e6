"""A rule's documentation page, rendered from its definition (the `rules/` folder
and `bnlint rules CODE` both come from here)."""

from __future__ import annotations

from typing import Any

from .base import Rule

# "legacy": examples of kind "legacy", built by tf_keras and saved under a legacy keras_version.
GENERATIONS = {"keras3": "Keras 3", "keras2": "Keras 2 (tf_keras)", "legacy": "legacy Keras"}


def rule_markdown(rule: Rule) -> str:
    lines = [
        f"# {rule.code} {rule.name}",
        "",
        f"Default severity: **{rule.severity.value}**. {rule.summary}",
        "",
        "## What it does",
        "",
        rule.what,
        "",
        "## Why is this bad?",
        "",
        rule.why,
        "",
        "## Fix",
        "",
        rule.fix_text,
        "",
        f"Fix safety: {rule.fix_safety}",
    ]
    if rule.examples:
        lines += ["", "## Examples", ""]
        lines.append(
            "Each example is built and saved by the test suite with real Keras 3 and tf_keras, "
            "and linted. `make_base()` stands for a pretrained base with Conv2D and BatchNormalization layers."
        )
        if any(example.kind == "script" for example in rule.examples):
            lines.append(
                "Script examples are training scripts linted as source (never run), once for each Keras "
                "generation (`--keras-version 3` and `--keras-version 2`)."
            )
        for example in rule.examples:
            fires = (
                "fires on " + " and ".join(GENERATIONS[g] for g in sorted(example.fires_on, reverse=True))
                if example.fires_on
                else "no finding"
            )
            context = (
                " with " + ", ".join(f"--{k.replace('_', '-')} {v}" for k, v in example.context.items())
                if example.context
                else ""
            )
            kind = "script; " if example.kind == "script" else ""
            lines += ["", f"### {example.title} ({kind}{fires}{context})", "", "```python", example.code.strip(), "```"]
    return "\n".join(lines) + "\n"


def rule_json(rule: Rule) -> dict[str, Any]:
    return {
        "code": rule.code,
        "name": rule.name,
        "severity": rule.severity.value,
        "summary": rule.summary,
        "fix": rule.fix_text,
        "fix_safety": rule.fix_safety,
    }


def catalogue() -> dict[str, str]:
    """The top-level `rules/` folder: an index and one page per rule."""
    from . import RULES

    index = [
        "# bnlint rules",
        "",
        "Generated from the rule definitions by `python -m bnlint.rules.docs`; do not edit by hand.",
        "",
        "| code | name | severity | summary |",
        "|---|---|---|---|",
    ]
    pages = {}
    for rule in RULES.values():
        filename = f"{rule.code}-{rule.name}.md"
        index.append(f"| [{rule.code}]({filename}) | {rule.name} | {rule.severity.value} | {rule.summary} |")
        pages[filename] = rule_markdown(rule)
    return {"README.md": "\n".join(index) + "\n", **pages}


if __name__ == "__main__":
    import pathlib
    import sys

    folder = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "rules")
    folder.mkdir(exist_ok=True)
    for stale in folder.glob("*.md"):
        stale.unlink()
    for name, text in catalogue().items():
        (folder / name).write_text(text)
    print(f"wrote {len(catalogue())} files to {folder}/")
