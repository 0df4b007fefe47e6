"""Fixes of scripts as text edits: located by the AST positions of the original text and
applied so that everything else (comments, quotes, indentation, line endings, a missing final
newline) stays byte for byte as it was.

Edits (see Edit in diagnostics.py), kind "text":
- key "call-kwarg": target "LINE:COL" is a call (COL counted from 1, as findings count);
  `new` ("training=False", "momentum=0.9") becomes its last argument, or the keyword's new
  value when the call passes it already (never for `training`).
- key "insert-statement": target "LINE" is a statement; the line `new` is inserted after it
  (after the whole loop when the statement sets something on the loop's variable), with its
  indentation. The name BatchNormalization in `new` is spelled as the script imports it (an
  import of it is added only when the script has none to spell it with).
- key "functional-wrapper": target "LINE:COL" is `NAME = Sequential([base, layer, ...])`; the
  statement becomes the functional model that calls the base `new` with training=False (only
  for that simple form, and never when it would lose a comment or reuse a name in use).
"""

from __future__ import annotations

import ast
import io
import re
import tokenize
from dataclasses import dataclass

from .diagnostics import Edit

KEYS = ("call-kwarg", "insert-statement", "functional-wrapper")
LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+$")


class NotApplicable(Exception):
    """An edit that cannot be made on this text (the reason is the message)."""


@dataclass(frozen=True)
class Span:
    start: int  # character offsets in the text
    end: int
    text: str


def plan(text: str, edits: tuple[Edit, ...]) -> list[Span]:
    """Where and what each edit changes in `text`; NotApplicable when one cannot be made."""
    tree = ast.parse(text)
    lines = LINE.findall(text)  # as Python counts lines (str.splitlines also splits at \f, \x1c, ...)
    starts = [0]
    for line in lines:
        starts.append(starts[-1] + len(line))
    return [span for edit in edits for span in _spans(tree, text, lines, starts, edit)]


def overlaps(spans: list[Span], others: list[Span]) -> bool:
    """Whether two different edits would touch the same place (an identical one is the same edit)."""
    return any(a != b and (a.start == b.start or a.start < b.end and b.start < a.end) for a in spans for b in others)


def apply(text: str, spans: list[Span]) -> str:
    for span in sorted(set(spans), key=lambda s: s.start, reverse=True):
        text = text[: span.start] + span.text + text[span.end :]
    return text


def _spans(tree: ast.Module, text: str, lines: list[str], starts: list[int], edit: Edit) -> list[Span]:
    def offset(line: int, byte_col: int) -> int:  # ast columns are UTF-8 byte offsets
        return starts[line - 1] + len(lines[line - 1].encode("utf-8")[:byte_col].decode("utf-8", "replace"))

    if edit.key == "call-kwarg":
        line, col = (int(part) for part in edit.target.split(":"))
        name, value = str(edit.new).split("=", 1)
        # `Conv2D(64, 3)(x)`: two calls start here; a layer setting goes to the constructor
        # (the innermost), `training` to the call on the tensor (the outermost).
        call = _call_at(tree, line, col - 1, innermost=name != "training")
        given = next((keyword for keyword in call.keywords if keyword.arg == name), None)
        if given is not None and name == "training":
            raise NotApplicable("the call already passes training")
        if given is not None:  # momentum=0.99 -> momentum=0.9
            start = offset(given.value.lineno, given.value.col_offset)
            return [Span(start, offset(given.value.end_lineno, given.value.end_col_offset), value)]
        arguments = [*call.args, *call.keywords]
        if arguments:
            last = max(arguments, key=lambda node: (node.end_lineno, node.end_col_offset))
            at = offset(last.end_lineno, last.end_col_offset)
            return [Span(at, at, f", {edit.new}")]
        at = offset(call.end_lineno, call.end_col_offset) - 1  # before the closing parenthesis
        return [Span(at, at, str(edit.new))]
    if edit.key == "insert-statement":
        statement, enclosing = _statement_at(tree, int(edit.target))
        first = lines[statement.lineno - 1]
        indent = first[: len(first) - len(first.lstrip())]
        if first[len(indent) :].encode("utf-8")[: statement.col_offset - len(indent.encode())].strip():
            raise NotApplicable("the statement shares its line with another")
        newline = "\r\n" if first.endswith("\r\n") else "\n"
        at = starts[statement.end_lineno]
        before = "" if text[:at].endswith(("\n", "\r")) else newline  # a missing final newline
        code, imported = _receiver_in_scope(tree, str(edit.new), statement, enclosing), []
        if "BatchNormalization" in code:
            spelling, imported = bn_spelling(tree, starts, newline, at)
            code = re.sub(r"\bBatchNormalization\b", spelling, code)
        unit = "\t" if re.search(r"^\t", text, re.M) else "    "  # the file's indentation step
        body = "".join(f"{indent}{_reindent(line.rstrip(chr(13)), unit)}{newline}" for line in code.split("\n"))
        return [*imported, Span(at, at, f"{before}{body}")]
    if edit.key == "functional-wrapper":
        line, col = (int(part) for part in edit.target.split(":"))
        return [_functional(tree, text, lines, starts, _call_at(tree, line, col - 1, innermost=False), str(edit.new))]
    raise NotApplicable(f"source fix '{edit.key}' is not applied yet")


def _reindent(line: str, unit: str) -> str:
    """A line of inserted code, its leading groups of four spaces in the file's own step."""
    stripped = line.lstrip(" ")
    return unit * ((len(line) - len(stripped)) // 4) + " " * ((len(line) - len(stripped)) % 4) + stripped


def _call_at(tree: ast.Module, line: int, col: int, innermost: bool) -> ast.Call:
    calls = [
        node for node in ast.walk(tree) if isinstance(node, ast.Call) and (node.lineno, node.col_offset) == (line, col)
    ]
    if not calls:
        raise NotApplicable(f"no call at line {line}")
    return calls[-1] if innermost else calls[0]  # ast.walk meets the outer call first


def _statement_at(tree: ast.Module, line: int) -> tuple[ast.stmt, list[ast.stmt]]:
    """The innermost statement starting at `line`, or the loop over layers that holds it; and
    the statements that enclose it, outermost first."""
    found: list[ast.stmt] = []  # enclosing statements, outermost first

    def visit(body: list[ast.stmt], chain: list[ast.stmt]) -> None:
        for statement in body:
            if statement.lineno <= line <= (statement.end_lineno or statement.lineno):
                here = [*chain, statement]
                if statement.lineno == line:
                    found[:] = here
                for field in ("body", "orelse", "finalbody", "handlers"):
                    inner = getattr(statement, field, None)
                    if isinstance(inner, list):
                        visit([s for s in inner if isinstance(s, ast.stmt)] + _handler_bodies(inner), here)

    visit(tree.body, [])
    if not found:
        raise NotApplicable(f"no statement starts at line {line}")
    return _after_layer_loops(found), found


def _after_layer_loops(found: list[ast.stmt]) -> ast.stmt:
    statement = found[-1]
    # After the whole loop over the layers (not once per layer): climb through the `for` loops
    # whose variable the statement uses, and the `if`s between them; stop at any other block
    # (a loop over several backbones keeps the insertion inside it).
    used = {node.id for node in ast.walk(statement) if isinstance(node, ast.Name)}
    for outer in reversed(found[:-1]):
        if isinstance(outer, ast.For) and used & {n.id for n in ast.walk(outer.target) if isinstance(n, ast.Name)}:
            statement = outer
        elif not isinstance(outer, ast.If):
            break
    return statement


def _receiver_in_scope(tree: ast.Module, code: str, statement: ast.stmt, enclosing: list[ast.stmt]) -> str:
    """`for layer in NAME.layers: ...` must name an object bound where it goes: a base built in
    one function and unfrozen in another (`for layer in model.layers[172:]`) is reached through
    the object that statement loops over; otherwise the fix is not made."""
    match = re.match(r"for \w+ in (\w+)\.layers\b", code)
    if match is None:
        return code
    function = next((s for s in reversed(enclosing) if isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef))), None)
    bound = _bound_names(tree.body) | (_bound_names(function.body, function.args) if function else set())
    bound |= {node.id for node in ast.walk(statement) if isinstance(node, ast.Name)}  # the script uses it here
    if match[1] in bound:
        return code
    # The object whose layers the statement walks: `for layer in model.layers[172:]`,
    # `for i in range(len(model.layers))`, `for layer in self.model.layers`.
    where = statement.iter if isinstance(statement, ast.For) else statement
    for node in ast.walk(where):
        if isinstance(node, ast.Attribute) and node.attr == "layers" and _root(node.value) in bound:
            return code.replace(f" in {match[1]}.layers", f" in {ast.unparse(node.value)}.layers", 1)
    raise NotApplicable(f"'{match[1]}' is not defined where the fix would go")


def _root(node: ast.expr) -> str | None:
    """'self' for self.model: the name a chain of attributes starts from (None for a call...)."""
    while isinstance(node, ast.Attribute):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


def _bound_names(body: list[ast.stmt], args: ast.arguments | None = None) -> set[str]:
    """Names a block binds (not inside the functions and classes it defines)."""
    names = {a.arg for a in (*args.posonlyargs, *args.args, *args.kwonlyargs)} if args else set()
    pending = list(body)
    while pending:
        node = pending.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
            continue
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
        elif isinstance(node, ast.Global):
            names.update(node.names)
        pending.extend(ast.iter_child_nodes(node))
    return names


def _handler_bodies(items: list) -> list[ast.stmt]:
    return [s for item in items if isinstance(item, ast.ExceptHandler) for s in item.body]


def bn_spelling(tree: ast.Module, starts: list[int], newline: str, before: int) -> tuple[str, list[Span]]:
    """How this script can name the BN class (its own import of it, else through the `layers`,
    `keras` or `tf` it imports), and the import to add when it has none of them but does import
    from a Keras package (`from keras.layers import Dense`): `from keras.layers import
    BatchNormalization` after the first such top-level import, which must come before `before`."""
    modules: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if _keras_root(node.module) is not None:
                for alias in node.names:
                    bound = alias.asname or alias.name
                    if alias.name == "BatchNormalization" and node.module.endswith("layers"):
                        return bound, []
                    if alias.name in ("layers", "keras"):
                        modules.setdefault(alias.name, bound)
            elif node.module == "tensorflow":
                for alias in node.names:
                    if alias.name == "keras":
                        modules.setdefault("keras", alias.asname or "keras")
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name in ("keras", "tf_keras"):
                    modules.setdefault("keras", alias.asname or alias.name)
                elif alias.name == "tensorflow":
                    modules.setdefault("tf", alias.asname or "tensorflow")
                elif alias.name.endswith("keras.layers") and alias.asname:
                    modules.setdefault("layers", alias.asname)
    if "layers" in modules:
        return f"{modules['layers']}.BatchNormalization", []
    if "keras" in modules:
        return f"{modules['keras']}.layers.BatchNormalization", []
    if "tf" in modules:
        return f"{modules['tf']}.keras.layers.BatchNormalization", []
    for node in tree.body:
        names = [node.module] if isinstance(node, ast.ImportFrom) and node.level == 0 else []
        names += [alias.name for alias in node.names] if isinstance(node, ast.Import) else []
        root = next((_keras_root(name) for name in names if name and _keras_root(name)), None)
        if root is not None and starts[node.end_lineno] <= before:
            at = starts[node.end_lineno]
            return "BatchNormalization", [Span(at, at, f"from {root}.layers import BatchNormalization{newline}")]
    # A fragment copied from a notebook uses `keras`, `tf` or `layers` without importing them:
    # the fix speaks the fragment's own convention.
    used = {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)}
    for name, spelling in CONVENTIONAL:
        if name in used:
            return spelling, []
    raise NotApplicable("the script imports no Keras module to name BatchNormalization with")


CONVENTIONAL = (
    ("layers", "layers.BatchNormalization"),
    ("keras", "keras.layers.BatchNormalization"),
    ("tf", "tf.keras.layers.BatchNormalization"),
)


def _keras_root(module: str) -> str | None:
    """'keras' for keras.layers, 'tensorflow.keras' for tensorflow.keras.applications.resnet."""
    parts = module.split(".")
    for index, part in enumerate(parts):
        if part in ("keras", "tf_keras"):
            return ".".join(parts[: index + 1])
    return None


def _functional(tree: ast.Module, text: str, lines: list[str], starts: list[int], call: ast.Call, base: str) -> Span:
    """`model = keras.Sequential([base, L1, L2])` -> the same layers called on an Input, the base
    with training=False, in a keras.Model of the same name."""
    statement = next(
        (
            node
            for node in ast.walk(tree)
            if isinstance(node, ast.Assign)
            and node.value is call
            and len(node.targets) == 1
            and isinstance(node.targets[0], ast.Name)
        ),
        None,
    )
    prefix = _sequential_prefix(call.func)
    if (
        statement is None
        or prefix is None
        or len(call.args) != 1
        or not isinstance(call.args[0], (ast.List, ast.Tuple))
    ):
        raise NotApplicable("only `NAME = keras.Sequential([base, ...])` is rewritten; build it as a functional model")
    if any(keyword.arg != "name" for keyword in call.keywords):
        raise NotApplicable("the Sequential call has arguments a functional model does not take")
    elements = list(call.args[0].elts)
    given_input = None
    if elements and isinstance(elements[0], ast.Call) and _called_name(elements[0]).endswith("Input"):
        given_input = ast.get_source_segment(text, elements.pop(0))
    if not elements or not (isinstance(elements[0], ast.Name) and elements[0].id == base):
        raise NotApplicable(f"'{base}' is not the first layer of the Sequential list")
    segment = "".join(lines[statement.lineno - 1 : statement.end_lineno])
    if any(t.type == tokenize.COMMENT for t in tokenize.generate_tokens(io.StringIO(segment).readline)):
        raise NotApplicable("a comment inside the Sequential list would be lost")
    model = statement.targets[0].id
    names = (f"{model}_input", f"{model}_x")
    if set(names) & _all_names(tree):
        raise NotApplicable(f"the names {names[0]} / {names[1]} are already in use")
    first = lines[statement.lineno - 1]
    indent = first[: len(first) - len(first.lstrip())]
    newline = "\r\n" if first.endswith("\r\n") else "\n"
    source = given_input or f"{prefix}.Input(shape={base}.input.shape[1:])"
    body = [f"{names[0]} = {source}", f"{names[1]} = {base}({names[0]}, training=False)"]
    body += [f"{names[1]} = {ast.get_source_segment(text, layer)}({names[1]})" for layer in elements[1:]]
    name = next((k for k in call.keywords if k.arg == "name"), None)
    extra = f", name={ast.get_source_segment(text, name.value)}" if name else ""
    body.append(f"{model} = {prefix}.Model({names[0]}, {names[1]}{extra})")
    start = starts[statement.lineno - 1] + len(indent)
    end = starts[statement.end_lineno - 1] + len(
        lines[statement.end_lineno - 1].encode("utf-8")[: statement.end_col_offset].decode("utf-8", "replace")
    )
    return Span(start, end, (newline + indent).join(body))


def _sequential_prefix(func: ast.expr) -> str | None:
    """'keras' for keras.Sequential / keras.models.Sequential, 'tf.keras' for tf.keras.Sequential:
    where Input and Model are found."""
    if not (isinstance(func, ast.Attribute) and func.attr == "Sequential"):
        return None
    dotted = ast.unparse(func.value)
    if dotted.endswith(".models"):
        dotted = dotted[: -len(".models")]
    return dotted if dotted.split(".")[-1] in ("keras", "tf_keras") else None


def _called_name(call: ast.Call) -> str:
    return ast.unparse(call.func)


def _all_names(tree: ast.Module) -> set[str]:
    return {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)}
