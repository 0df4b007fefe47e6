"""Script facts: what a training script does with Keras, read from its AST.

A small abstract interpreter walks the statements in program order (local functions
are followed where they are called, loops run their body once: the first iteration
is the one Keras traces) and records objects (pretrained bases, models, BN layers,
data) and events (compile, training, trainable changes). Anything it cannot resolve
becomes UNKNOWN, and the rules stay silent about unknown things: precision first.

Nothing is imported or executed: names are resolved through the script's own imports.
"""

from __future__ import annotations

import ast
from dataclasses import replace
from typing import Any

from .applications import lookup
from .keras_calls import KerasCalls
from .objects import (
    BN_NAMES,
    LINE_BREAK,
    MAX_DEPTH,
    UNKNOWN,
    Base,
    BNLayer,
    ClassName,
    Data,
    Elem,
    Event,
    Flags,
    Func,
    Layer,
    LayerList,
    Model,
    Obj,
    QName,
    ScriptFacts,
    Tensor,
    Use,
    canonical,
    class_name_test,
    int_or_none,
    is_environ,
    join_flags,
    merge_tensors,
    number,
    plain,
    pos,
)
from .trainable import TrainableAssignments


class _Frame:
    def __init__(self, names: dict[str, Any]):
        self.names = names
        self.returned: Any = UNKNOWN
        self.done = False


class Interpreter(KerasCalls, TrainableAssignments):
    def __init__(self, tree: ast.Module, text: str):
        self.tree = tree
        self.text = text
        self.lines: list[str] | None = None
        self.globals: dict[str, Any] = {}
        self.frames: list[_Frame] = [_Frame(self.globals)]
        self.flags: dict[Obj, Flags] = {}
        self.events: list[Event] = []
        self.bases: list[Base] = []
        self.models: list[Model] = []
        self.bns: list[BNLayer] = []
        self.flavours: set[str] = set()
        self.legacy_env = False
        self.star_apps = False
        self.called: set[str] = set()
        self.repeats: list[int | None] = []
        self.compiled: dict[Model, dict[Obj, Flags]] = {}
        self.traced: dict[Model, tuple[dict[Obj, Flags], int] | None] = {}
        self.self_models: dict[Base, Model] = {}
        self.renorm_schedule = False
        self.notes: list[tuple[int, str]] = []  # (line, what could not be followed)
        self.stack: list[Func] = []
        self.loops: list[str] = []  # headers of the enclosing `for layer in <layers>` loops
        self.assigned: ast.AST = ast.Constant(None)  # the value node of the assignment being bound

    # -- driving

    def run(self) -> ScriptFacts:
        self.block(self.tree.body)
        for node in self.tree.body:  # functions nobody calls are entry points of their own
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name not in self.called:
                self.call_function(Func(node), [], {})
        return ScriptFacts(
            self.flavours,
            self.legacy_env,
            self.bases,
            self.models,
            self.bns,
            self.events,
            dict(self.flags),
            self.renorm_schedule,
            self.notes,
        )

    def block(self, statements: list[ast.stmt]) -> None:
        frame = self.frames[-1]
        for statement in statements:
            if frame.done:
                return
            handler = getattr(self, "s_" + type(statement).__name__, None)
            if handler is not None:
                handler(statement)

    def segment(self, node: ast.AST) -> str:
        """The source of a node (ast.get_source_segment re-splits the whole file per call)."""
        if self.lines is None:
            self.lines = [line + "\n" for line in LINE_BREAK.split(self.text)]  # ast's own line numbering
        try:
            first, last = node.lineno - 1, node.end_lineno - 1
            lines = [line.encode() for line in self.lines[first : last + 1]]  # offsets count UTF-8 bytes
        except (AttributeError, TypeError):
            return ""
        if not lines:
            return ""
        if first == last:
            return lines[0][node.col_offset : node.end_col_offset].decode(errors="replace")
        lines[0], lines[-1] = lines[0][node.col_offset :], lines[-1][: node.end_col_offset]
        return b"".join(lines).decode(errors="replace")

    def note(self, node: ast.AST, text: str) -> None:
        """Something bnlint could not follow, said once per line (it explains a silence)."""
        entry = (node.lineno, text)
        if entry not in self.notes:
            self.notes.append(entry)

    def emit(self, event_type: type, node: ast.AST, **values: Any) -> Event:
        event = event_type(pos=pos(node), seq=len(self.events), **values)
        self.events.append(event)
        return event

    # -- names

    def lookup(self, name: str) -> Any:
        for frame in (self.frames[-1], self.frames[0]):
            if name in frame.names:
                return frame.names[name]
        if name == "__name__":
            return "__main__"
        if self.star_apps and lookup(name) is not None:
            return QName(f"keras.applications.{name}")
        return UNKNOWN

    def bind(self, target: ast.expr, value: Any) -> None:
        if isinstance(target, ast.Name):
            self.frames[-1].names[target.id] = value
            if isinstance(value, Obj) and len(self.frames) < value.scope:
                value.name, value.scope = target.id, len(self.frames)
        elif isinstance(target, (ast.Tuple, ast.List)):
            items = value if isinstance(value, (list, tuple)) and len(value) == len(target.elts) else None
            for index, element in enumerate(target.elts):
                self.bind(element, items[index] if items is not None else UNKNOWN)
        elif isinstance(target, ast.Attribute):
            self.set_attribute(target, value)
        elif isinstance(target, ast.Subscript):
            self.set_item(target, value)

    # -- statements

    def s_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self.note_flavour(alias.name)
            if alias.asname:
                self.frames[-1].names[alias.asname] = QName(alias.name)
            else:
                root = alias.name.split(".", 1)[0]
                self.frames[-1].names[root] = QName(root)

    def s_ImportFrom(self, node: ast.ImportFrom) -> None:
        module = node.module or ""
        self.note_flavour(module)
        for alias in node.names:
            if alias.name == "*":
                if canonical(module)[1].startswith("keras.applications"):
                    self.star_apps = True
                continue
            self.frames[-1].names[alias.asname or alias.name] = QName(f"{module}.{alias.name}")
            self.note_flavour(f"{module}.{alias.name}")

    def note_flavour(self, path: str) -> None:
        flavour, _ = canonical(path)
        if flavour:
            self.flavours.add(flavour)

    def s_Assign(self, node: ast.Assign) -> None:
        value = self.ev(node.value)
        self.assigned = node.value
        for target in node.targets:
            self.bind(target, value)

    def s_AnnAssign(self, node: ast.AnnAssign) -> None:
        if node.value is not None:
            self.assigned = node.value
            self.bind(node.target, self.ev(node.value))

    def s_AugAssign(self, node: ast.AugAssign) -> None:
        value = self.binop(node.op, self.ev(node.target), self.ev(node.value))
        self.bind(node.target, value)

    def s_Expr(self, node: ast.Expr) -> None:
        self.ev(node.value)

    def s_If(self, node: ast.If) -> None:
        test = self.ev(node.test)
        if test is not UNKNOWN and not isinstance(test, (Obj, Tensor, Data, QName, LayerList, Elem)):
            self.block(node.body if test else node.orelse)
            return
        self.branches(node.body, node.orelse)

    def branches(self, body: list[ast.stmt], orelse: list[ast.stmt]) -> None:
        """Both ways of an unknown condition; flags that differ become unknown."""
        before = dict(self.flags)
        self.block(body)
        after_body, self.flags = self.flags, dict(before)
        self.block(orelse)
        for obj in set(after_body) | set(self.flags):
            mine, theirs = self.flags.get(obj), after_body.get(obj)
            if mine is None or theirs is None or not mine.same(theirs):
                self.flags[obj] = join_flags(mine, theirs, obj)
        self.frames[-1].done = False

    def s_For(self, node: ast.For) -> None:
        source = self.ev(node.iter)
        numbered = isinstance(source, tuple) and len(source) == 2 and source[0] == "enumerate"
        items = source[1] if numbered else source
        if isinstance(items, LayerList):
            self.loops.append(f"for {self.segment(node.target)} in {self.segment(node.iter)}: ")
            for kind in ("bn", "other"):
                element = Elem(items, kind)
                self.bind(node.target, (UNKNOWN, element) if numbered else element)
                self.block(node.body)
                self.frames[-1].done = False
            self.loops.pop()
        else:
            count = len(items) if isinstance(items, range) else None
            self.bind(node.target, UNKNOWN)
            self.repeats.append(count)
            self.block(node.body)
            self.repeats.pop()
        self.block(node.orelse)

    s_AsyncFor = s_For

    def s_While(self, node: ast.While) -> None:
        self.repeats.append(None)
        self.block(node.body)
        self.repeats.pop()

    def s_With(self, node: ast.With) -> None:
        for item in node.items:
            value = self.ev(item.context_expr)
            if item.optional_vars is not None:
                self.bind(item.optional_vars, UNKNOWN if isinstance(value, QName) else value)
        self.block(node.body)

    s_AsyncWith = s_With

    def s_Try(self, node: ast.Try) -> None:
        self.block(node.body)
        self.block(node.orelse)
        self.block(node.finalbody)

    s_TryStar = s_Try

    def s_FunctionDef(self, node: ast.FunctionDef) -> None:
        self.frames[-1].names[node.name] = Func(node)

    s_AsyncFunctionDef = s_FunctionDef

    def s_ClassDef(self, node: ast.ClassDef) -> None:
        bases = [self.ev(b) for b in node.bases]
        if any(isinstance(b, QName) and b.last == "Callback" for b in bases):
            if any(word in self.segment(node) for word in ("rmax", "dmax", "renorm_clipping")):
                self.renorm_schedule = True
        self.frames[-1].names[node.name] = UNKNOWN

    def s_Return(self, node: ast.Return) -> None:
        frame = self.frames[-1]
        if frame.returned is UNKNOWN and node.value is not None:
            frame.returned = self.ev(node.value)
        frame.done = len(self.frames) > 1

    # -- expressions

    def ev(self, node: ast.expr | None) -> Any:
        if node is None:
            return None
        handler = getattr(self, "e_" + type(node).__name__, None)
        return handler(node) if handler is not None else UNKNOWN

    def e_Constant(self, node: ast.Constant) -> Any:
        return node.value

    def e_Name(self, node: ast.Name) -> Any:
        return self.lookup(node.id)

    def e_List(self, node: ast.List) -> Any:
        return [self.ev(e) for e in node.elts]

    def e_Tuple(self, node: ast.Tuple) -> Any:
        return tuple(self.ev(e) for e in node.elts)

    def e_Dict(self, node: ast.Dict) -> Any:
        keys = [self.ev(k) for k in node.keys]
        values = [self.ev(v) for v in node.values]
        if any(not isinstance(k, str) for k in keys):
            return UNKNOWN
        return dict(zip(keys, values, strict=True))

    def e_UnaryOp(self, node: ast.UnaryOp) -> Any:
        value = self.ev(node.operand)
        if isinstance(node.op, ast.Not):
            return UNKNOWN if not plain(value) else not value
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return -value if isinstance(node.op, ast.USub) else value
        return UNKNOWN

    def e_BinOp(self, node: ast.BinOp) -> Any:
        return self.binop(node.op, self.ev(node.left), self.ev(node.right))

    def binop(self, op: ast.operator, left: Any, right: Any) -> Any:
        if not (number(left) and number(right)):
            return UNKNOWN
        try:
            if isinstance(op, ast.Add):
                return left + right
            if isinstance(op, ast.Sub):
                return left - right
            if isinstance(op, ast.Mult):
                return left * right
            if isinstance(op, ast.FloorDiv):
                return left // right
            if isinstance(op, ast.Div):
                return left / right
            if isinstance(op, ast.Pow) and abs(right) < 64:
                return left**right
        except (ZeroDivisionError, OverflowError):
            return UNKNOWN
        return UNKNOWN

    def e_BoolOp(self, node: ast.BoolOp) -> Any:
        values = [self.ev(v) for v in node.values]
        if not all(plain(v) for v in values):
            return UNKNOWN
        return all(values) if isinstance(node.op, ast.And) else any(values)

    def e_Compare(self, node: ast.Compare) -> Any:
        if len(node.ops) != 1:
            return UNKNOWN
        left, right, op = self.ev(node.left), self.ev(node.comparators[0]), node.ops[0]
        for name, other in ((left, right), (right, left)):
            if isinstance(name, ClassName) and isinstance(other, str):
                return class_name_test(name, other, op, name is left)
        if not (plain(left) and plain(right)):
            return UNKNOWN
        try:
            if isinstance(op, ast.Eq):
                return left == right
            if isinstance(op, ast.NotEq):
                return left != right
            if isinstance(op, (ast.Lt, ast.LtE, ast.Gt, ast.GtE)) and number(left) and number(right):
                return {ast.Lt: left < right, ast.LtE: left <= right, ast.Gt: left > right, ast.GtE: left >= right}[
                    type(op)
                ]
        except TypeError:
            return UNKNOWN
        return UNKNOWN

    def e_IfExp(self, node: ast.IfExp) -> Any:
        test = self.ev(node.test)
        if not plain(test):
            return UNKNOWN
        return self.ev(node.body if test else node.orelse)

    def e_Attribute(self, node: ast.Attribute) -> Any:
        value = self.ev(node.value)
        attr = node.attr
        if isinstance(value, QName):
            path = f"{value.path}.{attr}"
            self.note_flavour(path)
            return QName(path)
        if isinstance(value, Base):
            if attr == "output":
                return Tensor(uses=(Use(value, "flat", None, pos(node)),), chain=(("flat", value),))
            if attr in ("outputs",):
                return [Tensor(uses=(Use(value, "flat", None, pos(node)),), chain=(("flat", value),))]
            if attr in ("input", "inputs"):
                tensor = Tensor(inputs_of=value)
                return [tensor] if attr == "inputs" else tensor
            if attr == "layers":
                return LayerList(value)
        if isinstance(value, Model):
            if attr == "layers":
                return LayerList(value)
            if attr == "output":
                return Tensor(uses=tuple(value.uses), bns=tuple(value.bns), chain=None)
        if isinstance(value, Elem) and attr == "__class__":
            return ("class", value.kind)
        if isinstance(value, tuple) and len(value) == 2 and value[0] == "class" and attr == "__name__":
            return ClassName(value[1])
        return UNKNOWN

    def e_Subscript(self, node: ast.Subscript) -> Any:
        value = self.ev(node.value)
        index = node.slice
        if isinstance(index, ast.Slice):
            lower, upper = self.ev(index.lower), self.ev(index.upper)
            if index.step is not None or not (int_or_none(lower) and int_or_none(upper)):
                return UNKNOWN if not isinstance(value, Data) else Data()
            if isinstance(value, LayerList):
                if value.start is None and value.stop is None:
                    return LayerList(value.owner, lower, upper)
                return UNKNOWN
            if isinstance(value, Data) and value.size is not None:
                return replace(value, size=len(range(value.size)[slice(lower, upper)]))
            if isinstance(value, (list, tuple)):
                return value[lower:upper]
            return UNKNOWN
        key = self.ev(index)
        if isinstance(value, LayerList) and isinstance(key, int) and not isinstance(key, bool):
            return self.layer_at(value, key)
        if isinstance(value, (list, tuple)) and isinstance(key, int) and -len(value) <= key < len(value):
            return value[key]
        if isinstance(value, dict) and isinstance(key, str):
            return value.get(key, UNKNOWN)
        return UNKNOWN

    def e_Call(self, node: ast.Call) -> Any:
        func = node.func
        if isinstance(func, ast.Attribute):
            receiver = self.ev(func.value)
            if not isinstance(receiver, QName) or is_environ(func.value):
                return self.method(node, receiver, func.attr)
            callee = QName(f"{receiver.path}.{func.attr}")
            self.note_flavour(callee.path)
        else:
            callee = self.ev(func)
            if isinstance(func, ast.Name) and callee is UNKNOWN:
                return self.builtin(node, func.id)
        args = [self.ev(a) for a in node.args]
        kwargs = {k.arg: self.ev(k.value) for k in node.keywords if k.arg}
        if isinstance(callee, QName):
            return self.construct(node, callee, args, kwargs)
        if isinstance(callee, Func):
            if isinstance(func, ast.Name):
                self.called.add(func.id)
            return self.call_function(callee, args, kwargs)
        if isinstance(callee, (Base, Model, BNLayer, Layer)):
            return self.apply(node, callee, args, kwargs)
        return merge_tensors(args, kwargs)

    # -- calls

    def builtin(self, node: ast.Call, name: str) -> Any:
        args = [self.ev(a) for a in node.args]
        if name == "isinstance" and len(args) == 2 and isinstance(args[0], Elem):
            classes = args[1] if isinstance(args[1], tuple) else (args[1],)
            if any(isinstance(c, QName) and c.last in BN_NAMES for c in classes):
                return args[0].kind == "bn"
            if all(isinstance(c, QName) and canonical(c.path)[1].startswith("keras.layers") for c in classes):
                return False if args[0].kind == "bn" else UNKNOWN
            return UNKNOWN
        if name == "type" and len(args) == 1 and isinstance(args[0], Elem):
            return ("class", args[0].kind)
        if name == "len" and args:
            if isinstance(args[0], Data) and args[0].size is not None:
                return args[0].size
            if isinstance(args[0], (list, tuple, str)):
                return len(args[0])
            return UNKNOWN
        if name == "range" and args and all(isinstance(a, int) and not isinstance(a, bool) for a in args):
            try:
                return range(*args[:3])
            except (TypeError, ValueError):
                return UNKNOWN
        if name == "enumerate" and args:
            return ("enumerate", args[0])
        if name in ("int", "float") and len(args) == 1 and number(args[0]):
            return int(args[0]) if name == "int" else float(args[0])
        if name in ("min", "max") and args and all(number(a) for a in args):
            return min(args) if name == "min" else max(args)
        return merge_tensors(args, {})

    def call_function(self, func: Func, args: list[Any], kwargs: dict[str, Any]) -> Any:
        if len(self.stack) >= MAX_DEPTH or any(f.node is func.node for f in self.stack):
            return UNKNOWN
        params = func.node.args
        names: dict[str, Any] = {}
        positional = [*params.posonlyargs, *params.args]
        defaults = [None] * (len(positional) - len(params.defaults)) + list(params.defaults)
        for index, param in enumerate(positional):
            if index < len(args):
                names[param.arg] = args[index]
            elif param.arg in kwargs:
                names[param.arg] = kwargs[param.arg]
            else:
                default = defaults[index]
                names[param.arg] = self.ev(default) if default is not None else UNKNOWN
        for param, default in zip(params.kwonlyargs, params.kw_defaults, strict=True):
            names[param.arg] = kwargs.get(param.arg, self.ev(default) if default is not None else UNKNOWN)
        frame = _Frame(names)
        self.frames.append(frame)
        self.stack.append(func)
        try:
            self.block(func.node.body)
        finally:
            self.stack.pop()
            self.frames.pop()
        return frame.returned


def extract(tree: ast.Module, text: str) -> ScriptFacts:
    return Interpreter(tree, text).run()
