"""`x.trainable = ...` in a script: Keras sets the flag recursively on every sublayer,
a loop over `base.layers[a:b]` sets it per layer (BN and others apart), and anything
bnlint cannot resolve makes the flags of the bases it may touch unknown. A mixin of
the interpreter in facts.py."""

from __future__ import annotations

import ast
from dataclasses import replace
from typing import Any

from .applications import application_names
from .objects import (
    LEGACY_ON,
    UNKNOWN,
    Base,
    BNLayer,
    Elem,
    Flags,
    Instance,
    Layer,
    LayerList,
    LayerRef,
    Model,
    Obj,
    Options,
    Pos,
    QName,
    SetTrainable,
    SomeLayers,
    initial_flags,
    is_environ,
    number,
    pos,
)


class TrainableAssignments:
    # -- trainable (and momentum) assignments

    def set_attribute(self, target: ast.Attribute, value: Any) -> None:
        obj = self.ev(target.value)
        if target.attr == "trainable":
            self.set_trainable(target, obj, value, self.assigned)
        elif target.attr == "momentum" and number(value):
            if isinstance(obj, BNLayer):
                obj.momentum, obj.explicit = float(value), True
            elif isinstance(obj, Elem) and obj.kind == "bn" and isinstance(obj.items.owner, Base):
                obj.items.owner.momentum = (float(value),)
        elif isinstance(obj, (Instance, Model, Options)):
            # `self.base = ResNet50(...)` in a trainer class (or a keras.Model subclass)
            obj.attrs[target.attr] = value
            if isinstance(value, Obj) and value.scope > len(self.frames):
                value.name, value.scope = self.segment(target), len(self.frames)

    def set_item(self, target: ast.Subscript, value: Any) -> None:
        if is_environ(target.value) and self.ev(target.slice) == "TF_USE_LEGACY_KERAS" and value in LEGACY_ON:
            self.legacy_env = True

    def set_trainable(self, node: ast.Attribute, obj: Any, value: Any, value_node: ast.AST) -> None:
        flag = value if isinstance(value, bool) else None
        at = pos(node)
        changed: list[Obj] = []
        if isinstance(obj, LayerRef):
            changed = self.set_base_layers(obj.base, obj.index, obj.index + 1, obj.kind, flag, at)
        elif isinstance(obj, Elem):
            changed = self.set_elements(obj.items, obj.kind, flag, at)
        elif isinstance(obj, (Base, Model, BNLayer, Layer)):
            changed = self.set_whole(obj, flag, at)
        elif isinstance(obj, QName):  # `layers.trainable = False` (a typo): sets an attribute of a module
            return
        elif isinstance(obj, SomeLayers):  # layers of one object bnlint cannot tell apart
            self.note(
                node,
                f"`{self.segment(node)}` is set on layers of '{obj.owner.name}' that bnlint cannot tell; "
                "its BN layers are not judged",
            )
            self.forget(obj.owner, at) if isinstance(obj.owner, Model) else self.forget_base(obj.owner, at)
            return
        else:
            # An object bnlint cannot resolve: whatever it is, nothing about the bases
            # it might belong to can be trusted any more.
            self.note(
                node,
                f"`{self.segment(node)}` is set on an object bnlint cannot resolve; bases it may "
                "belong to are not judged",
            )
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
        if self.pending is not None:  # inside a layer-by-layer loop: one event after it
            targets, values, _ = self.pending.setdefault(node, ([], set(), value_node))
            targets.extend(changed)
            values.add(flag)
        elif changed:
            text = "".join(self.loops[-1:]) + self.assignment_text(node, value_node)
            after = {t: self.flags[t] for t in changed if t in self.flags}
            self.emit(SetTrainable, node, targets=changed, value=flag, text=text, after=after)

    def assignment_text(self, target: ast.AST, value: ast.AST) -> str:
        spelled = getattr(target, "spelled", None)  # setattr(...) says it all
        return spelled or f"{self.segment(target)} = {self.segment(value)}"

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

    def expand(self, items: LayerList) -> list[Any] | None:
        """The layers of `x.layers[a:b]` one by one when they are known: a LayerRef for a
        layer inside a base with a layer table, the script's own objects otherwise."""
        owner = items.owner
        found: list[Any] = []
        if isinstance(owner, Base):
            flags = self.flags.get(owner)
            if owner.size is None or flags is None or flags.layers is None:
                return None
            found = self.base_refs(owner)
        elif isinstance(owner, Model) and owner.slots is not None:
            for slot in owner.slots:
                if isinstance(slot, tuple) and slot[0] in ("flat", "part"):
                    refs = self.expand(LayerList(slot[1], *slot[2:]))
                    if refs is None:
                        return None
                    found.extend(refs)
                elif isinstance(slot, tuple):  # the InputLayer of a Functional model
                    found.append(Layer(owner.pos, "?", "InputLayer"))
                else:
                    found.append(slot)
        else:
            return None
        return found[items.start : items.stop]

    def base_refs(self, base: Base) -> list[LayerRef]:
        names = application_names(base.info.name, base.size) if base.info else None
        bn = set(base.info.bn)
        return [
            LayerRef(base, i, "bn" if i in bn else "other", names[i] if names and i < len(names) else None)
            for i in range(base.size)
        ]

    def set_elements(self, items: LayerList, kind: str, flag: bool | None, at: Pos) -> list[Obj]:
        owner = items.owner
        if isinstance(owner, Base):
            return self.set_base_layers(owner, items.start, items.stop, kind, flag, at)
        assert isinstance(owner, Model)
        if owner.slots is None:
            if items.start is None and items.stop is None:  # every layer, whatever their order
                return self.set_everywhere(owner, kind, flag, at)
            return self.forget(owner, at)
        expanded: list[tuple[Any, int | None]] = []
        for slot in owner.slots:
            if isinstance(slot, tuple) and slot[0] == "flat":
                base = slot[1]
                if base.size is None:
                    return self.forget(owner, at)
                expanded.extend((base, i) for i in range(base.size))
            elif isinstance(slot, tuple) and slot[0] == "part":  # layers of a base spliced in
                expanded.extend((slot[1], i) for i in range(slot[2], slot[3]))
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

    def set_everywhere(self, model: Model, kind: str, flag: bool | None, at: Pos) -> list[Obj]:
        """`for layer in model.layers:` over a model whose layer order is unknown: each
        member still gets the flag (BN layers in the BN pass, the rest in the other)."""
        changed: list[Obj] = []
        for member in model.members:
            if isinstance(member, Base):
                changed += self.set_base_layers(member, None, None, kind, flag, at)
            elif isinstance(member, BNLayer):
                changed += self.set_whole(member, flag, at) if kind == "bn" else []
            elif isinstance(member, (Model, Layer)) and kind == "other" and member is not model:
                changed += self.set_whole(member, flag, at)
        return changed

    def forget(self, model: Model, at: Pos) -> list[Obj]:
        for member in model.members:
            if isinstance(member, Base):
                self.forget_base(member, at)
        return []

    def forget_base(self, base: Any, at: Pos) -> None:
        if base in self.flags:
            old = self.flags[base]
            self.flags[base] = replace(
                old, layers=(None,) * len(old.layers) if old.layers else None, bn=None, other=None, at=at
            )

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
