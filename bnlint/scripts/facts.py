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
import os
from dataclasses import dataclass, field, replace
from typing import Any

from .applications import lookup
from .brain import BATCH_PARAMS, CONVENTIONAL, KERAS_SUBMODULES, KNOWN_LIBRARIES, STR_METHODS, builder
from .fragments import bound_names, defining_file, definitions, earlier_files
from .keras_calls import KerasCalls
from .local_modules import find_module, read_module
from .objects import (
    ANCHORS,
    BN_NAMES,
    LINE_BREAK,
    MAX_DEPTH,
    ORIGINS,
    UNKNOWN,
    Base,
    BNLayer,
    BoundMethod,
    ClassName,
    ClassValue,
    Data,
    Elem,
    Event,
    Flags,
    Func,
    Index,
    Indices,
    Instance,
    Layer,
    LayerList,
    LayerRef,
    Length,
    Model,
    ModuleNS,
    Obj,
    Options,
    Pos,
    QName,
    ScriptFacts,
    SetTrainable,
    SomeLayers,
    Super,
    Template,
    Tensor,
    Train,
    Use,
    batch_attribute,
    canonical,
    class_name_test,
    decorated,
    int_or_none,
    is_count,
    is_environ,
    join_flags,
    merge_tensors,
    number,
    plain,
    pos,
    tensors_in,
)
from .settings_files import OpenFile
from .trainable import TrainableAssignments

HANDLERS: dict[tuple[str, type], Any] = {}  # ("e_", ast.Call) -> Interpreter.e_Call, found once
MAX_UNROLL = 2000  # layers visited one by one (the largest keras.applications base has 814)
MAX_LITERAL_LOOP = 16
MAX_COMPUTED = 256  # items of a comprehension over known values that are computed


class _Frame:
    def __init__(self, names: dict[str, Any], parent: _Frame | None = None):
        self.names = names
        self.parent = parent  # the enclosing scope: a closure's frame, else the module's
        self.returned: Any = UNKNOWN
        self.done = False


@dataclass
class Unit:
    """A file whose code the interpreter runs: the linted script or a local module."""

    path: str | None
    text: str
    lines: list[str] | None = field(default=None, repr=False)


NOTES_PER_LINE = 3
MODEL_CLASSES = ("Model", "Sequential", "Functional")  # never layers, whatever module is star-imported


class Interpreter(KerasCalls, TrainableAssignments):
    def __init__(self, tree: ast.Module, text: str, path: str | None = None):
        self.tree = tree
        self.main = Unit(path, text)
        self.unit = self.main
        self.globals: dict[str, Any] = {}
        self.frames: list[_Frame] = [_Frame(self.globals)]
        self.modules: dict[str, ModuleNS | None] = {}  # local modules read, by file
        self.classes: list[ClassValue] = []
        self.instances: list[Any] = []
        self.settings: list[str] = []
        self.assumed: list[str] = []
        self.absl: dict[str, tuple[Any, str]] = {}
        self.call_nodes: list[ast.Call] = []
        self.pending: dict[ast.AST, tuple[list[Obj], set, ast.AST]] | None = (
            None  # trainable changes of a layer-by-layer loop
        )
        self.flags: dict[Obj, Flags] = {}
        self.events: list[Event] = []
        self.bases: list[Base] = []
        self.models: list[Model] = []
        self.bns: list[BNLayer] = []
        self.flavours: set[str] = set()
        self.legacy_env = False
        self.stars: list[str] = []  # modules star-imported from (`from keras.layers import *`)
        self.called: set[int] = set()  # ids of the function nodes called
        self.repeats: list[int | None] = []
        self.compiled: dict[Model, dict[Obj, Flags]] = {}
        self.traced: dict[Model, tuple[dict[Obj, Flags], int] | None] = {}
        self.self_models: dict[Base, Model] = {}
        self.renorm_schedule = False
        self.image_data_format = "channels_last"  # until the script sets it (keras.backend)
        self.fallback_anchor: Pos | None = None  # where code of another file reports without a call
        self.trying = 0  # depth of try blocks with handlers
        self.unsure = 0  # depth of branches on conditions bnlint cannot decide
        self.layer_names: dict[str, int] = {}  # layers made per class: Keras' automatic names
        self.fragments: dict[str, list[str]] = {}  # file of the folder -> names taken from it
        self.in_fragment = 0  # depth of top-level code of other cells being run
        self.series_run = False  # whether the files before this one in its folder were read
        self.from_fragments: set[int] = set()  # ids of bases, models and BN layers other cells made
        self._bound: set[str] | None = None  # every name the linted file binds (bound_somewhere)
        self._siblings: dict[str | None, dict[str, tuple[str, ...]]] = {}  # file -> sibling_names()
        self.notes: list[tuple[int, str]] = []  # (line, what could not be followed)
        self.notes_held: dict[int, int] = {}  # line -> notes past NOTES_PER_LINE, counted only
        self.stack: list[Func] = []
        self.loops: list[str] = []  # headers of the enclosing `for layer in <layers>` loops
        self.assigned: ast.AST = ast.Constant(None)  # the value node of the assignment being bound

    # -- driving

    def run(self) -> ScriptFacts:
        self.block(self.tree.body)
        # Functions and classes nobody calls are entry points of their own (a notebook
        # fragment, a module run by another script): analyse them as if called.
        for node in self.tree.body:
            value = self.globals.get(getattr(node, "name", None))
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and id(node) not in self.called:
                if isinstance(value, Func) and value.node is node:
                    self.call_function(value, [], {})
            elif isinstance(node, ast.ClassDef) and isinstance(value, ClassValue) and value.node is node:
                if not any(getattr(i, "cls", None) is value for i in self.instances) and not value.keras_model:
                    self.instantiate(node, value, [], {})
        for instance in list(self.instances):  # methods never called, in the order written
            cls = instance.cls
            if cls is None or cls.keras_model:
                continue
            for statement in cls.node.body:
                if (
                    isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef))
                    and id(statement) not in self.called
                    and not statement.name.startswith("__")
                ):
                    self.fallback_anchor = instance.pos  # code of a local module reports where it was made
                    self.call_function(Func(statement, cls.scope, cls.unit), [instance], {})
                    self.fallback_anchor = None
        if self.fragments:
            taken = "; ".join(
                f"{', '.join(dict.fromkeys(names))} from {file}" for file, names in self.fragments.items()
            )
            self.assumed.append(f"names this file uses but never defines are taken from files of its folder: {taken}")
        for event in self.events:  # a loaded model that is trained: say why its BN layers are unknown
            if isinstance(event, Train):
                for use in event.model.uses:
                    if use.base.unknown and use.base.info is None:
                        self.add_note(use.base.pos.line, use.base.unknown)
        self.keep_fragments_this_file_trains()
        for line, count in self.notes_held.items():
            self.notes.append((line, f"and {count} more {'note' if count == 1 else 'notes'} like these from this line"))
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
            self.settings,
            self.assumed,
        )

    def mark_fragment(self, obj: Any) -> None:
        if self.in_fragment:
            self.from_fragments.add(id(obj))

    def keep_fragments_this_file_trains(self) -> None:
        """What other cells built is judged in the file that trains it: here only if this
        file trains it too (else each later cell would repeat the earlier cells' findings)."""
        if not self.from_fragments:
            return
        trained = {id(e.model) for e in self.events if isinstance(e, Train)}
        trained |= {id(u.base) for e in self.events if isinstance(e, Train) for u in e.model.uses}
        keep = trained | {id(o) for o in self.bases + self.models + self.bns} - self.from_fragments
        self.bases = [b for b in self.bases if id(b) in keep]
        self.models = [m for m in self.models if id(m) in keep]
        self.bns = [b for b in self.bns if id(b) in keep]

    def block(self, statements: list[ast.stmt]) -> None:
        frame = self.frames[-1]
        for statement in statements:
            if frame.done:
                return
            handler = HANDLERS.get(("s_", type(statement)))
            if handler is None:
                handler = HANDLERS[("s_", type(statement))] = getattr(
                    type(self), "s_" + type(statement).__name__, False
                )
            if handler:
                handler(self, statement)

    def segment(self, node: ast.AST) -> str:
        """The source of a node (ast.get_source_segment re-splits the whole file per call)."""
        unit = self.unit
        if unit.lines is None:
            unit.lines = [line + "\n" for line in LINE_BREAK.split(unit.text)]  # ast's own line numbering
        try:
            first, last = node.lineno - 1, node.end_lineno - 1
            lines = [line.encode() for line in unit.lines[first : last + 1]]  # offsets count UTF-8 bytes
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
        if self.unit is not self.main:  # named as messages name it: from the linted file's folder
            text = f"{self.origin_label(self.unit) or self.unit.path}, line {node.lineno}: {text}"
        self.add_note(pos(node).line, text)

    def add_note(self, line: int, text: str) -> None:
        if (line, text) in self.notes:
            return
        if sum(1 for at, _ in self.notes if at == line) < NOTES_PER_LINE:
            self.notes.append((line, text))
        else:  # a loop over hundreds of settings files: a few notes say it, the count says the rest
            self.notes_held[line] = self.notes_held.get(line, 0) + 1

    def emit(self, event_type: type, node: ast.AST, **values: Any) -> Event:
        event = event_type(pos=pos(node), seq=len(self.events), **values)
        if not (self.in_fragment and event_type is Train):
            self.events.append(event)
        return event

    # -- names

    def lookup(self, name: str) -> Any:
        frame: _Frame | None = self.frames[-1]
        while frame is not None:
            if name in frame.names:
                return frame.names[name]
            frame = frame.parent
        if name == "__name__":
            return "__main__" if self.unit is self.main else "module"
        if name == "__file__" and self.unit.path is not None:
            return os.path.abspath(self.unit.path)
        if self.stars:
            found = self.star_name(name)
            if found is not None:
                return found
        if name in CONVENTIONAL:  # a fragment that uses `tf` or `layers` without importing it
            path = CONVENTIONAL[name]
            where = "" if self.unit is self.main else f" in {os.path.basename(self.unit.path or '?')}"
            said = f"`{name}` is used without an import{where}: taken as {path}"
            if said not in self.assumed and self.unit is self.main:
                self.assumed.append(said)
            self.note_flavour(path)
            return QName(path)
        return UNKNOWN

    def star_name(self, name: str) -> QName | None:
        """A name no statement binds, from `from keras.applications import *` and the like.
        Application names first: every capitalised name would pass for a layer."""
        modules = [(m, canonical(m)[1]) for m in reversed(self.stars)]
        if lookup(name) is not None:
            for module, path in modules:
                if path.startswith("keras.applications"):
                    return QName(f"{module}.{name}")
        # A specific kind before the generic capitalised layer: with both `keras.models import *`
        # and `keras.layers import *`, Model is keras.models.Model, not a layer.
        found = [(m, p, builder(f"{p}.{name}")) for m, p in modules if not p.startswith("keras.applications")]
        for module, path, known in found:
            if (path == "keras" and name in KERAS_SUBMODULES) or (known is not None and known[0] != "layer"):
                return QName(f"{module}.{name}")
        for module, _, known in found:
            if known is not None and name not in MODEL_CLASSES:
                return QName(f"{module}.{name}")
        return None

    def bind_all(self, target: ast.expr, value: Any) -> None:
        """Every name in `target` (`x, (y, w)`) gets `value`."""
        if isinstance(target, (ast.Tuple, ast.List)):
            for element in target.elts:
                self.bind_all(element, value)
        else:
            self.bind(target, value)

    def bind(self, target: ast.expr, value: Any) -> None:
        if isinstance(target, ast.Name):
            self.frames[-1].names[target.id] = value
            if isinstance(value, Obj) and len(self.frames) < value.scope:
                value.name, value.scope = target.id, len(self.frames)
        elif isinstance(target, (ast.Tuple, ast.List)) and isinstance(value, Data):
            self.bind_all(target, value)  # `images, labels = next(iter(train_ds))`: parts of one batch
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
            local = self.local_module(node, alias.name, 0)
            if local is not None and (alias.asname or "." not in alias.name):
                self.frames[-1].names[alias.asname or alias.name] = local
            elif alias.asname:
                self.frames[-1].names[alias.asname] = QName(alias.name)
            else:
                root = alias.name.split(".", 1)[0]
                self.frames[-1].names[root] = QName(root)

    def s_ImportFrom(self, node: ast.ImportFrom) -> None:
        module = node.module or ""
        self.note_flavour(module)
        local = self.local_module(node, module, node.level) if module or node.level else None
        for alias in node.names:
            if alias.name == "*":
                if local is not None:
                    self.frames[-1].names.update({k: v for k, v in local.names.items() if not k.startswith("_")})
                elif canonical(module)[0] is not None:
                    self.stars.append(module)
                continue
            name = alias.asname or alias.name
            if local is not None and alias.name in local.names:
                self.frames[-1].names[name] = local.names[alias.name]
                continue
            submodule = self.local_module(node, f"{module}.{alias.name}" if module else alias.name, node.level)
            if submodule is not None:
                self.frames[-1].names[name] = submodule
                continue
            self.frames[-1].names[name] = QName(f"{module}.{alias.name}") if local is None else UNKNOWN
            self.note_flavour(f"{module}.{alias.name}")

    def local_module(self, node: ast.AST, module: str, level: int) -> ModuleNS | None:
        """A module of the script's own repository, read and interpreted once (never imported)."""
        if self.unit.path is None or canonical(module)[0] is not None:
            return None
        if level == 0 and module.split(".", 1)[0] in KNOWN_LIBRARIES:
            return None  # what its calls build is in the brain; its own sources are not followed
        path = find_module(self.unit.path, module, level)
        if path is None:
            return None
        return self.read_local(node, path, module)

    def read_local(
        self, node: ast.AST, path: str, module: str, fragment: bool = False, speculative: bool = False
    ) -> ModuleNS | None:
        """Interpret a file of the script's repository once, in a namespace of its own
        (`speculative`: an earlier cell read in case it changes something; silent if unreadable)."""
        if path in self.modules:
            return self.modules[path]
        self.modules[path] = None  # an import cycle stops here
        read = read_module(path)
        if read is None:
            if speculative:
                del self.modules[path]  # a name taken from it later says it could not be read
                return None
            what = f"{module}, a file of this folder," if fragment else f"local module {module}"
            self.note(node, f"{what} could not be read; what it builds is not followed")
            return None
        tree, text = read
        namespace = ModuleNS(path, {})
        self.modules[path] = namespace
        # The top level of a file of a notebook cut into files: what it trains is linted with
        # it, not here (functions it defines and this file calls are this file's code).
        self.in_fragment += fragment
        try:
            self.run_unit(Unit(path, text), node, lambda: self.block_in(tree.body, namespace.names))
        finally:
            self.in_fragment -= fragment
        return namespace

    def fragment_value(self, node: ast.Name) -> Any:
        """A name this file never binds, defined by another file of its folder: the notebook
        was cut into files that run in one session (see fragments.py). A file that uses a
        name it never binds cannot run alone: it runs after the file that defines it."""
        script = self.unit.path
        path = defining_file(script, node.id) if script is not None else None
        if path is None:
            return UNKNOWN
        if self.unit is self.main and not self.series_run:
            # The cells before this one ran first, in order: a later cell may change what an
            # earlier one built (`for layer in base_model.layers: layer.trainable = False`).
            self.series_run = True
            for earlier in earlier_files(script):
                self.read_local(node, earlier, os.path.basename(earlier), fragment=True, speculative=True)
        module = self.read_local(node, path, os.path.basename(path), fragment=True)
        value = module.names.get(node.id, UNKNOWN) if module is not None else UNKNOWN
        if value is UNKNOWN:
            return UNKNOWN
        if self.unit is self.main:  # the context line names what the linted file took, and from where
            self.fragments.setdefault(os.path.basename(path), []).append(node.id)
        return value

    def run_unit(self, unit: Unit, anchor: ast.AST, body) -> Any:
        """Run code of another file with positions anchored at the linted file's statement."""
        outer = self.unit
        anchored = outer is self.main
        if anchored:
            ANCHORS.append(anchor if isinstance(anchor, Pos) else pos(anchor))
        self.unit = unit
        ORIGINS.append(self.origin_label(unit))
        try:
            return body()
        finally:
            ORIGINS.pop()
            self.unit = outer
            if anchored:
                ANCHORS.pop()

    def origin_label(self, unit: Unit) -> str | None:
        """How messages name another file: relative to the linted script's folder."""
        if unit.path is None or self.main.path is None or unit.path == self.main.path:
            return None
        return os.path.relpath(unit.path, os.path.dirname(os.path.abspath(self.main.path)))

    def block_in(self, statements: list[ast.stmt], names: dict[str, Any]) -> None:
        self.frames.append(_Frame(names))
        try:
            self.block(statements)
        finally:
            self.frames.pop()

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
            chosen, other = (node.body, node.orelse) if test else (node.orelse, node.body)
            if chosen and isinstance(chosen[0], ast.Raise):
                chosen = other  # the values assumed make the script fail here: a run takes the other way
            self.block(chosen)
            return
        self.branches(node.body, node.orelse)

    def branches(self, body: list[ast.stmt], orelse: list[ast.stmt]) -> None:
        """Both ways of an unknown condition; flags that differ become unknown, and so do
        names bound to different values (tensors: both ways feed what follows)."""
        before, names = dict(self.flags), self.frames[-1].names
        names_before = dict(names)
        self.unsure += 1
        try:
            self.block(body)
            after_body, self.flags = self.flags, dict(before)
            names_body = dict(names)
            names.clear()
            names.update(names_before)
            self.frames[-1].done = False
            self.block(orelse)
        finally:
            self.unsure -= 1
        for obj in set(after_body) | set(self.flags):
            mine, theirs = self.flags.get(obj), after_body.get(obj)
            if obj not in before:  # made in one branch: it has only that branch's flags
                self.flags[obj] = mine or theirs
            elif mine is None or theirs is None or not mine.same(theirs):
                self.flags[obj] = join_flags(mine, theirs, obj)
        for name, value in names_body.items():
            if name not in names:
                names[name] = value  # bound on the first way only
            elif names[name] is not value:
                names[name] = join_values(value, names[name])
        self.frames[-1].done = False

    def s_For(self, node: ast.For) -> None:
        source = self.ev(node.iter)
        numbered = isinstance(source, tuple) and len(source) == 3 and source[0] == "enumerate"
        items = source[1] if numbered else source
        if isinstance(items, LayerList):
            expanded = self.expand(items) if needs_each_layer(node) else None
            if expanded is not None and len(expanded) <= MAX_UNROLL:
                self.layer_by_layer(node, expanded, source[2] + (items.start or 0) if numbered else None)
            else:
                self.loops.append(f"for {self.segment(node.target)} in {self.segment(node.iter)}: ")
                for kind in ("bn", "other"):
                    element = Elem(items, kind)
                    self.bind(node.target, (UNKNOWN, element) if numbered else element)
                    self.block(node.body)
                    self.frames[-1].done = False
                self.loops.pop()
        elif isinstance(items, Indices):
            self.loops.append(f"for {self.segment(node.target)} in {self.segment(node.iter)}: ")
            for kind in ("bn", "other"):
                self.bind(node.target, Index(Elem(items.items, kind)))
                self.block(node.body)
                self.frames[-1].done = False
            self.loops.pop()
        elif isinstance(items, range) and len(items) <= MAX_UNROLL and self.indexes_layers(node):
            self.layer_by_layer(node, list(items), None)
        elif isinstance(items, SomeLayers):  # some layers of one object: only it is touched
            self.bind(node.target, (UNKNOWN, items) if numbered else items)
            self.block(node.body)
        elif isinstance(items, Data):  # `for x, y in train_ds:` each item is a batch of it
            if numbered and isinstance(node.target, (ast.Tuple, ast.List)) and len(node.target.elts) == 2:
                self.bind(node.target.elts[0], source[2])
                self.bind_all(node.target.elts[1], items)
            else:
                self.bind_all(node.target, items)
            self.block(node.body)
        elif isinstance(items, (list, tuple, dict, str)) and 0 < len(items) <= MAX_LITERAL_LOOP:
            for index, item in enumerate(list(items)):  # literal values (backbones, learning rates): each one
                self.bind(node.target, (source[2] + index, item) if numbered else item)
                self.block(node.body)
                self.frames[-1].done = False
        else:
            count = len(items) if isinstance(items, range) else None
            # the first iteration is the one Keras traces (`for fold in range(5)`: fold 0)
            first = items[0] if isinstance(items, range) and len(items) else UNKNOWN
            self.bind(node.target, (source[2], UNKNOWN) if numbered else first)
            self.repeats.append(count)
            self.block(node.body)
            self.repeats.pop()
        self.block(node.orelse)

    def indexes_layers(self, node: ast.For) -> bool:
        """`for i in range(n): base.layers[i]...`: the body indexes a layer list by the loop variable."""
        if not isinstance(node.target, ast.Name):
            return False
        name = node.target.id
        return any(
            isinstance(sub, ast.Subscript)
            and isinstance(sub.value, ast.Attribute)
            and sub.value.attr == "layers"
            and any(isinstance(n, ast.Name) and n.id == name for n in ast.walk(sub.slice))
            for statement in node.body
            for sub in ast.walk(statement)
        )

    def layer_by_layer(self, node: ast.For, elements: list[Any], numbered: int | None) -> None:
        """A loop over the layers of a base whose layer table is known: one pass per layer,
        so index and name tests are decided; the trainable changes are one event."""
        outer, self.pending = self.pending, {}
        self.loops.append(f"for {self.segment(node.target)} in {self.segment(node.iter)}: ")
        try:
            for index, element in enumerate(elements):
                self.bind(node.target, (numbered + index, element) if numbered is not None else element)
                self.block(node.body)
                self.frames[-1].done = False
            pending = self.pending
        finally:
            self.loops.pop()
            self.pending = outer
        for target, (changed, values, value_node) in pending.items():
            value = values.pop() if len(values) == 1 else None
            assignment = self.assignment_text(target, value_node)
            text = f"for {self.segment(node.target)} in {self.segment(node.iter)}: ... {assignment}"
            if changed:
                targets = list(dict.fromkeys(changed))
                after = {t: self.flags[t] for t in targets if t in self.flags}
                self.emit(SetTrainable, target, targets=targets, value=value, text=text, after=after)

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
        self.trying += bool(node.handlers)  # `try: model.load_weights(...)`: there may be none yet
        try:
            self.block(node.body)
        finally:
            self.trying -= bool(node.handlers)
        self.block(node.orelse)
        self.block(node.finalbody)

    s_TryStar = s_Try

    def s_FunctionDef(self, node: ast.FunctionDef) -> None:
        self.frames[-1].names[node.name] = Func(node, self.frames[-1], self.unit)

    s_AsyncFunctionDef = s_FunctionDef

    def s_ClassDef(self, node: ast.ClassDef) -> None:
        bases = [self.ev(b) for b in node.bases]
        if any(isinstance(b, QName) and b.last == "Callback" for b in bases):
            if any(word in self.segment(node) for word in ("rmax", "dmax", "renorm_clipping")):
                self.renorm_schedule = True
        keras_model = any(
            (isinstance(b, QName) and canonical(b.path)[0] is not None and b.last in ("Model", "Sequential"))
            or (isinstance(b, ClassValue) and b.keras_model)
            for b in bases
        )
        value = ClassValue(node, self.frames[-1], self.unit, bases, keras_model)
        for statement in node.body:  # class-level constants: `input_size = 224`
            if isinstance(statement, ast.Assign) and isinstance(statement.value, (ast.Constant, ast.Tuple, ast.List)):
                constant = self.ev(statement.value)
                for target in statement.targets:
                    if isinstance(target, ast.Name):
                        value.attrs[target.id] = constant
        self.classes.append(value)
        self.frames[-1].names[node.name] = value

    def instantiate(self, node: ast.AST, cls: ClassValue, args: list[Any], kwargs: dict[str, Any]) -> Any:
        """`Trainer(...)`: an Instance whose `__init__` runs; a keras.Model subclass is a
        Model whose BN wiring is its `call(x, training=True)`, as fit() traces it."""
        if cls.keras_model:
            obj: Any = Model(pos(node), "?", "subclass", cls=cls)
            obj.slots = None
        else:
            obj = Instance(pos(node), "?", cls)
        self.instances.append(obj)
        self.call_method(obj, "__init__", args, kwargs)
        if cls.keras_model:
            method = cls.method("call")
            params = [a.arg for a in method.args.args] if method is not None else []
            extra = {"training": True} if "training" in params else {}
            out = self.call_method(obj, "call", [Tensor()], extra) if method is not None else UNKNOWN
            traced = list(tensors_in(out))
            obj.outputs = traced
            if traced:
                for tensor in traced:
                    obj.uses.extend(u for u in tensor.uses if u not in obj.uses)
                    obj.bns.extend(b for b in tensor.bns if b not in obj.bns)
            else:  # call() not followed: how it wires its bases is unknown
                for value in obj.attrs.values():
                    if isinstance(value, Base):
                        obj.uses.append(Use(value, "call", UNKNOWN, pos(node)))
            for value in obj.attrs.values():
                if isinstance(value, (Base, BNLayer, Model, Layer)):
                    obj.members.append(value)
            self.register(obj)
        return obj

    def bound(self, cls: ClassValue, name: str, receiver: Any) -> Any:
        """A method looked up on an instance (bound), or on the class: static methods take
        no receiver, class methods the class, plain functions called on a class none."""
        owner = cls.owner_of(name)
        method = owner.method(name)
        func = Func(method, owner.scope, owner.unit)
        if decorated(method, "staticmethod"):
            return func
        if decorated(method, "classmethod"):
            return BoundMethod(func, cls)
        return func if isinstance(receiver, ClassValue) else BoundMethod(func, receiver)

    def call_method(self, obj: Any, name: str, args: list[Any], kwargs: dict[str, Any]) -> Any:
        cls = obj.cls
        owner = cls.owner_of(name)
        if owner is None:
            return UNKNOWN
        return self.call_function(Func(owner.method(name), owner.scope, owner.unit), [obj, *args], kwargs)

    def s_Return(self, node: ast.Return) -> None:
        frame = self.frames[-1]
        if frame.returned is UNKNOWN and node.value is not None:
            frame.returned = self.ev(node.value)
        frame.done = len(self.frames) > 1

    # -- expressions

    def ev(self, node: ast.expr | None) -> Any:
        if node is None:
            return None
        handler = HANDLERS.get(("e_", type(node)))
        if handler is None:
            handler = HANDLERS[("e_", type(node))] = getattr(type(self), "e_" + type(node).__name__, False)
        return handler(self, node) if handler else UNKNOWN

    def e_Constant(self, node: ast.Constant) -> Any:
        return node.value

    def e_Name(self, node: ast.Name) -> Any:
        value = self.lookup(node.id)
        if value is not UNKNOWN or node.id not in self.sibling_names():
            return value
        return UNKNOWN if node.id in self.bound_somewhere() else self.fragment_value(node)

    def sibling_names(self) -> dict[str, tuple[str, ...]]:
        """Names the other files of this file's folder define (for fragment_value)."""
        path = self.unit.path
        if path not in self._siblings:
            self._siblings[path] = {} if path is None else definitions(os.path.dirname(os.path.abspath(path)))
        return self._siblings[path]

    def bound_somewhere(self) -> set[str]:
        """Every name the linted file binds anywhere: a name bound later, or in a branch not
        taken, is the file's own; only names it never binds come from other files."""
        if self._bound is None:
            self._bound = bound_names(self.tree)
        return self._bound

    def e_List(self, node: ast.List) -> Any:
        return [self.ev(e) for e in node.elts]

    def e_Tuple(self, node: ast.Tuple) -> Any:
        return tuple(self.ev(e) for e in node.elts)

    def e_Dict(self, node: ast.Dict) -> Any:
        keys = [self.ev(k) for k in node.keys]
        values = [self.ev(v) for v in node.values]
        if any(k is None or not plain(k) for k in keys):  # `**other` or a key bnlint cannot know
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
        if isinstance(left, Tensor) or isinstance(right, Tensor):
            return merge_tensors([left, right], {})  # `x + shortcut`: an op on tensors
        if isinstance(left, Length) and isinstance(right, int) and isinstance(op, (ast.Add, ast.Sub)):
            return replace(left, offset=left.offset + (right if isinstance(op, ast.Add) else -right))
        if isinstance(right, Length) and isinstance(left, int) and isinstance(op, ast.Add):
            return replace(right, offset=right.offset + left)
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
        left = self.ev(node.left)
        result: Any = True
        for op, comparator in zip(node.ops, node.comparators, strict=True):
            right = self.ev(comparator)
            value = self.compare(left, op, right)
            if value is UNKNOWN:
                return UNKNOWN
            result = result and value
            left = right
        return result

    def compare(self, left: Any, op: ast.cmpop, right: Any) -> Any:
        for name, other in ((left, right), (right, left)):
            if isinstance(name, ClassName) and isinstance(other, str):
                return class_name_test(name, other, op, name is left)
        if isinstance(op, (ast.Is, ast.IsNot)) and plain(left) and plain(right):
            return (left is right) == isinstance(op, ast.Is)
        if isinstance(op, (ast.In, ast.NotIn)) and plain(left):
            if isinstance(right, str) and isinstance(left, str):
                return (left in right) == isinstance(op, ast.In)
            if isinstance(right, (list, tuple, dict, set)) and all(plain(r) for r in right):
                return (left in right) == isinstance(op, ast.In)
            return UNKNOWN
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
        if not plain(test):  # unknown: known only when both ways give the same plain value
            body, orelse = self.ev(node.body), self.ev(node.orelse)
            return body if plain(body) and body == orelse else UNKNOWN
        return self.ev(node.body if test else node.orelse)

    def e_Attribute(self, node: ast.Attribute) -> Any:
        value = self.ev(node.value)
        attr = node.attr
        if isinstance(value, QName):
            path = f"{value.path}.{attr}"
            if value.path.endswith("flags.FLAGS") and attr in self.absl:
                return self.setting(*self.absl[attr])
            self.note_flavour(path)
            return QName(path)
        if isinstance(value, ModuleNS):
            return value.names.get(attr, UNKNOWN)
        if isinstance(value, Options):
            if attr in value.attrs:
                return value.attrs[attr]
            if value.parsed and attr in value.defaults:
                return self.setting(*value.defaults[attr])
            return UNKNOWN
        attrs = getattr(value, "attrs", None)
        if isinstance(attrs, dict) and attr in attrs:
            return attrs[attr]
        cls = getattr(value, "cls", None)
        if isinstance(cls, ClassValue):
            if cls.owner_of(attr) is not None:
                return self.bound(cls, attr, value)
            if cls.constant(attr) is not UNKNOWN:
                return cls.constant(attr)
        if isinstance(value, Super):
            for parent in value.owner.parents:
                if isinstance(parent, ClassValue) and parent.owner_of(attr) is not None:
                    return self.bound(parent, attr, value.instance)
            return UNKNOWN
        if isinstance(value, ClassValue):
            if value.owner_of(attr) is not None:
                return self.bound(value, attr, value)
            return value.constant(attr)
        if isinstance(value, LayerRef):
            if attr == "name":
                return value.name if value.name is not None else UNKNOWN
            if attr == "__class__":
                return ("class", value.kind)
            if attr == "trainable":
                layers = self.flags[value.base].layers
                return layers[value.index] if layers is not None else UNKNOWN
            if attr == "output":  # a head on an intermediate layer: the layers up to it
                use = Use(value.base, "flat", None, pos(node), upto=value.index + 1, text=self.segment(node))
                return Tensor(uses=(use,), chain=None)
            if attr == "input" and value.index == 0:
                return Tensor(inputs_of=value.base)
            return UNKNOWN
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
        if isinstance(value, (Base, Model, BNLayer, Layer)) and attr == "trainable":
            return self.flags[value].own if value in self.flags else UNKNOWN
        if isinstance(value, Elem) and attr == "__class__":
            return ("class", value.kind)
        if isinstance(value, tuple) and len(value) == 2 and value[0] == "class" and attr == "__name__":
            return ClassName(value[1])
        return UNKNOWN

    def e_Subscript(self, node: ast.Subscript) -> Any:
        value = self.ev(node.value)
        index = node.slice
        if isinstance(index, ast.Slice):
            lower, upper = (self.slice_bound(value, self.ev(b)) for b in (index.lower, index.upper))
            if index.step is not None or not (int_or_none(lower) and int_or_none(upper)):
                if isinstance(value, LayerList):
                    return SomeLayers(value.owner)
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
        if isinstance(key, Data) and key.size is not None and not isinstance(value, (dict, LayerList)):
            return Data(size=key.size)  # `x_train[idx]` with idx = randint(0, n, batch)
        if isinstance(value, LayerList) and isinstance(key, Index) and value.owner is key.element.items.owner:
            return key.element if value.start is None and value.stop is None else UNKNOWN
        if isinstance(value, LayerList) and isinstance(key, int) and not isinstance(key, bool):
            expanded = self.expand(value)
            if expanded is not None and -len(expanded) <= key < len(expanded):
                return expanded[key]
            return self.layer_at(value, key)
        if isinstance(value, (list, tuple)) and isinstance(key, int) and -len(value) <= key < len(value):
            return value[key]
        if isinstance(value, dict) and plain(key):
            return value.get(key, UNKNOWN)
        return UNKNOWN

    def slice_bound(self, items: Any, bound: Any) -> Any:
        """`len(x.layers) - 3` as a bound of x.layers itself: -3."""
        if isinstance(bound, Length) and isinstance(items, LayerList) and bound.items == items:
            if items.start is None and items.stop is None and bound.offset <= 0:
                return bound.offset or None
        return bound

    def e_Call(self, node: ast.Call) -> Any:
        func = node.func
        if isinstance(func, ast.Attribute):
            receiver = self.ev(func.value)
            if isinstance(receiver, ModuleNS):
                callee = receiver.names.get(func.attr, UNKNOWN)
            elif isinstance(receiver, str) and func.attr in STR_METHODS:
                return self.str_method(node, receiver, func.attr)
            elif isinstance(receiver, dict) and func.attr in ("keys", "values", "items", "get"):
                return self.dict_method(node, receiver, func.attr)
            elif isinstance(receiver, list) and func.attr in ("append", "extend", "insert"):
                return self.list_method(node, receiver, func.attr)
            elif not isinstance(receiver, QName) or is_environ(func.value):
                callee = self.e_Attribute(func) if isinstance(receiver, (Instance, Model, ClassValue, Super)) else None
                if not isinstance(callee, (Func, BoundMethod, ClassValue, QName, Base, Model, BNLayer, Layer)):
                    return self.method(node, receiver, func.attr)
            else:
                callee = QName(f"{receiver.path}.{func.attr}")
                self.note_flavour(callee.path)
        else:
            callee = self.ev(func)
            if isinstance(func, ast.Name) and callee is UNKNOWN:
                return self.builtin(node, func.id)
        args = self.arguments(node)
        kwargs = {k.arg: self.ev(k.value) for k in node.keywords if k.arg}
        if isinstance(callee, QName):
            return self.construct(node, callee, args, kwargs)
        if isinstance(callee, BoundMethod):
            callee, args = callee.func, [callee.receiver, *args]
        if isinstance(callee, Func):
            self.call_nodes.append(node)
            try:
                result = self.call_function(callee, args, kwargs)
            finally:
                self.call_nodes.pop()
            return result if result is not UNKNOWN else self.batched_by(node, callee, args, kwargs)
        if isinstance(callee, ClassValue) or (
            isinstance(callee, Instance) and callee.cls is not None and callee.cls.owner_of("__call__")
        ):
            self.call_nodes.append(node)  # code of another file reports at this call
            try:
                if isinstance(callee, ClassValue):
                    return self.instantiate(node, callee, args, kwargs)
                return self.call_method(callee, "__call__", args, kwargs)
            finally:
                self.call_nodes.pop()
        if isinstance(callee, (Base, Model, BNLayer, Layer)):
            return self.apply(node, callee, args, kwargs)
        self.call_callbacks(args, kwargs)
        return merge_tensors(args, kwargs)

    def arguments(self, node: ast.Call) -> list[Any]:
        args: list[Any] = []
        for arg in node.args:
            if isinstance(arg, ast.Starred):
                value = self.ev(arg.value)
                if not isinstance(value, (list, tuple)):
                    return [UNKNOWN] * len(node.args)
                args.extend(value)
            else:
                args.append(self.ev(arg))
        return args

    def batched_by(self, node: ast.Call, func: Func, args: list[Any], kwargs: dict[str, Any]) -> Any:
        """A local data function (a generator) given a batch size: data in batches of that size."""
        if isinstance(func.node, ast.Lambda):
            return UNKNOWN
        params = [a.arg for a in (*func.node.args.posonlyargs, *func.node.args.args)]
        if params and params[0] == "self":
            params = params[1:]
            receiver, args = (args[0] if args else None), args[1:]
            attrs = getattr(receiver, "attrs", None)  # `gen = loader.generate_batch()`, its self.batch_size
            if not params and batch_attribute(attrs) is not None:
                return Data(batch=batch_attribute(attrs), batch_pos=pos(node))
        for name in BATCH_PARAMS:
            if name in params:
                index = params.index(name)
                value = args[index] if index < len(args) else kwargs.get(name, self.default_of(func, name))
                if is_count(value):
                    return Data(batch=value, batch_pos=pos(node))
        return UNKNOWN

    def default_of(self, func: Func, name: str) -> Any:
        params = func.node.args
        positional = [*params.posonlyargs, *params.args]
        defaults = [None] * (len(positional) - len(params.defaults)) + list(params.defaults)
        for param, default in zip(positional, defaults, strict=True):
            if param.arg == name and default is not None:
                return self.ev(default)
        return UNKNOWN

    def setting(self, value: Any, flag: str) -> Any:
        """A script option's default, which the analysis now relies on (said in the message)."""
        if plain(value):
            said = f"{flag} {value!r}" if not isinstance(value, bool) else f"{flag} {value}"
            if said not in self.settings:
                self.settings.append(said)
            return value
        return UNKNOWN

    def str_method(self, node: ast.Call, text: str, name: str) -> Any:
        args = self.arguments(node)
        if not all(plain(a) or isinstance(a, (list, tuple)) for a in args) or node.keywords:
            return UNKNOWN
        try:
            return getattr(text, name)(*args)
        except (TypeError, ValueError, IndexError, KeyError):
            return UNKNOWN

    def dict_method(self, node: ast.Call, mapping: dict, name: str) -> Any:
        args = self.arguments(node)
        if name == "get":
            return mapping.get(args[0], args[1] if len(args) > 1 else None) if args and plain(args[0]) else UNKNOWN
        return list(getattr(mapping, name)())

    def list_method(self, node: ast.Call, items: list, name: str) -> None:
        """`layers.append(Dense(2))`, `layers.extend(base.layers[1:-5])`: a list of layers built
        up before `Sequential(layers)`. Layers of a base stay one element (spliced in there)."""
        args = self.arguments(node)
        if name == "append" and len(args) == 1:
            items.append(args[0])
        elif name == "extend" and len(args) == 1:
            items.extend(args[0] if isinstance(args[0], (list, tuple)) else [args[0]])
        elif name == "insert" and len(args) == 2 and isinstance(args[0], int):
            items.insert(args[0], args[1])
        else:
            items.append(UNKNOWN)  # the list's content is no longer known

    def e_Lambda(self, node: ast.Lambda) -> Any:
        return Func(node, self.frames[-1], self.unit)

    def e_JoinedStr(self, node: ast.JoinedStr) -> Any:
        """An f-string: its text when every part is known; otherwise a Template that only
        `eval` uses, with the unknown parts as a name that evaluates to UNKNOWN."""
        parts, partial = [], False
        for value in node.values:
            if isinstance(value, ast.Constant):
                parts.append(str(value.value))
            elif isinstance(value, ast.FormattedValue) and value.format_spec is None and value.conversion == -1:
                inner = self.ev(value.value)
                if plain(inner) or (isinstance(inner, (tuple, list)) and all(plain(i) for i in inner)):
                    parts.append(str(inner))
                else:
                    parts.append(Template.HOLE)
                    partial = True
            else:
                return UNKNOWN
        return Template("".join(parts)) if partial else "".join(parts)

    def e_NamedExpr(self, node: ast.NamedExpr) -> Any:
        value = self.ev(node.value)
        self.bind(node.target, value)
        return value

    def e_ListComp(self, node: ast.ListComp) -> Any:
        """A comprehension over known values is computed (`[int(s) for s in "1,2".split(",")]`);
        others run once for their side effects (`[setattr(l, 'trainable', False) for l in ...]`)."""
        if len(node.generators) != 1:
            return UNKNOWN
        generator = node.generators[0]
        items = self.ev(generator.iter)
        frame = _Frame({"<items>": items}, self.frames[-1])
        self.frames.append(frame)
        try:
            if isinstance(items, (list, tuple, str, range)) and len(items) <= MAX_COMPUTED:
                values = []
                for item in items:
                    self.bind(generator.target, item)
                    if all(self.ev(test) is True for test in generator.ifs):
                        values.append(self.ev(node.elt))
                return values
            if not generator.ifs:
                loop = ast.For(
                    target=generator.target, iter=ast.Name("<items>", ast.Load()), body=[ast.Expr(node.elt)], orelse=[]
                )
                ast.copy_location(loop, node)
                ast.fix_missing_locations(loop)
                self.s_For(loop)
        finally:
            self.frames.pop()
        return UNKNOWN

    e_GeneratorExp = e_SetComp = e_ListComp

    # -- calls

    def builtin(self, node: ast.Call, name: str) -> Any:
        args = self.arguments(node)
        if name == "eval" and args and isinstance(args[0], (str, Template)):
            return self.eval_text(node, args[0] if isinstance(args[0], str) else args[0].text)
        if name == "super":
            return self.super_of(args)
        if name == "open" and args and isinstance(args[0], str):
            mode = args[1] if len(args) > 1 else next((self.ev(k.value) for k in node.keywords if k.arg == "mode"), "r")
            return OpenFile(args[0]) if isinstance(mode, str) and "r" in mode and "+" not in mode else UNKNOWN
        if name == "__import__" and args and isinstance(args[0], str):
            return self.import_module(node, args[0])
        if name == "getattr" and len(args) >= 2 and isinstance(args[1], str):
            attribute = ast.copy_location(ast.Attribute(value=node.args[0], attr=args[1], ctx=ast.Load()), node)
            return self.e_Attribute(attribute)
        if name == "setattr" and len(args) == 3 and isinstance(args[1], str) and len(node.args) == 3:
            target = ast.copy_location(ast.Attribute(value=node.args[0], attr=args[1], ctx=ast.Store()), node)
            target.spelled = self.segment(node)  # `setattr(layer, "trainable", True)`, as written
            self.assigned = node.args[2]
            self.bind(target, args[2])
            return None
        if name == "vars" and len(args) == 1 and isinstance(args[0], Options):
            return {k: self.setting(*v) for k, v in args[0].defaults.items()} | args[0].attrs
        if name == "isinstance" and len(args) == 2 and isinstance(args[0], (LayerRef, Base, Model, Layer, BNLayer)):
            classes = args[1] if isinstance(args[1], tuple) else (args[1],)
            if any(isinstance(c, QName) and c.last in BN_NAMES for c in classes):
                is_bn = isinstance(args[0], BNLayer) or (isinstance(args[0], LayerRef) and args[0].kind == "bn")
                return is_bn or (UNKNOWN if isinstance(args[0], Layer) else False)
            return UNKNOWN
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
            if isinstance(args[0], LayerList):
                expanded = self.expand(args[0])
                return len(expanded) if expanded is not None else Length(args[0])
            if isinstance(args[0], (list, tuple, str)):
                return len(args[0])
            return UNKNOWN
        if name == "range" and args and isinstance(args[-1 if len(args) < 3 else 1], Length):
            length = args[-1 if len(args) < 3 else 1]
            start = args[0] if len(args) > 1 else None
            unsliced = length.items.start is None and length.items.stop is None
            if len(args) <= 2 and int_or_none(start) and unsliced and length.offset <= 0:
                return Indices(LayerList(length.items.owner, start, length.offset or None))
            return UNKNOWN
        if name == "range" and args and all(isinstance(a, int) and not isinstance(a, bool) for a in args):
            try:
                return range(*args[:3])
            except (TypeError, ValueError):
                return UNKNOWN
        if name == "enumerate" and args:
            start = (
                args[1] if len(args) > 1 else self.ev(next((k.value for k in node.keywords if k.arg == "start"), None))
            )
            return ("enumerate", args[0], start if isinstance(start, int) else 0)
        if name in ("list", "tuple", "reversed", "iter") and len(args) == 1 and isinstance(args[0], LayerList):
            return args[0] if name != "reversed" else UNKNOWN
        if name in ("list", "tuple", "sorted", "reversed") and len(args) == 1 and not node.keywords:
            if isinstance(args[0], (list, tuple, dict, str, range)) and len(args[0]) <= MAX_COMPUTED:
                items = list(args[0])
                if name == "sorted":
                    try:
                        items = sorted(items)
                    except TypeError:
                        return UNKNOWN
                elif name == "reversed":
                    items.reverse()
                return tuple(items) if name == "tuple" else items
        if name == "dict" and len(args) <= 1:
            keywords = {k.arg: self.ev(k.value) for k in node.keywords if k.arg}
            first = args[0] if args else {}
            if isinstance(first, dict):
                return {**first, **keywords}
            if isinstance(first, (list, tuple)) and all(isinstance(p, tuple) and len(p) == 2 for p in first):
                return {**dict(first), **keywords} if all(isinstance(p[0], str) for p in first) else UNKNOWN
            return UNKNOWN
        if name in ("str", "bool") and len(args) == 1 and plain(args[0]):
            return str(args[0]) if name == "str" else bool(args[0])
        if name in ("int", "float") and len(args) == 1 and number(args[0]):
            return int(args[0]) if name == "int" else float(args[0])
        if name in ("min", "max") and args and all(number(a) for a in args):
            return min(args) if name == "min" else max(args)
        return merge_tensors(args, {})

    def super_of(self, args: list[Any]) -> Any:
        if len(args) == 2 and isinstance(args[0], ClassValue):
            return Super(args[0], args[1])
        if args or not self.stack or isinstance(self.stack[-1].node, ast.Lambda):
            return UNKNOWN
        method = self.stack[-1].node
        cls = next((c for c in self.classes if method in c.node.body), None)
        params = [*method.args.posonlyargs, *method.args.args]
        if cls is None or not params:
            return UNKNOWN
        return Super(cls, self.lookup(params[0].arg))

    def import_module(self, node: ast.AST, name: str, package: Any = None) -> Any:
        """`importlib.import_module("models.resnet50")`: a local module, read like an import."""
        level = len(name) - len(name.lstrip("."))
        found = self.local_module(node, name.lstrip("."), level)
        return found if found is not None else QName(name)

    def eval_text(self, node: ast.Call, text: str) -> Any:
        """`eval("ResNet50(include_top=False)")` with a string the script computes: the
        expression is parsed and interpreted like the script's own code (never run)."""
        try:
            expression = ast.parse(text.strip(), mode="eval")
        except (SyntaxError, ValueError):
            return UNKNOWN
        return self.run_unit(Unit(self.unit.path, text.strip()), node, lambda: self.ev(expression.body))

    def call_function(self, func: Func, args: list[Any], kwargs: dict[str, Any]) -> Any:
        if len(self.stack) >= MAX_DEPTH or any(f.node is func.node for f in self.stack):
            return UNKNOWN
        self.called.add(id(func.node))
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
        if params.vararg is not None:
            names[params.vararg.arg] = tuple(args[len(positional) :])
        if params.kwarg is not None:
            names[params.kwarg.arg] = {k: v for k, v in kwargs.items() if k not in names}
        frame = _Frame(names, func.scope if func.scope is not None else self.frames[0])
        unit = func.unit or self.main

        def body() -> Any:
            self.frames.append(frame)
            self.stack.append(func)
            try:
                if isinstance(func.node, ast.Lambda):
                    return self.ev(func.node.body)
                self.block(func.node.body)
            finally:
                self.stack.pop()
                self.frames.pop()
            return frame.returned

        if unit is self.unit:
            return body()
        anchor = self.call_nodes[-1] if self.call_nodes else (self.fallback_anchor or func.node)
        return self.run_unit(unit, anchor, body)


# How a loop body may use its layer variable and still treat all BN layers alike and all
# other layers alike (two passes instead of one per layer: the same flags, much faster).
KIND_ONLY_ATTRIBUTES = {"trainable", "momentum", "__class__"}
KIND_ONLY_CALLS = {"isinstance", "type", "setattr"}


def join_values(first: Any, second: Any) -> Any:
    """A name after both ways of an unknown condition: tensors merge (each way's layers feed
    what follows), equal plain values stay, other plain values and datasets become unknown;
    objects (models, bases) keep the later way's, as the way the script reads last."""
    if first is second:
        return first
    if isinstance(first, Tensor) and isinstance(second, Tensor):
        return merge_tensors([first, second], {})
    if plain(first) and plain(second):
        return first if first == second else UNKNOWN
    if isinstance(first, Data) and isinstance(second, Data):
        return first if first == second else Data()
    return second


def needs_each_layer(loop: ast.For) -> bool:
    """Whether a loop over layers looks at each layer's identity (its name, its index, a
    membership test): then it must run once per layer; otherwise BN/other passes suffice."""
    if not isinstance(loop.target, ast.Name):
        return True  # `for i, layer in enumerate(...)`: the index
    name = loop.target.id
    allowed: set[int] = set()
    for statement in loop.body:
        for node in ast.walk(statement):
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == name:
                if node.attr in KIND_ONLY_ATTRIBUTES:
                    allowed.add(id(node.value))
            elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in KIND_ONLY_CALLS:
                first = node.args[0] if node.args else None
                if isinstance(first, ast.Name) and first.id == name:
                    allowed.add(id(first))
    return any(
        isinstance(node, ast.Name) and node.id == name and id(node) not in allowed
        for statement in loop.body
        for node in ast.walk(statement)
    )


def extract(tree: ast.Module, text: str, path: str | None = None) -> ScriptFacts:
    try:
        return Interpreter(tree, text, path).run()
    finally:
        ANCHORS.clear()
        ORIGINS.clear()
