"""The vocabulary of script facts: objects a script builds (bases, models, BN layers,
data), the abstract values expressions evaluate to, trainable flags, and the events
(compile, training, trainable changes) the interpreter in facts.py records.

UNKNOWN stands for anything bnlint cannot resolve; rules stay silent about it.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import Any

from ..graph import Generation
from .applications import AppInfo, hub_has_bn


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
    origin: str | None = None  # code of another file reached from `line`: "models.py:8"

    @property
    def where(self) -> str:
        """'line 12', or 'line 12 (in ../project/models.py:8)' for code of a local module."""
        return f"line {self.line}" + (f" (in {self.origin})" if self.origin else "")


# While code of another file (a local module) runs, positions are those of the linted
# file's statement that reached it: findings must point into the file being linted.
# ORIGINS names the file whose code runs (None: the linted file itself).
ANCHORS: list[Pos] = []
ORIGINS: list[str | None] = []


def pos(node: ast.AST) -> Pos:
    if not ANCHORS:
        return Pos(node.lineno, node.col_offset + 1)
    origin = ORIGINS[-1] if ORIGINS else None
    return replace(ANCHORS[-1], origin=f"{origin}:{node.lineno}" if origin else ANCHORS[-1].origin)


# ---------------------------------------------------------------- objects


@dataclass(eq=False)
class Obj:
    pos: Pos
    name: str  # the name it is bound to in the outermost scope that binds it ("?" until bound)
    scope: int = field(default=99, repr=False, kw_only=True)  # depth of the frame that named it
    keras_name: str | None = field(default=None, repr=False, kw_only=True)  # `name=` given to Keras
    # A layer made on one way of a condition bnlint cannot decide (its findings do not hold
    # on every path), or inside loops (made once per iteration: counted once).
    conditional: bool = field(default=False, repr=False, kw_only=True)
    in_loop: bool = field(default=False, repr=False, kw_only=True)
    # For the structure rules (BN008-BN010): the layer's literal settings, and per call the
    # objects whose outputs it took (None: something bnlint could not follow).
    config: dict[str, Any] = field(default_factory=dict, repr=False, kw_only=True)
    calls: list[tuple[Any, ...]] = field(default_factory=list, repr=False, kw_only=True)

    def answers_to(self, name: str) -> bool:
        """Whether `model.get_layer(name)` finds this object: by the name it was given, or
        a keras.applications base by the name Keras gives it ('mobilenetv2_1.00_224')."""
        if self.keras_name is not None:
            return self.keras_name == name
        label = getattr(self, "label", None)
        if getattr(self, "kind", None) == "application" and isinstance(label, str):
            return squash(name).startswith(squash(label))
        return False


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
    loaded_at: int | None = None  # event number of a later `load_weights(...)` of pretrained weights
    unknown: str | None = None  # why bnlint cannot tell what BN layers it has (a model file not read)

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
    loaded_at: int | None = None  # event number of a `model.load_weights(...)` that filled it


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
    upto: int | None = None  # a head on `base.get_layer(...).output`: only layers before this index
    text: str | None = None  # how the script spells a flat use, when not `base.output`
    start: int = 0  # `Sequential([..., *base.layers[1:-5], ...])`: only layers from this index


@dataclass(eq=False)
class Model(Obj):
    kind: str  # "functional", "sequential", "self"
    uses: list[Use] = field(default_factory=list)
    bns: list[BNLayer] = field(default_factory=list)
    members: list[Obj] = field(default_factory=list)  # objects whose trainable flags matter
    slots: list[Any] | None = field(default_factory=list)  # model.layers, in order; None: unknown
    attrs: dict[str, Any] = field(default_factory=dict)  # `self.x = ...` of a keras.Model subclass
    cls: Any = None  # the ClassValue of a keras.Model subclass
    outputs: list[Any] = field(default_factory=list)  # output tensors (Functional, traced subclass)


@dataclass(eq=False)
class Instance(Obj):
    """An object of a class the script defines (a trainer keeping `self.model`)."""

    cls: Any
    attrs: dict[str, Any] = field(default_factory=dict)


# ---------------------------------------------------------------- values


@dataclass(frozen=True)
class QName:
    """A name reached through the script's imports: 'keras.applications.ResNet50'."""

    path: str

    @property
    def last(self) -> str:
        return self.path.rsplit(".", 1)[-1]


@dataclass(frozen=True)
class Template:
    """An f-string with parts bnlint cannot know: only `eval(...)` of it is followed."""

    text: str
    HOLE = "__bnlint_unknown__"  # a name no script binds: evaluates to UNKNOWN


@dataclass(frozen=True)
class Foreign:
    """An object of a library that has nothing to do with Keras (an sklearn encoder)."""

    path: str


@dataclass(frozen=True)
class Tensor:
    uses: tuple[Use, ...] = ()
    bns: tuple[BNLayer, ...] = ()
    chain: tuple[Any, ...] | None = ()  # layer slots applied since the inputs; None: unknown
    inputs_of: Base | None = None  # `base.input`
    last: Any = None  # the layer (or Input) whose output this is; None: unknown


@dataclass(frozen=True)
class LayerList:
    owner: Obj  # Base or Model
    start: int | None = None
    stop: int | None = None


@dataclass(frozen=True)
class Length:
    """`len(x.layers)` (+ offset) when the count is not known: still exact as a slice bound
    of the same list (`x.layers[:len(x.layers) - 3]` is `x.layers[:-3]`)."""

    items: LayerList
    offset: int = 0


@dataclass(frozen=True)
class SomeLayers:
    """`x.layers[a:b]` with bounds bnlint cannot work out: some layers of `owner` (a loop
    over them touches that object only)."""

    owner: Any


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
    node: ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda
    scope: Any = field(default=None, compare=False)  # the frame it was defined in (closures, globals)
    unit: Any = field(default=None, compare=False)  # the file it was defined in


@dataclass(frozen=True)
class BoundMethod:
    func: Func
    receiver: Any


@dataclass(eq=False)
class ClassValue:
    node: ast.ClassDef
    scope: Any
    unit: Any
    parents: list[Any]
    keras_model: bool  # a keras.Model subclass
    attrs: dict[str, Any] = field(default_factory=dict)  # class-level constants

    def constant(self, name: str) -> Any:
        if name in self.attrs:
            return self.attrs[name]
        for parent in self.parents:
            if isinstance(parent, ClassValue):
                found = parent.constant(name)
                if found is not UNKNOWN:
                    return found
        return UNKNOWN

    def method(self, name: str) -> ast.FunctionDef | None:
        for statement in self.node.body:
            if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef)) and statement.name == name:
                return statement
        for parent in self.parents:
            if isinstance(parent, ClassValue):
                found = parent.method(name)
                if found is not None:
                    return found
        return None

    def owner_of(self, name: str) -> ClassValue | None:
        if any(isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef)) and s.name == name for s in self.node.body):
            return self
        return next((p.owner_of(name) for p in self.parents if isinstance(p, ClassValue) and p.owner_of(name)), None)


@dataclass(frozen=True)
class Super:
    """`super()` inside a method of class `owner`: methods are looked up in its parents."""

    owner: ClassValue
    instance: Any


def decorated(node: ast.AST, name: str) -> bool:
    return any(isinstance(d, ast.Name) and d.id == name for d in getattr(node, "decorator_list", []))


@dataclass(eq=False)
class ModuleNS:
    """A local module of the script's repository, interpreted (never imported)."""

    path: str
    names: dict[str, Any]


@dataclass(eq=False)
class Options:
    """An argparse parser or the namespace it parses: option defaults, and which of
    them the analysis relied on."""

    defaults: dict[str, tuple[Any, str]] = field(default_factory=dict)  # dest -> (default, '--flag')
    attrs: dict[str, Any] = field(default_factory=dict)
    parsed: bool = False


@dataclass(frozen=True)
class LayerRef:
    """One layer inside a base with a known layer table, while a loop visits them one by one."""

    base: Any
    index: int
    kind: str  # "bn" or "other"
    name: str | None


@dataclass(frozen=True)
class Indices:
    """`range(len(x.layers))` when the length is not known: indices into a layer list."""

    items: LayerList


@dataclass(frozen=True)
class Index:
    """The loop variable over Indices: an index of a BN layer or of another layer."""

    element: Elem


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


def bn_trainable(base: Base, flags: Flags, upto: int | None = None, start: int = 0) -> tuple[int, int | None] | None:
    """(trainable BN layers, total BN layers or None) of a base, counting only the layers
    in [start, upto) when the model uses just that part of it; None if unknown."""
    if flags.layers is not None:
        stop = len(flags.layers) if upto is None else min(upto, len(flags.layers))
        states = [flags.layers[i] for i in base.info.bn if start <= i < stop]
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
    after: dict[Obj, Flags] = field(default_factory=dict)  # the targets' flags right after it


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
    notes: list[tuple[int, str]]
    settings: list[str] = field(default_factory=list)  # script defaults the analysis relied on
    assumed: list[str] = field(default_factory=list)  # what bnlint assumed, for the context line
    generation: Generation = Generation.KERAS3  # set once the imports are resolved (versions.resolve)
    keras_version: str | None = None
    keras_how: str = ""
    cache: dict[str, Any] = field(default_factory=dict)  # derived views shared by rules

    def trainings(self) -> Iterator[Train]:
        return (e for e in self.events if isinstance(e, Train))


# ---------------------------------------------------------------- names and helpers


def squash(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


@lru_cache(maxsize=4096)  # a script spells the same few dotted paths many times
def canonical(path: str) -> tuple[str | None, str]:
    """('tf.keras' | 'keras' | 'tf_keras' | None, path with the Keras root spelled 'keras')."""
    for prefix, flavour in (
        ("tensorflow.compat.v1.keras", "tf.keras"),
        ("tensorflow.compat.v2.keras", "tf.keras"),
        ("tensorflow.python.keras", "tf.keras"),
        ("tensorflow.keras", "tf.keras"),
        ("keras._tf_keras.keras", "tf.keras"),  # where `tensorflow.keras` lives in TF >= 2.16
        ("keras.api._v2.keras", "tf.keras"),  # and in TF 2.9-2.15
        ("tf_keras", "tf_keras"),
        ("keras", "keras"),
    ):
        if path == prefix or path.startswith(prefix + "."):
            rest = path[len(prefix) :].replace(".src.", ".")
            return flavour, "keras" + rest
    return None, path


def join_flags(mine: Flags | None, theirs: Flags | None, obj: Obj) -> Flags:
    if mine is None or theirs is None:
        known = mine or theirs
        return replace(known, own=None, bn=None, other=None, layers=unknown_layers(known))
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


def unknown_layers(flags: Flags) -> tuple | None:
    return (None,) * len(flags.layers) if flags.layers is not None else None


def is_environ(node: ast.expr) -> bool:
    return isinstance(node, ast.Attribute) and node.attr == "environ" and isinstance(node.value, ast.Name)


def plain(value: Any) -> bool:
    return value is None or isinstance(value, (bool, int, float, str))


def number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def is_count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def int_or_none(value: Any) -> bool:
    return value is None or (isinstance(value, int) and not isinstance(value, bool))


def literal(values: list[Any]) -> str:
    return repr(values[0]) if values and plain(values[0]) else "..."


def tensors_in(value: Any) -> Iterator[Tensor]:
    if isinstance(value, Tensor):
        yield value
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from tensors_in(item)
    elif isinstance(value, dict):
        for item in value.values():
            yield from tensors_in(item)


def merge_tensors(args: list[Any], kwargs: dict[str, Any]) -> Any:
    """An unknown function of tensors: its result depends on them, in ways unknown."""
    tensors = [*tensors_in(args), *tensors_in(list(kwargs.values()))]
    if not tensors:
        # a dataset through a wrapper bnlint does not know (`tqdm(ds)`,
        # `strategy.experimental_distribute_dataset(ds)`): still that dataset's batches
        data = [a for a in [*args, *kwargs.values()] if isinstance(a, Data)]
        return data[0] if len(data) == 1 and data[0].batch else UNKNOWN
    uses = tuple(dict.fromkeys(u for t in tensors for u in t.uses))
    bns = tuple(dict.fromkeys(b for t in tensors for b in t.bns))
    # An operation on tensors, as Keras records one (a TFOpLambda / ops layer): it consumes them.
    op = Layer(Pos(0, 0), "?", "TFOpLambda", calls=[tuple(t.last for t in tensors)])
    return Tensor(uses=uses, bns=bns, chain=None, last=op)


def leading_size(maker: str, args: list[Any], kwargs: dict[str, Any]) -> int | None:
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
    return shape if is_count(shape) else None


def class_name_test(name: ClassName, text: str, op: ast.cmpop, name_left: bool) -> Any:
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


def batch_attribute(attrs: Any) -> int | None:
    """The batch size an object of the script keeps (`self.batch_size`, `self._batch_size`)."""
    from .brain import BATCH_PARAMS

    if not isinstance(attrs, dict):
        return None
    for name in BATCH_PARAMS:
        for key in (name, f"_{name}"):
            if is_count(attrs.get(key)):
                return attrs[key]
    return None
