"""The script pipeline: source -> AST -> script facts -> rules, located and filtered.

Scripts are parsed with `ast` and never imported or run.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable
from dataclasses import dataclass, field, replace

from ..context import TrainingContext
from ..diagnostics import Diagnostic
from ..errors import InputError
from .facts import extract
from .fragments import bound_names, defining_file
from .local_modules import find_module
from .notebook import notebook_source, read_notebook
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
    error: str | None = None  # a syntax error: only the statements before it were linted


def load(path: str, kind: str) -> Source:
    return read_notebook(path) if kind == "notebook" else read_script(path)


def parse(source: Source, path: str) -> ast.Module:
    try:
        return ast.parse(source.text, filename=path)
    except SyntaxError as exc:
        cell, line = source.locate(exc.lineno or 0)
        where = f"cell {cell}, line {line}" if cell is not None else f"line {line}"
        raise InputError(f"syntax error at {where}: {exc.msg}") from None
    except (RecursionError, MemoryError):
        raise InputError("cannot parse as Python (nested too deeply)") from None
    except ValueError as exc:
        raise InputError(f"cannot parse as Python ({exc or 'invalid source'})") from None


MAX_SKIPPED_STATEMENTS = 20


def parse_around_errors(source: Source, path: str) -> tuple[ast.Module, str | None]:
    """A script that does not parse: the first error, and the script linted without the
    top-level statements that do not parse (a notebook export keeps an IPython line; an
    edit left a comma out). Line numbers stay as they are."""
    try:
        return parse(source, path), None
    except InputError as exc:
        error = str(exc)
    lines = source.text.split("\n")
    skipped: list[str] = []
    for _ in range(MAX_SKIPPED_STATEMENTS):
        try:
            tree = ast.parse("\n".join(lines), filename=path)
        except SyntaxError as exc:
            first, last = statement_around(lines, (exc.lineno or 1) - 1)
            if all(line in ("pass", "") for line in lines[first:last]):
                break
            lines[first:last] = ["pass"] + [""] * (last - first - 1)
            skipped.append(f"{first + 1}" if last - first == 1 else f"{first + 1}-{last}")
            continue
        except (ValueError, RecursionError, MemoryError):
            break
        return (
            tree,
            f"{error}; line{'s' * (len(skipped) > 1 or '-' in skipped[0])} {', '.join(skipped)} skipped, the rest linted",
        )
    raise InputError(error)


def statement_around(lines: list[str], index: int) -> tuple[int, int]:
    """The top-level statement holding line `index`: from the last line that starts one
    (not indented, not a comment or closing bracket) to the next."""
    index = min(max(index, 0), len(lines) - 1)

    def starts(i: int) -> bool:
        return lines[i][:1] not in ("", " ", "\t", "#", ")", "]", "}")

    first = next((i for i in range(index, -1, -1) if starts(i)), index)
    last = next((i for i in range(index + 1, len(lines)) if starts(i)), len(lines))
    return first, last


def parse_cells(source: Source, path: str) -> tuple[Source, ast.Module, list[str]]:
    """A notebook whose cells parse except a few: those cells are blanked (line numbers
    kept) and named in a note; every other cell is still linted."""
    broken: list[str] = []
    for _ in range(len(source.cells)):
        try:
            return source, ast.parse(source.text, filename=path), broken
        except SyntaxError as exc:
            cell, line = source.locate(exc.lineno or 0)
            blanked = source.blank_cell(exc.lineno or 0)
            if cell is None or blanked is None:
                break
            broken.append(f"cell {cell} does not parse (line {line}: {exc.msg}); it was not linted")
            source = blanked
        except (ValueError, RecursionError, MemoryError):
            break
    return source, parse(source, path), broken


def reaches_other_files(tree: ast.Module, path: str) -> bool:
    """Whether a script without Keras imports of its own imports a module of its repository
    (`from cat_vs_dog.train import get_model`) or uses names another file of its folder
    defines (a notebook cut into files): the model may be built there."""
    used = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
    used -= bound_names(tree)
    if used and any(defining_file(path, name) for name in used):
        return True
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            if any(find_module(path, alias.name, 0) for alias in node.names):
                return True
        elif isinstance(node, ast.ImportFrom) and (node.module or node.level):
            if find_module(path, node.module or "", node.level):
                return True
    return False


# "line 15" in a message means a line of the joined cells: a reader needs "cell 5, line 3".
LINE_REFERENCE = re.compile(r"\bline (\d+)\b")


def _cell_lines(source: Source, message: str) -> str:
    def relocate(match: re.Match) -> str:
        cell, line = source.locate(int(match[1]))
        return f"cell {cell}, line {line}" if cell is not None else match[0]

    return LINE_REFERENCE.sub(relocate, message)


def lint_script(
    path: str,
    kind: str,
    checks: Iterable,
    context: TrainingContext,
    keras_version: str | None,
    text: str | None = None,
):
    """Diagnostics of one script or notebook, located and filtered by suppressions.

    `checks` are the selected rules' `check_script` functions; `text`, when given, is linted
    in place of the script's file (a fix checked before it is written)."""
    if text is None:
        source = load(path, kind)
    else:
        source = notebook_source(text.encode("utf-8")) if kind == "notebook" else Source(text)
    error = None
    if source.cells:
        source, tree, broken = parse_cells(source, path)
    else:
        (tree, error), broken = parse_around_errors(source, path), []
    if not any(word in source.text for word in KERAS_WORDS) and not reaches_other_files(tree, path):
        return ScriptResult([], None, "no Keras imports", broken, error)
    try:
        facts = extract(tree, source.text, path)
    except RecursionError:
        raise InputError("too deeply nested for bnlint to analyse") from None
    facts.generation, facts.keras_version, facts.keras_how = resolve(facts.flavours, facts.legacy_env, keras_version)
    if facts.assumed:
        facts.keras_how += "; " + "; ".join(facts.assumed)
    defaults = f" (with the script's defaults: {', '.join(facts.settings)})" if facts.settings else ""
    suppressions = scan(source.text)
    found: list[Diagnostic] = []
    lines: list[str] = []  # split only when a finding needs its source line
    for check in checks:
        for diagnostic in check(facts, context):
            if suppressions.hides(diagnostic.code, diagnostic.line):
                continue
            diagnostic.detail += defaults  # the headline stays short
            lines = lines or source.text.split("\n")
            if diagnostic.line is not None and 0 < diagnostic.line <= len(lines):
                diagnostic.extra["source_line"] = lines[diagnostic.line - 1]  # the full output's code frame
            if source.cells:
                diagnostic.message = _cell_lines(source, diagnostic.message)
                diagnostic.detail = _cell_lines(source, diagnostic.detail)
                if diagnostic.fix is not None:
                    diagnostic.fix = replace(
                        diagnostic.fix, description=_cell_lines(source, diagnostic.fix.description)
                    )
                if diagnostic.line is not None:
                    diagnostic.cell, diagnostic.line = source.locate(diagnostic.line)
            found.append(diagnostic)
    notes = list(broken)
    for line, text in facts.notes:
        cell, line = source.locate(line)
        notes.append(f"{'' if cell is None else f'cell {cell}, '}line {line}: {text}")
    return ScriptResult(found, facts, facts.keras_how, notes, error)
