"""Jupyter notebooks: code cells joined into one module, with IPython syntax masked.

Each cell keeps its own lines, so a finding maps back to (cell, line). Magics and
shell escapes (`%pip`, `!ls`, `%%time`) are not Python: they are replaced by a
`pass` of the same indentation so that line numbers stay put. A cell magic that
changes the language of the cell (`%%bash`, `%%writefile`) blanks the whole cell.
`%env TF_USE_LEGACY_KERAS=1` is kept as the equivalent `os.environ` assignment,
since it decides which Keras `tf.keras` is.
"""

from __future__ import annotations

import ast
import json
import re

from ..errors import InputError
from ..limits import MIB, current
from .brain import AUTOMAGICS, STATEMENT_MAGICS
from .source import Source

# Cell magics after which the cell still holds Python.
PYTHON_CELL_MAGICS = {"time", "timeit", "capture", "prun", "debug", "python", "python3", "tensorflow_version"}
ENV_MAGIC = re.compile(r"^\s*%env\s+(\w+)\s*[= ]\s*(\S+)\s*$")
IPYTHON_LINE = re.compile(r"^(\s*)(?:[%!]|\w+\s*=\s*[%!])")
HELP_LINE = re.compile(r"^\s*[\w.]+\?\??\s*$|^\s*\?")
# `name args` where args do not continue a Python expression (`history = model.fit(` is code).
AUTOMAGIC_LINE = re.compile(
    r"^(\s*)(%?)(" + "|".join(AUTOMAGICS) + r")(?:\s+(?!-[^A-Za-z-]|[=+*/%<>!.,:()\[\]|&^@'\"]|\w+\s*[=(])(.*)|\s*)$"
)


def parses(text: str) -> bool:
    try:
        ast.parse(text.strip())
    except (SyntaxError, ValueError):
        return False
    return True


def automagic(text: str) -> str | None:
    """The Python left of an IPython line magic or automagic (`pip install x`, `ls`,
    `%time model.fit(...)`): '' for none, None when the line is plain Python."""
    match = AUTOMAGIC_LINE.match(text)
    if match is None or (not match[2] and parses(text)):
        return None
    rest = (match[4] or "").strip()
    if match[3] in STATEMENT_MAGICS and rest and parses(rest):
        return rest  # `%time model.fit(...)` still trains
    return ""


def read_notebook(path: str) -> Source:
    limit = current().max_notebook_mib * MIB
    with open(path, "rb") as handle:
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise InputError(f"notebook is larger than {limit // MIB} MiB with its outputs (limit max-notebook-mib)")
    return notebook_source(data)


def notebook_source(data: bytes) -> Source:
    """The code cells of a notebook's bytes, joined into one Python text."""
    try:
        text = data.decode("utf-8-sig")
        del data  # the text and the parsed document are enough: a 100 MB notebook stays ~250 MB
        document = json.loads(text, object_hook=_without_outputs)
    except RecursionError:
        raise InputError("not a Jupyter notebook (JSON nested too deeply to read)") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"not a Jupyter notebook (invalid JSON: {exc})") from None
    cells = document.get("cells") if isinstance(document, dict) else None
    if not isinstance(cells, list):
        if isinstance(document, dict) and isinstance(document.get("worksheets"), list):
            raise InputError("nbformat 3 notebook: convert it with `jupyter nbconvert --to notebook`")
        raise InputError("not a Jupyter notebook (no 'cells' list)")
    return join_cells(cells)


def _without_outputs(value: dict) -> dict:
    """Outputs (images, logs: most of a big notebook) are dropped as they are parsed, so
    only one is in memory at a time; bnlint reads code cells only."""
    return {} if "output_type" in value else value


def join_cells(cells: list) -> Source:
    parts: list[str] = []
    starts: list[tuple[int, int]] = []
    line = 1
    for number, cell in enumerate(cells, start=1):
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        source = cell.get("source", "")
        text = "".join(source) if isinstance(source, list) else str(source)
        lines = mask(text.splitlines())
        if not lines:
            continue
        starts.append((line, number))
        parts.append("\n".join(lines))
        line += len(lines)
    return Source("\n".join(parts) + "\n", cells=tuple(starts))


def dedent(lines: list[str]) -> list[str]:
    """IPython's leading_indent: a cell whose first line is indented loses that indent on
    every line (such cells run in Jupyter, and are not a syntax error)."""
    first = next((line for line in lines if line.strip()), "")
    indent = first[: len(first) - len(first.lstrip())]
    if not indent:
        return lines
    return [line[len(indent) :] if line.startswith(indent) else line for line in lines]


def mask(lines: list[str]) -> list[str]:
    """Replace IPython-only lines by `pass` lines (same count, same indentation)."""
    lines = dedent(lines)
    if lines and lines[0].lstrip().startswith("%%"):
        magic = lines[0].lstrip()[2:].split(None, 1)[0] if lines[0].lstrip()[2:].strip() else ""
        if magic not in PYTHON_CELL_MAGICS:
            return ["pass"] + ["" for _ in lines[1:]]
        lines = ["pass", *lines[1:]]
    masked = []
    continued = False
    for text in lines:
        if continued:  # the tail of a magic continued with a backslash
            masked.append("")
            continued = text.rstrip().endswith("\\")
            continue
        env = ENV_MAGIC.match(text)
        magic = automagic(text) if not env else None
        if magic is not None:
            indent = text[: len(text) - len(text.lstrip())]
            masked.append(f"{indent}pass; {magic}" if magic else f"{indent}pass")
            continued = text.rstrip().endswith("\\")
        elif env:
            indent = text[: len(text) - len(text.lstrip())]
            masked.append(f"{indent}os.environ[{env[1]!r}] = {env[2]!r}")
        elif IPYTHON_LINE.match(text) or HELP_LINE.match(text):
            indent = text[: len(text) - len(text.lstrip())]
            masked.append(f"{indent}pass")
            continued = text.rstrip().endswith("\\")
        else:
            masked.append(text)
    return masked
