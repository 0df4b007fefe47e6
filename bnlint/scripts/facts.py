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
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import Any

from ..graph import Generation
from .applications import AppInfo, hub_has_bn, lookup


class _Unknown:
    def __repr__(self) -> str:
        return "UNKNOWN"


UNKNOWN: Any = _Unknown()
MAX_DEPTH = 6  # nested local function calls followed
TRAIN_METHODS = {"fit", "fit_generator", "train_on_batch"}
BN_NAMES = {"BatchNormalization", "SyncBatchNormalization", "BatchNormalizationV1", "BatchNormalizationV2"}
MODEL_NAMES = {"Model", "Functional"}
DATASET_KEEP = {"map", "prefetch", "cache", "shuffle", "filter", "with_options", "apply", "ignore_errors"}
LINE_BREAK = re.compile(r"\r\n|\r|\n")
LEGACY_ON = ("1", "True", "true")
ARRAY_MAKERS = {"zeros", "ones", "empty", "full", "rand", "randn", "random", "random_sample", "normal", "uniform"}


@dataclass(frozen=True)
class Pos:
    line: int
    col: int


def pos(node: ast.AST) -> Pos:
    return Pos(node.lineno, node.col_offset + 1)


# ---------------------------------------------------------------- objects


@dataclass(eq=False)
class Obj:
    pos: Pos
    name: str  # the name it is bound to in the outermost scope that binds it ("?" until bound)
    scope: int = field(default=99, repr=False, kw_only=True)  # depth of the frame that named it


@dataclass(eq=False)
class Base(Obj):
    """A pretrained (or at least pre-built) model used as a component."""

    label: str  # "ResNet50", "hub.KerasLayer", "load_model(...)"
    kind: str  # "application", "hub", "loaded"
    pretrained: bool
    info: AppInfo | None
    include_top: bool = False
    pooling: bool = False
    momentum: tuple[float, ...] = ()

    @property
    def has_bn(self) -> bool | None:
        if self.kind == "hub":
            return hub_has_bn(self.label)
        return self.info.has_bn if self.info else None

    @property
    def size(self) -> int | None:
        return self.info.count(self.include_top, self.pooling) if self.info else None

    @property
    def bn_count(self) -> int | None:
        return len(self.info.bn) if self.info and self.info.bn else None


@dataclass(eq=False)
class BNLayer(Obj):
    momentum: float | None  # None: not a literal
    explicit: bool  # momentum written in the script (else Keras' default 0.99)
    renorm: bool | None
    clipping: Any  # dict of literals, None, or UNKNOWN


@dataclass(eq=False)
class Layer(Obj):
    class_name: str


@dataclass(frozen=True)
class Use:
    """One way a model wires a base: a call `base(x, training=...)`, an element of a
    Sequential, a head on `base.output` (flat), or the base trained by itself."""

    base: Base
    wiring: str  # "call", "sequential", "flat", "self"
    training: Any  # True, False, None (not passed) or UNKNOWN
    pos: Pos


@dataclass(eq=False)
class Model(Obj):
    kind: str  # "functional", "sequential", "self"
    uses: list[Use] = field(default_factory=list)
    bns: list[BNLayer] = field(default_factory=list)
    members: list[Obj] = field(default_factory=list)  # objects whose trainable flags matter
    slots: list[Any] | None = field(default_factory=list)  # model.layers, in order; None: unknown


# ---------------------------------------------------------------- values


@dataclass(frozen=True)
class QName:
    """A name reached through the script's imports: 'keras.applications.ResNet50'."""

    path: str

    @property
    def last(self) -> str:
        return self.path.rsplit(".", 1)[-1]


@dataclass(frozen=True)
class Tensor:
    uses: tuple[Use, ...] = ()
    bns: tuple[BNLayer, ...] = ()
    chain: tuple[Any, ...] | None = ()  # layer slots applied since the inputs; None: unknown
    inputs_of: Base | None = None  # `base.input`


@dataclass(frozen=True)
class LayerList:
    owner: Obj  # Base or Model
    start: int | None = None
    stop: int | None = None


@dataclass(frozen=True)
class Elem:
    """The loop variable of `for layer in <LayerList>`: one pass for the BN layers
    of the list, one for the others."""

    items: LayerList
    kind: str  # "bn" or "other"


@dataclass(frozen=True)
class ClassName:
    kind: str  # what `type(layer).__name__` is for an Elem of this kind


@dataclass(frozen=True)
class Data:
    batch: int | None = None  # None: unbatched or unknown
    batch_pos: Pos | None = None
    size: int | None = None  # samples
    steps: int | None = None  # batches per epoch when known directly (take())
    default_batch: bool = False  # a loader's default batch size (32)


@dataclass(frozen=True)
class Func:
    node: ast.FunctionDef | ast.AsyncFunctionDef


@dataclass(frozen=True)
class Unfreezing:
    value: bool | None


# ---------------------------------------------------------------- trainable flags


@dataclass(frozen=True)
class Flags:
    """Trainable flags of one object. For a base with a known layer table, one flag
    per layer; otherwise one for its BN layers and one for the rest. None: unknown."""

    own: bool | None
    layers: tuple[bool | None, ...] | None = None
    bn: bool | None = None
    other: bool | None = None
    at: Pos | None = None  # the last statement that changed them

    def same(self, other: Flags) -> bool:
        return (self.own, self.layers, self.bn, self.other) == (other.own, other.layers, other.bn, other.other)

    @property
    def known(self) -> bool:
        return self.own is not None and (
            None not in self.layers if self.layers is not None else (self.bn is not None and self.other is not None)
        )


def initial_flags(obj: Obj, trainable: bool = True) -> Flags:
    if isinstance(obj, Base) and obj.size is not None:
        return Flags(trainable, layers=(trainable,) * obj.size)
    return Flags(trainable, bn=trainable, other=trainable)


def bn_trainable(base: Base, flags: Flags) -> tuple[int, int | None] | None:
    """(trainable BN layers, total BN layers or None) of a base; None if unknown."""
    if flags.layers is not None:
        states = [flags.layers[i] for i in base.info.bn if i < len(flags.layers)]
        if None in states:
            return None
        return sum(1 for s in states if s), len(states)
    if base.kind == "hub":  # a hub layer passes training to its BN layers only if trainable
        return None if flags.own is None else (int(flags.own), None)
    if flags.bn is None:
        return None
    return (base.bn_count or 1) if flags.bn else 0, base.bn_count


# ---------------------------------------------------------------- events


@dataclass
class Event:
    pos: Pos
    seq: int


@dataclass
class Compile(Event):
    model: Model
    snapshot: dict[Obj, Flags]
    text: str


@dataclass
class Train(Event):
    model: Model
    method: str
    current: dict[Obj, Flags]
    compiled: dict[Obj, Flags] | None  # at the last compile (None: never compiled)
    traced: dict[Obj, Flags] | None  # at the first training since that compile, if earlier
    traced_at: int | None  # the line of that first training
    data: Data | None
    batch: int | None
    batch_pos: Pos | None
    epochs: int | None
    steps_per_epoch: int | None
    repeats: int | None  # iterations of enclosing literal loops (train_on_batch)
    default_batch: bool = False


@dataclass
class SetTrainable(Event):
    targets: list[Obj]
    value: bool | None
    text: str


@dataclass
class ScriptFacts:
    flavours: set[str]
    legacy_env: bool
    bases: list[Base]
    models: list[Model]
    bns: list[BNLayer]
    events: list[Event]
    final: dict[Obj, Flags]
    renorm_schedule: bool
    notes: list[str]
    generation: Generation = Generation.KERAS3  # set once the imports are resolved (versions.resolve)
    keras_version: str | None = None
    keras_how: str = ""
    cache: dict[str, Any] = field(default_factory=dict)  # derived views shared by rules

    def trainings(self) -> Iterator[Train]:
        return (e for e in self.events if isinstance(e, Train))


# ---------------------------------------------------------------- the interpreter


def canonical(path: str) -> tuple[str | None, str]:
    """('tf.keras' | 'keras' | 'tf_keras' | None, path with the Keras root spelled 'keras')."""
    for prefix, flavour in (
        ("tensorflow.compat.v1.keras", "tf.keras"),
        ("tensorflow.compat.v2.keras", "tf.keras"),
        ("tensorflow.python.keras", "tf.keras"),
        ("tensorflow.keras", "tf.keras"),
        ("tf_keras", "tf_keras"),
        ("keras", "keras"),
    ):
        if path == prefix or path.startswith(prefix + "."):
            rest = path[len(prefix) :].replace(".src.", ".")
            return flavour, "keras" + rest
    return None, path


class _Frame:
    def __init__(self, names: dict[str, Any]):
        self.names = names
        self.returned: Any = UNKNOWN
        self.done = False


class Interpreter:
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
        self.notes: list[str] = []
        self.stack: list[Func] = []
        self.loops: list[str] = []
        self.assigned: ast.AST = ast.Constant(
            None
        )  # the value node of the assignment being bound  # headers of the enclosing `for layer in <layers>` loops

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
                self.flags[obj] = _join(mine, theirs, obj)
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
            return UNKNOWN if not _plain(value) else not value
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return -value if isinstance(node.op, ast.USub) else value
        return UNKNOWN

    def e_BinOp(self, node: ast.BinOp) -> Any:
        return self.binop(node.op, self.ev(node.left), self.ev(node.right))

    def binop(self, op: ast.operator, left: Any, right: Any) -> Any:
        if not (_number(left) and _number(right)):
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
        if not all(_plain(v) for v in values):
            return UNKNOWN
        return all(values) if isinstance(node.op, ast.And) else any(values)

    def e_Compare(self, node: ast.Compare) -> Any:
        if len(node.ops) != 1:
            return UNKNOWN
        left, right, op = self.ev(node.left), self.ev(node.comparators[0]), node.ops[0]
        for name, other in ((left, right), (right, left)):
            if isinstance(name, ClassName) and isinstance(other, str):
                return _class_name_test(name, other, op, name is left)
        if not (_plain(left) and _plain(right)):
            return UNKNOWN
        try:
            if isinstance(op, ast.Eq):
                return left == right
            if isinstance(op, ast.NotEq):
                return left != right
            if isinstance(op, (ast.Lt, ast.LtE, ast.Gt, ast.GtE)) and _number(left) and _number(right):
                return {ast.Lt: left < right, ast.LtE: left <= right, ast.Gt: left > right, ast.GtE: left >= right}[
                    type(op)
                ]
        except TypeError:
            return UNKNOWN
        return UNKNOWN

    def e_IfExp(self, node: ast.IfExp) -> Any:
        test = self.ev(node.test)
        if not _plain(test):
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
            if index.step is not None or not (_int_or_none(lower) and _int_or_none(upper)):
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
            if not isinstance(receiver, QName) or _is_environ(func.value):
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
        return _merge_tensors(args, kwargs)

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
        if name in ("int", "float") and len(args) == 1 and _number(args[0]):
            return int(args[0]) if name == "int" else float(args[0])
        if name in ("min", "max") and args and all(_number(a) for a in args):
            return min(args) if name == "min" else max(args)
        return _merge_tensors(args, {})

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

    def construct(self, node: ast.Call, callee: QName, args: list[Any], kwargs: dict[str, Any]) -> Any:
        flavour, path = canonical(callee.path)
        last = callee.last
        if path == "os.putenv" and args[:1] == ["TF_USE_LEGACY_KERAS"] and args[1:2] and args[1] in LEGACY_ON:
            self.legacy_env = True
        if flavour is not None:
            if ".applications." in path and last[:1].isupper():
                return self.application(node, last, kwargs)
            if last in ("load_model",):
                return self.new_base(node, f"load_model({_literal(args[:1])})", "loaded", True, None)
            if last in BN_NAMES:
                return self.bn_layer(node, kwargs)
            if last == "Input" or last == "InputLayer":
                return Tensor()
            if last in MODEL_NAMES and (".models." in path or path.count(".") == 1):
                return self.functional(node, args, kwargs)
            if last == "Sequential":
                return self.sequential(node, args[0] if args else kwargs.get("layers", []))
            if last in ("image_dataset_from_directory", "text_dataset_from_directory"):
                return self.loader(node, kwargs.get("batch_size", 32), "batch_size" not in kwargs)
            if last == "ImageDataGenerator":
                return ("datagen",)
            if ".layers." in path and last[:1].isupper():
                return Layer(pos(node), "?", last)
            return UNKNOWN
        if path == "tensorflow_hub.KerasLayer":
            handle = args[0] if args else kwargs.get("handle")
            base = self.new_base(node, handle if isinstance(handle, str) else "hub.KerasLayer", "hub", True, None)
            trainable = kwargs.get("trainable", False)
            self.flags[base] = replace(self.flags[base], own=trainable if isinstance(trainable, bool) else None)
            return base
        if path.startswith("tensorflow.data.Dataset.from_tensor_slices"):
            first = args[0] if args else UNKNOWN
            if isinstance(first, (tuple, list)) and first:
                first = first[0]
            return Data(size=first.size if isinstance(first, Data) else None)
        if path.startswith("tensorflow.data."):
            return Data()
        if path.startswith(("numpy.", "tensorflow.random.", "tensorflow.")) and last in ARRAY_MAKERS | {"randint"}:
            return Data(size=_leading_size(last, args, kwargs))
        if path in ("numpy.array", "numpy.asarray", "numpy.concatenate"):
            return Data()
        return _merge_tensors(args, kwargs)

    def new_base(self, node: ast.Call, label: str, kind: str, pretrained: bool, info: AppInfo | None, **extra) -> Base:
        base = Base(pos(node), "?", label, kind, pretrained, info, **extra)
        self.bases.append(base)
        self.flags[base] = initial_flags(base)
        return base

    def application(self, node: ast.Call, name: str, kwargs: dict[str, Any]) -> Any:
        info = lookup(name)
        if info is None:
            return UNKNOWN
        weights = kwargs.get("weights", "imagenet")
        include_top = kwargs.get("include_top", True)
        pooling = kwargs.get("pooling")
        base = self.new_base(
            node,
            name,
            "application",
            weights is not None,
            info,
            include_top=include_top is True or include_top is UNKNOWN,
            pooling=pooling is not None and not include_top,
            momentum=info.momentum,
        )
        if include_top is UNKNOWN or pooling is UNKNOWN:  # layer positions unknown
            self.flags[base] = Flags(True, bn=True, other=True)
            base.info = replace(info, layers=None)
        if isinstance(kwargs.get("input_tensor"), Tensor):
            self.notes.append(f"line {node.lineno}: {name}(input_tensor=...) is used as a flat model")
        return base

    def bn_layer(self, node: ast.Call, kwargs: dict[str, Any]) -> BNLayer:
        momentum = kwargs.get("momentum", 0.99)
        renorm = kwargs.get("renorm", False)
        layer = BNLayer(
            pos(node),
            "?",
            float(momentum) if _number(momentum) else None,
            "momentum" in kwargs,
            renorm if isinstance(renorm, bool) else None,
            kwargs.get("renorm_clipping"),
        )
        self.bns.append(layer)
        trainable = kwargs.get("trainable", True)
        self.flags[layer] = Flags(trainable if isinstance(trainable, bool) else None)
        return layer

    def loader(self, node: ast.Call, batch: Any, default: bool) -> Data:
        known = isinstance(batch, int) and not isinstance(batch, bool)
        return Data(batch=batch if known else None, batch_pos=pos(node), default_batch=default)

    def functional(self, node: ast.Call, args: list[Any], kwargs: dict[str, Any]) -> Model:
        inputs = args[0] if args else kwargs.get("inputs", UNKNOWN)
        outputs = args[1] if len(args) > 1 else kwargs.get("outputs", UNKNOWN)
        tensors = list(_tensors(outputs))
        model = Model(pos(node), "?", "functional")
        seen: set[int] = set()
        for tensor in tensors:
            for use in tensor.uses:
                if id(use) not in seen:
                    seen.add(id(use))
                    model.uses.append(use)
            model.bns.extend(bn for bn in tensor.bns if bn not in model.bns)
        if not tensors or any(t.chain is None for t in tensors):
            model.slots = None
        else:
            flat_input = any(t.inputs_of is not None for t in _tensors(inputs))
            slots = [] if flat_input else [("input",) for _ in _tensors(inputs)]
            for tensor in tensors:
                slots.extend(s for s in tensor.chain if s not in slots)
            model.slots = slots
        return self.register(model)

    def sequential(self, node: ast.Call, items: Any) -> Model:
        model = Model(pos(node), "?", "sequential")
        self.register(model)
        if isinstance(items, (list, tuple)):
            for item in items:
                self.add_to_sequential(model, item, pos(node))
        else:
            model.slots = None
        return model

    def add_to_sequential(self, model: Model, item: Any, at: Pos) -> None:
        if isinstance(item, Tensor):  # keras.Input(...) in the list: not a layer
            return
        if isinstance(item, Base):
            model.uses.append(Use(item, "sequential", None, at))
        elif isinstance(item, Model):
            model.uses.extend(item.uses)
            model.bns.extend(item.bns)
        elif isinstance(item, BNLayer):
            model.bns.append(item)
        elif not isinstance(item, Layer):
            model.slots = None
            return
        if model.slots is not None:
            model.slots.append(item)
        self.add_members(model, item)

    def register(self, model: Model) -> Model:
        for use in model.uses:
            self.add_members(model, use.base)
        for bn in model.bns:
            self.add_members(model, bn)
        for slot in model.slots or []:
            if isinstance(slot, (Layer, Model)):
                self.add_members(model, slot)
        self.models.append(model)
        self.flags.setdefault(model, Flags(True, bn=True, other=True))
        return model

    def add_members(self, model: Model, obj: Obj) -> None:
        if obj not in model.members:
            model.members.append(obj)
        if isinstance(obj, Model):
            for member in obj.members:
                self.add_members(model, member)

    def apply(self, node: ast.Call, layer: Obj, args: list[Any], kwargs: dict[str, Any]) -> Any:
        """`layer(x)`: the output tensor remembers which bases and BN layers it went through."""
        inputs = list(_tensors(args[:1] or kwargs.get("inputs", [])))
        uses: list[Use] = [u for t in inputs for u in t.uses]
        bns: list[BNLayer] = [b for t in inputs for b in t.bns]
        chains = [t.chain for t in inputs]
        chain: tuple | None = None if any(c is None for c in chains) else tuple(s for c in chains for s in c)
        training = kwargs.get("training", args[1] if len(args) > 1 else None)
        if isinstance(layer, Base):
            uses.append(Use(layer, "call", training, pos(node)))
        elif isinstance(layer, Model):
            for use in layer.uses:
                inner = use.training if training is not False else False
                uses.append(replace(use, training=inner))
            bns.extend(layer.bns)
        elif isinstance(layer, BNLayer):
            bns.append(layer)
        if chain is not None and layer not in chain:
            chain = (*chain, layer)
        return Tensor(uses=tuple(uses), bns=tuple(dict.fromkeys(bns)), chain=chain)

    def method(self, node: ast.Call, receiver: Any, name: str) -> Any:
        args = [self.ev(a) for a in node.args]
        kwargs = {k.arg: self.ev(k.value) for k in node.keywords if k.arg}
        if isinstance(receiver, Base) and name in TRAIN_METHODS | {"compile"}:
            receiver = self.self_model(receiver)
        if isinstance(receiver, Model):
            if name == "compile":
                snapshot = self.snapshot(receiver)
                self.compiled[receiver] = snapshot
                self.traced[receiver] = None
                self.emit(Compile, node, model=receiver, snapshot=snapshot, text=self.segment(node))
            elif name in TRAIN_METHODS:
                self.train(node, receiver, name, args, kwargs)
            elif name == "add" and receiver.kind == "sequential" and args:
                self.add_to_sequential(receiver, args[0], pos(node))
            return UNKNOWN
        if isinstance(receiver, Data):
            return self.dataset_method(node, receiver, name, args)
        if receiver is UNKNOWN and name == "batch" and args and _count(args[0]):
            return self.dataset_method(node, Data(), name, args)  # `.batch(n)`: a tf.data pipeline
        if receiver == ("datagen",) and name.startswith("flow"):
            batch = kwargs.get("batch_size", 32)
            data = self.loader(node, batch, "batch_size" not in kwargs)
            if name == "flow" and args and isinstance(args[0], Data):
                data = replace(data, size=args[0].size)
            return data
        if name in ("setdefault", "update") and _is_environ(node.func.value):
            pairs = args[0].items() if name == "update" and args and isinstance(args[0], dict) else [tuple(args[:2])]
            pairs = [*pairs, *kwargs.items()]
            if any(p == ("TF_USE_LEGACY_KERAS", v) for p in pairs for v in LEGACY_ON):
                self.legacy_env = True
        if isinstance(receiver, (dict, list)) and name == "get" and args:
            return receiver.get(args[0], args[1] if len(args) > 1 else None) if isinstance(receiver, dict) else UNKNOWN
        return UNKNOWN

    def dataset_method(self, node: ast.Call, data: Data, name: str, args: list[Any]) -> Any:
        first = args[0] if args else UNKNOWN
        if name == "batch":
            if isinstance(first, int) and not isinstance(first, bool):
                steps = math.ceil(data.size / first) if data.size else None
                return replace(data, batch=first, batch_pos=pos(node), steps=steps, default_batch=False)
            return replace(data, batch=None, steps=None)
        if name == "take":
            if not isinstance(first, int) or isinstance(first, bool):
                return Data(batch=data.batch, batch_pos=data.batch_pos)
            if data.batch:
                return replace(data, steps=first if data.steps is None else min(first, data.steps))
            return replace(data, size=first if data.size is None else min(first, data.size))
        if name in ("repeat",):
            return replace(data, steps=None, size=None)
        if name in ("unbatch",):
            return replace(data, batch=None, steps=None)
        if name in DATASET_KEEP or name in ("astype", "reshape", "copy"):
            return data
        return UNKNOWN

    def self_model(self, base: Base) -> Model:
        model = self.self_models.get(base)
        if model is None:
            model = Model(base.pos, base.name, "self", uses=[Use(base, "self", None, base.pos)], members=[base])
            model.slots = None
            self.self_models[base] = model
            self.models.append(model)
            self.flags.setdefault(model, Flags(True, bn=True, other=True))
        return model

    def train(self, node: ast.Call, model: Model, name: str, args: list[Any], kwargs: dict[str, Any]) -> None:
        data = args[0] if args else kwargs.get("x", kwargs.get("generator", UNKNOWN))
        data = data if isinstance(data, Data) else None
        batch, batch_pos, default = None, None, False
        given = kwargs.get("batch_size")
        if data is not None and data.batch:
            batch, batch_pos, default = data.batch, data.batch_pos, data.default_batch
        elif _count(given):
            batch, batch_pos = given, pos(node)
        elif name == "train_on_batch" and data is not None and data.size:
            batch, batch_pos = data.size, data.batch_pos or pos(node)
        elif data is not None and data.size and name != "train_on_batch":
            batch, batch_pos, default = 32, pos(node), True  # Keras' default for arrays
        epochs = kwargs.get("epochs", 1 if name != "train_on_batch" else None)
        steps = kwargs.get("steps_per_epoch")
        if not _count(steps) and data is not None:
            if data.steps:
                steps = data.steps
            elif data.size and batch and not data.batch and name != "train_on_batch":
                steps = math.ceil(data.size / batch)
        repeats: int | None = 1
        for count in self.repeats:
            repeats = repeats * count if repeats is not None and count is not None else None
        current = self.snapshot(model)
        traced = self.traced.get(model)
        if traced is None:
            self.traced[model] = (current, node.lineno)
        self.emit(
            Train,
            node,
            model=model,
            method=name,
            current=current,
            compiled=self.compiled.get(model),
            traced=traced[0] if traced else None,
            traced_at=traced[1] if traced else None,
            data=data,
            batch=batch,
            batch_pos=batch_pos,
            epochs=epochs if _count(epochs) else None,
            steps_per_epoch=steps if _count(steps) else None,
            repeats=repeats if name == "train_on_batch" else None,
            default_batch=default,
        )

    def snapshot(self, model: Model) -> dict[Obj, Flags]:
        return {obj: self.flags[obj] for obj in [model, *model.members] if obj in self.flags}

    # -- trainable (and momentum) assignments

    def set_attribute(self, target: ast.Attribute, value: Any) -> None:
        obj = self.ev(target.value)
        if target.attr == "trainable":
            self.set_trainable(target, obj, value, self.assigned)
        elif target.attr == "momentum" and _number(value):
            if isinstance(obj, BNLayer):
                obj.momentum, obj.explicit = float(value), True
            elif isinstance(obj, Elem) and obj.kind == "bn" and isinstance(obj.items.owner, Base):
                obj.items.owner.momentum = (float(value),)

    def set_item(self, target: ast.Subscript, value: Any) -> None:
        if _is_environ(target.value) and self.ev(target.slice) == "TF_USE_LEGACY_KERAS" and value in LEGACY_ON:
            self.legacy_env = True

    def set_trainable(self, node: ast.Attribute, obj: Any, value: Any, value_node: ast.AST) -> None:
        flag = value if isinstance(value, bool) else None
        at = pos(node)
        changed: list[Obj] = []
        if isinstance(obj, Elem):
            changed = self.set_elements(obj.items, obj.kind, flag, at)
        elif isinstance(obj, (Base, Model, BNLayer, Layer)):
            changed = self.set_whole(obj, flag, at)
        else:
            # An object bnlint cannot resolve: whatever it is, nothing about the bases
            # it might belong to can be trusted any more.
            root = node.value
            while isinstance(root, (ast.Attribute, ast.Subscript, ast.Call)):
                root = root.func if isinstance(root, ast.Call) else root.value
            owner = self.ev(root) if isinstance(root, ast.Name) else UNKNOWN
            suspects = owner.members + [owner] if isinstance(owner, Model) else [owner]
            if not isinstance(owner, (Base, Model)):
                suspects = list(self.bases)
            for suspect in suspects:
                if suspect in self.flags:
                    self.flags[suspect] = replace(
                        self.flags[suspect],
                        own=None,
                        layers=(None,) * len(self.flags[suspect].layers) if self.flags[suspect].layers else None,
                        bn=None,
                        other=None,
                        at=at,
                    )
            return
        if changed:
            text = "".join(self.loops[-1:]) + f"{self.segment(node)} = {self.segment(value_node)}"
            self.emit(SetTrainable, node, targets=changed, value=flag, text=text)

    def set_whole(self, obj: Obj, flag: bool | None, at: Pos) -> list[Obj]:
        """`obj.trainable = flag`: Keras sets it recursively on every sublayer."""
        old = self.flags.get(obj, initial_flags(obj))
        if isinstance(obj, Base) and old.layers is not None:
            new = Flags(flag, layers=(flag,) * len(old.layers), at=at)
        else:
            new = Flags(flag, bn=flag, other=flag, at=at)
        self.flags[obj] = new
        changed = [obj] if not new.same(old) else []
        if isinstance(obj, Model):
            for member in obj.members:
                changed += self.set_whole(member, flag, at) if member is not obj else []
        return changed

    def set_elements(self, items: LayerList, kind: str, flag: bool | None, at: Pos) -> list[Obj]:
        owner = items.owner
        if isinstance(owner, Base):
            return self.set_base_layers(owner, items.start, items.stop, kind, flag, at)
        assert isinstance(owner, Model)
        if owner.slots is None:
            return self.forget(owner, at)
        expanded: list[tuple[Any, int | None]] = []
        for slot in owner.slots:
            if isinstance(slot, tuple) and slot[0] == "flat":
                base = slot[1]
                if base.size is None:
                    return self.forget(owner, at)
                expanded.extend((base, i) for i in range(base.size))
            else:
                expanded.append((slot, None))
        changed: list[Obj] = []
        for slot, index in expanded[items.start : items.stop]:
            if index is not None:
                changed += self.set_base_layers(slot, index, index + 1, kind, flag, at)
            elif isinstance(slot, BNLayer):
                changed += self.set_whole(slot, flag, at) if kind == "bn" else []
            elif isinstance(slot, (Base, Model, Layer)) and kind == "other":
                changed += self.set_whole(slot, flag, at)
        return changed

    def set_base_layers(self, base: Base, start: int | None, stop: int | None, kind: str, flag: bool | None, at: Pos):
        old = self.flags[base]
        if old.layers is not None:
            layers = list(old.layers)
            bn = set(base.info.bn)
            for index in range(len(layers))[start:stop]:
                if (index in bn) == (kind == "bn"):
                    layers[index] = flag
            new = replace(old, layers=tuple(layers), at=at)
        else:
            whole = start in (None, 0) and stop is None
            part = flag if whole or getattr(old, kind) == flag else None
            new = replace(old, **{kind: part}, at=at)
        self.flags[base] = new
        return [base] if not new.same(old) else []

    def forget(self, model: Model, at: Pos) -> list[Obj]:
        for member in model.members:
            if isinstance(member, Base):
                old = self.flags[member]
                self.flags[member] = replace(
                    old, layers=(None,) * len(old.layers) if old.layers else None, bn=None, other=None, at=at
                )
        return []

    def layer_at(self, items: LayerList, index: int) -> Any:
        owner = items.owner
        if items.start is not None or items.stop is not None:
            return UNKNOWN
        if (
            isinstance(owner, Model)
            and owner.slots is not None
            and all(not isinstance(s, tuple) or s[0] == "input" for s in owner.slots)
        ):
            try:
                slot = owner.slots[index]
            except IndexError:
                return UNKNOWN
            return slot if isinstance(slot, Obj) else UNKNOWN
        return UNKNOWN


# ---------------------------------------------------------------- helpers


def _join(mine: Flags | None, theirs: Flags | None, obj: Obj) -> Flags:
    if mine is None or theirs is None:
        known = mine or theirs
        return replace(known, own=None, bn=None, other=None, layers=_unknown_layers(known))
    layers = None
    if mine.layers is not None and theirs.layers is not None and len(mine.layers) == len(theirs.layers):
        layers = tuple(a if a == b else None for a, b in zip(mine.layers, theirs.layers, strict=True))
    return Flags(
        mine.own if mine.own == theirs.own else None,
        layers=layers,
        bn=mine.bn if mine.bn == theirs.bn else None,
        other=mine.other if mine.other == theirs.other else None,
        at=mine.at or theirs.at,
    )


def _unknown_layers(flags: Flags) -> tuple | None:
    return (None,) * len(flags.layers) if flags.layers is not None else None


def _is_environ(node: ast.expr) -> bool:
    return isinstance(node, ast.Attribute) and node.attr == "environ" and isinstance(node.value, ast.Name)


def _plain(value: Any) -> bool:
    return value is None or isinstance(value, (bool, int, float, str))


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def _int_or_none(value: Any) -> bool:
    return value is None or (isinstance(value, int) and not isinstance(value, bool))


def _literal(values: list[Any]) -> str:
    return repr(values[0]) if values and _plain(values[0]) else "..."


def _tensors(value: Any) -> Iterator[Tensor]:
    if isinstance(value, Tensor):
        yield value
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _tensors(item)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _tensors(item)


def _merge_tensors(args: list[Any], kwargs: dict[str, Any]) -> Any:
    """An unknown function of tensors: its result depends on them, in ways unknown."""
    tensors = [*_tensors(args), *_tensors(list(kwargs.values()))]
    if not tensors:
        return UNKNOWN
    uses = tuple(u for t in tensors for u in t.uses)
    bns = tuple(dict.fromkeys(b for t in tensors for b in t.bns))
    return Tensor(uses=uses, bns=bns, chain=None)


def _leading_size(maker: str, args: list[Any], kwargs: dict[str, Any]) -> int | None:
    """The sample count of np.zeros((N, ...)), np.random.rand(N, ...), normal(size=(N, ...))."""
    shape = kwargs.get("size", kwargs.get("shape"))
    if shape is None:
        if maker in ("rand", "randn"):
            shape = args[0] if args else None
        elif maker == "randint":
            shape = args[2] if len(args) > 2 else None
        elif maker in ("normal", "uniform"):
            shape = args[2] if len(args) > 2 else None
        else:
            shape = args[0] if args else None
    if isinstance(shape, (tuple, list)) and shape:
        shape = shape[0]
    return shape if _count(shape) else None


def _class_name_test(name: ClassName, text: str, op: ast.cmpop, name_left: bool) -> Any:
    """`type(layer).__name__ == 'BatchNormalization'` and `'BatchNorm' in ...` for an Elem."""
    if isinstance(op, (ast.Eq, ast.NotEq)):
        if text in BN_NAMES:
            result = name.kind == "bn"
        elif name.kind == "bn":
            result = False
        else:
            return UNKNOWN
        return result if isinstance(op, ast.Eq) else not result
    if isinstance(op, (ast.In, ast.NotIn)) and not name_left:
        if "BatchNorm" in text:
            result = name.kind == "bn"
            return result if isinstance(op, ast.In) else not result
    return UNKNOWN


def extract(tree: ast.Module, text: str) -> ScriptFacts:
    return Interpreter(tree, text).run()
