"""The script pipeline: source -> AST -> script facts -> rules, located and filtered.

Scripts are parsed with `ast` and never imported or run.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from ..context import TrainingContext
from ..diagnostics import Diagnostic
from ..errors import InputError
from .facts import extract
from .notebook import read_notebook
from .objects import ScriptFacts
from .source import Source, read_script
from .suppress import scan
from .versions import resolve

# A file that mentions none of these cannot build a Keras model: nothing to interpret.
KERAS_WORDS = ("keras", "tensorflow")


@dataclass
class ScriptResult:
    diagnostics: list[Diagnostic]
    facts: ScriptFacts | None
    description: str
    notes: list[str] = field(default_factory=list)  # what bnlint could not follow


def load(path: str, kind: str) -> Source:
    return read_notebook(path) if kind == "notebook" else read_script(path)


def parse(source: Source, path: str) -> ast.Module:
    try:
        return ast.parse(source.text, filename=path)
    except SyntaxError as exc:
        cell, line = source.locate(exc.lineno or 0)
        where = f"cell {cell}, line {line}" if cell is not None else f"line {line}"
        raise InputError(f"syntax error at {where}: {exc.msg}") from None
    except (ValueError, RecursionError, MemoryError) as exc:
        raise InputError(f"cannot parse as Python ({exc})") from None


# "line 15" in a message means a line of the joined cells: a reader needs "cell 5, line 3".
LINE_REFERENCE = re.compile(r"\bline (\d+)\b")


def _cell_lines(source: Source, message: str) -> str:
    def relocate(match: re.Match) -> str:
        cell, line = source.locate(int(match[1]))
        return f"cell {cell}, line {line}" if cell is not None else match[0]

    return LINE_REFERENCE.sub(relocate, message)


def lint_script(path: str, kind: str, checks: Iterable, context: TrainingContext, keras_version: str | None):
    """Diagnostics of one script or notebook, located and filtered by suppressions.

    `checks` are the selected rules' `check_script` functions."""
    source = load(path, kind)
    tree = parse(source, path)
    if not any(word in source.text for word in KERAS_WORDS):
        return ScriptResult([], None, "no Keras imports")
    try:
        facts = extract(tree, source.text)
    except RecursionError:
        raise InputError("too deeply nested for bnlint to analyse") from None
    facts.generation, facts.keras_version, facts.keras_how = resolve(facts.flavours, facts.legacy_env, keras_version)
    suppressions = scan(source.text)
    found: list[Diagnostic] = []
    for check in checks:
        for diagnostic in check(facts, context):
            if suppressions.hides(diagnostic.code, diagnostic.line):
                continue
            if source.cells:
                diagnostic.message = _cell_lines(source, diagnostic.message)
                if diagnostic.line is not None:
                    diagnostic.cell, diagnostic.line = source.locate(diagnostic.line)
            found.append(diagnostic)
    notes = []
    for line, text in facts.notes:
        cell, line = source.locate(line)
        notes.append(f"{'' if cell is None else f'cell {cell}, '}line {line}: {text}")
    return ScriptResult(found, facts, facts.keras_how, notes)
