"""What the Keras API calls of a script build: bases from keras.applications, TF Hub
and load_model; Functional and Sequential models; BN layers; data pipelines; and the
compile / fit / train_on_batch events. A mixin of the interpreter in facts.py."""

from __future__ import annotations

import ast
import math
import os
import re
from dataclasses import replace
from typing import Any

from ..readers.keras_config import keras_snake
from .applications import AppInfo, lookup
from .brain import BN_PRESET_FAMILIES, FOREIGN_LIBRARIES, NO_BN_BACKBONES, UI_WIDGETS, builder
from .layer_configs import layer_config
from .model_files import describe
from .objects import (
    ARRAY_MAKERS,
    DATASET_KEEP,
    LEGACY_ON,
    TRAIN_METHODS,
    UNKNOWN,
    Base,
    BNLayer,
    BoundMethod,
    Compile,
    Data,
    Flags,
    Foreign,
    Func,
    Layer,
    LayerList,
    Model,
    Obj,
    Options,
    Pos,
    QName,
    Tensor,
    Train,
    Use,
    batch_attribute,
    canonical,
    initial_flags,
    is_count,
    is_environ,
    leading_size,
    literal,
    merge_tensors,
    number,
    pos,
    tensors_in,
)
from .settings_files import OpenFile, path_function, read_settings

# Functions that parse a settings file the script opened, and the language they read.
SETTINGS_READERS = {
    "json.load": "JSON",
    "json.loads": "JSON",
    **{f"yaml.{name}": "YAML" for name in ("safe_load", "load", "full_load", "unsafe_load")},
}
# Words of a path to weights the script saved itself on an earlier run.
RESUME_WORDS = re.compile(r"checkpoint|ckpt|resum|latest|last_epoch", re.IGNORECASE)


def given_name(kwargs: dict[str, Any]) -> str | None:
    name = kwargs.get("name")
    return name if isinstance(name, str) else None


class KerasCalls:
    def construct(self, node: ast.Call, callee: QName, args: list[Any], kwargs: dict[str, Any]) -> Any:
        flavour, path = canonical(callee.path)
        if path.split(".", 1)[0] in FOREIGN_LIBRARIES:
            return Foreign(path)
        widget = UI_WIDGETS.get(re.sub(r"^streamlit\.sidebar\.", "streamlit.", path))
        if widget is not None:
            return self.widget_default(node, widget, args, kwargs)
        if path in ("keras.backend.image_data_format", "keras.config.image_data_format"):
            return self.image_data_format  # channels_last unless the script set it
        if path == "keras.backend.image_dim_ordering":
            return "th" if self.image_data_format == "channels_first" else "tf"
        if path == "keras.backend.set_image_data_format" and args and isinstance(args[0], str):
            self.image_data_format = args[0]
        if path == "keras.backend.set_image_dim_ordering" and args and args[0] in ("th", "tf"):
            self.image_data_format = {"th": "channels_first", "tf": "channels_last"}[args[0]]
        if path.startswith("os.path."):
            computed = path_function(callee.last, args, os.path.dirname(os.path.abspath(self.unit.path or ".")))
            return computed if computed is not None else UNKNOWN
        if path in SETTINGS_READERS and args and isinstance(args[0], OpenFile):
            return self.settings_file(node, args[0].path, SETTINGS_READERS[path])
        if path == "importlib.import_module" and args and isinstance(args[0], str):
            return self.import_module(node, args[0], args[1] if len(args) > 1 else kwargs.get("package"))
        if path == "os.putenv" and args[:1] == ["TF_USE_LEGACY_KERAS"] and args[1:2] and args[1] in LEGACY_ON:
            self.legacy_env = True
        known = builder(path)
        if known is not None:
            kind, name = known
            handler = getattr(self, "build_" + kind)
            return handler(node, name, args, kwargs)
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
        if path == "tensorflow_datasets.load":
            batch = kwargs.get("batch_size")
            return Data(batch=batch, batch_pos=pos(node)) if is_count(batch) else Data()
        if path.startswith(("numpy.", "tensorflow.random.", "tensorflow.")) and callee.last in ARRAY_MAKERS | {
            "randint"
        }:
            return Data(size=leading_size(callee.last, args, kwargs))
        if path in ("numpy.array", "numpy.asarray", "numpy.concatenate"):
            return Data()
        if path == "tensorflow.function" and args and isinstance(args[0], (Func, BoundMethod)):
            return args[0]  # `step = tf.function(step)`: the same function, traced
        self.call_callbacks(args, kwargs)
        return merge_tensors(args, kwargs)

    # -- builders named in brain.PATTERNS

    def build_application(self, node: ast.Call, name: str, args: list[Any], kwargs: dict[str, Any]) -> Any:
        return self.application(node, name, kwargs)

    def build_segmentation(self, node: ast.Call, name: str, args: list[Any], kwargs: dict[str, Any]) -> Any:
        """segmentation_models' Unet(backbone, encoder_weights='imagenet', encoder_freeze=False)."""
        backbone = args[0] if args else kwargs.get("backbone_name", "vgg16")
        weights = kwargs.get("encoder_weights", "imagenet")
        has_bn = None if not isinstance(backbone, str) else not backbone.startswith(NO_BN_BACKBONES)
        info = AppInfo(f"{name}({backbone})", None, 0, (), (0.99,), bool(has_bn)) if has_bn is not None else None
        base = self.new_base(
            node, f"sm.{name}({literal([backbone])})", "application", weights not in (None, UNKNOWN), info
        )
        if kwargs.get("encoder_freeze") is True:
            self.flags[base] = Flags(True, bn=False, other=None)
        return base

    def build_preset(self, node: ast.Call, name: str, args: list[Any], kwargs: dict[str, Any]) -> Any:
        """keras_hub / keras_cv `X.from_preset(...)`: a pretrained Keras 3 model. Whether it
        has BN layers shows in the class (`ResNetBackbone`) or the preset (`xception_41_imagenet`)."""
        preset = args[0] if args else kwargs.get("preset")
        spelled = f"{name} {preset if isinstance(preset, str) else ''}".lower()
        has_bn = any(family.lower() in spelled for family in BN_PRESET_FAMILIES)
        info = AppInfo(name, None, 0, (), (0.99,), True) if has_bn else None
        base = self.new_base(node, f"{name}.from_preset({literal([preset])})", "application", True, info)
        trainable = kwargs.get("trainable", True)
        if trainable is not True:
            flag = trainable if isinstance(trainable, bool) else None
            self.flags[base] = Flags(flag, bn=flag, other=flag)
        return base

    def build_functional(self, node: ast.Call, name: str, args: list[Any], kwargs: dict[str, Any]) -> Any:
        return self.functional(node, args, kwargs)

    def build_sequential(self, node: ast.Call, name: str, args: list[Any], kwargs: dict[str, Any]) -> Any:
        return self.sequential(node, args[0] if args else kwargs.get("layers", []), kwargs.get("name"))

    def build_load_model(self, node: ast.Call, name: str, args: list[Any], kwargs: dict[str, Any]) -> Any:
        """A model the script loads: pretrained by definition; its BN layers are read from the
        file when the script names one of its repository (read as data, never run)."""
        path = args[0] if args else kwargs.get("filepath")
        label = f"load_model({literal([path])})"
        info, unknown = None, f"{label}: the path is computed at run time, so its BN layers are unknown"
        if isinstance(path, str) and self.main.path is not None:
            info, unknown = describe(path, self.unit.path or self.main.path, label)
        base = self.new_base(node, label, "loaded", True, info, momentum=info.momentum if info else ())
        base.unknown = unknown
        return base

    def build_bn(self, node: ast.Call, name: str, args: list[Any], kwargs: dict[str, Any]) -> Any:
        return self.bn_layer(node, kwargs, args)

    def build_input(self, node: ast.Call, name: str, args: list[Any], kwargs: dict[str, Any]) -> Any:
        shape = args[0] if args else kwargs.get("shape", kwargs.get("input_shape"))
        batch = kwargs.get("batch_shape", kwargs.get("batch_input_shape"))
        if batch is None and isinstance(shape, (tuple, list)):
            batch = [None, *shape]
        config = {"batch_shape": list(batch)} if isinstance(batch, (tuple, list)) else {}
        return Tensor(last=Layer(pos(node), "?", "InputLayer", config=config))

    def build_loader(self, node: ast.Call, name: str, args: list[Any], kwargs: dict[str, Any]) -> Any:
        return self.loader(node, kwargs.get("batch_size", 32), "batch_size" not in kwargs)

    def build_datagen(self, node: ast.Call, name: str, args: list[Any], kwargs: dict[str, Any]) -> Any:
        return ("datagen",)

    def build_layer(self, node: ast.Call, name: str, args: list[Any], kwargs: dict[str, Any]) -> Any:
        name, config = layer_config(name, args, kwargs, self.image_data_format)
        return Layer(pos(node), "?", name, config=config, **self.made(name, kwargs))

    def build_argparser(self, node: ast.Call, name: str, args: list[Any], kwargs: dict[str, Any]) -> Any:
        return Options()

    def build_absl_define(self, node: ast.Call, name: str, args: list[Any], kwargs: dict[str, Any]) -> Any:
        flag = args[0] if args else kwargs.get("name")
        default = args[1] if len(args) > 1 else kwargs.get("default", UNKNOWN)
        if isinstance(flag, str):
            self.absl[flag] = (default, f"--{flag}")
        return None

    def made(self, class_name: str, kwargs: dict[str, Any]) -> dict[str, Any]:
        """What a new layer object records of how it was made: the name Keras gives it (the
        one passed, else `batch_normalization_3` in creation order), and whether it was made
        on an undecided branch or inside a loop."""
        name = given_name(kwargs)
        if name is None:
            stem = keras_snake(class_name)
            count = self.layer_names.get(stem, 0)
            self.layer_names[stem] = count + 1
            name = f"{stem}_{count}" if count else stem
        return {
            "keras_name": name,
            "conditional": self.unsure > 0,
            "in_loop": any(count != 1 for count in self.repeats),
        }

    def new_base(self, node: ast.Call, label: str, kind: str, pretrained: bool, info: AppInfo | None, **extra) -> Base:
        base = Base(pos(node), "?", label, kind, pretrained, info, **extra)
        self.bases.append(base)
        self.mark_fragment(base)
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
            weights is not None and weights is not UNKNOWN,  # unknown: pretrained on some paths only
            info,
            include_top=include_top is True or include_top is UNKNOWN,
            pooling=pooling is not None and not include_top,
            momentum=info.momentum,
            keras_name=given_name(kwargs),
        )
        if include_top is UNKNOWN or pooling is UNKNOWN:  # layer positions unknown
            self.flags[base] = Flags(True, bn=True, other=True)
            base.info = replace(info, layers=None)
        return base

    def bn_layer(self, node: ast.Call, kwargs: dict[str, Any], args: list[Any] = ()) -> BNLayer:
        momentum = kwargs.get("momentum", 0.99)
        renorm = kwargs.get("renorm", False)
        layer = BNLayer(
            pos(node),
            "?",
            float(momentum) if number(momentum) else None,
            "momentum" in kwargs,
            renorm if isinstance(renorm, bool) else None,
            kwargs.get("renorm_clipping"),
            config=layer_config("BatchNormalization", list(args), kwargs)[1],
            **self.made("BatchNormalization", kwargs),
        )
        self.bns.append(layer)
        self.mark_fragment(layer)
        trainable = kwargs.get("trainable", True)
        self.flags[layer] = Flags(trainable if isinstance(trainable, bool) else None)
        return layer

    def loader(self, node: ast.Call, batch: Any, default: bool) -> Data:
        known = isinstance(batch, int) and not isinstance(batch, bool)
        return Data(batch=batch if known else None, batch_pos=pos(node), default_batch=default)

    def functional(self, node: ast.Call, args: list[Any], kwargs: dict[str, Any]) -> Model:
        inputs = args[0] if args else kwargs.get("inputs", kwargs.get("input", UNKNOWN))
        outputs = args[1] if len(args) > 1 else kwargs.get("outputs", kwargs.get("output", UNKNOWN))
        tensors = list(tensors_in(outputs))
        model = Model(pos(node), "?", "functional", keras_name=given_name(kwargs), outputs=tensors)
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
            flat_input = any(t.inputs_of is not None for t in tensors_in(inputs))
            slots = [] if flat_input else [("input",) for _ in tensors_in(inputs)]
            for tensor in tensors:
                slots.extend(s for s in tensor.chain if s not in slots)
            model.slots = slots
        return self.register(model)

    def sequential(self, node: ast.Call, items: Any, name: Any = None) -> Model:
        model = Model(pos(node), "?", "sequential", keras_name=name if isinstance(name, str) else None)
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
        if isinstance(item, LayerList) and isinstance(item.owner, Base) and item.owner.size is not None:
            self.splice(model, item, at)
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

    def splice(self, model: Model, part: LayerList, at: Pos) -> None:
        """`base.layers[1:-5]` among a Sequential's layers: those layers of the base become
        the model's own (no nested model, so no call that could pass training=False)."""
        base = part.owner
        start, stop, _ = slice(part.start, part.stop).indices(base.size)
        text = (
            f"{base.name}.layers[{'' if part.start is None else part.start}:{'' if part.stop is None else part.stop}]"
        )
        model.uses.append(Use(base, "flat", None, at, upto=stop, text=text, start=start))
        if model.slots is not None:
            model.slots.append(("part", base, start, stop))
        self.add_members(model, base)

    def register(self, model: Model) -> Model:
        for use in model.uses:
            self.add_members(model, use.base)
        for bn in model.bns:
            self.add_members(model, bn)
        for slot in model.slots or []:
            if isinstance(slot, (Layer, Model)):
                self.add_members(model, slot)
        self.models.append(model)
        self.mark_fragment(model)
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
        inputs = list(tensors_in(args[:1] or kwargs.get("inputs", [])))
        uses: list[Use] = [u for t in inputs for u in t.uses]
        bns: list[BNLayer] = [b for t in inputs for b in t.bns]
        chains = [t.chain for t in inputs]
        # Each once: a tensor that feeds several merges (a dense block's concatenations) would
        # otherwise be counted once per path, and the paths double with every block.
        chain: tuple | None = (
            None if any(c is None for c in chains) else tuple(dict.fromkeys(s for c in chains for s in c))
        )
        training = kwargs.get("training", args[1] if len(args) > 1 else None)
        if training is True and not inputs and isinstance(layer, (Base, Model)):
            # `model(x, training=True)` on data, not on a symbolic tensor: a custom training
            # loop (GradientTape). BN trains there iff its layer is trainable.
            data = [args[0]] if args and isinstance(args[0], Data) else []  # a batch of a known pipeline
            self.train(node, layer if isinstance(layer, Model) else self.self_model(layer), "loop", data, {})
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
        if inputs or not args:  # a call on symbolic tensors: record who feeds it
            layer.calls.append(tuple(t.last for t in inputs))
        return Tensor(uses=tuple(dict.fromkeys(uses)), bns=tuple(dict.fromkeys(bns)), chain=chain, last=layer)

    def resumes(self, node: ast.Call, args: list[Any]) -> bool:
        """`load_weights(tf.train.latest_checkpoint(dir))`, `load_weights(checkpoint_path)`:
        weights this script saved on an earlier run, not pretrained ones."""
        said = [self.segment(a) for a in node.args] + [a for a in args if isinstance(a, str)]
        return any(RESUME_WORDS.search(text) for text in said)

    def method(self, node: ast.Call, receiver: Any, name: str) -> Any:
        args = self.arguments(node)
        kwargs = {k.arg: self.ev(k.value) for k in node.keywords if k.arg}
        if isinstance(receiver, Options):
            return self.options_method(node, receiver, name, args, kwargs)
        if isinstance(receiver, Foreign):
            return receiver
        if isinstance(receiver, OpenFile) and name == "read":
            return receiver  # its text, for json.loads
        if name == "load_weights" and isinstance(receiver, (Base, Model)):
            # weights=None followed by load_weights(path): pretrained from here on, and so are
            # the BN layers of a model the script builds itself (a ResNet written by hand).
            # Not a resumed run: its statistics come from this script's own training.
            if self.trying or self.resumes(node, args):
                return None
            for member in [receiver] if isinstance(receiver, Base) else [*receiver.members, *receiver.bns]:
                if isinstance(member, (Base, BNLayer)) and member.loaded_at is None:
                    member.loaded_at = len(self.events)
            return None
        if name == "get_layer" and isinstance(receiver, (Base, Model)):
            return self.get_layer(receiver, args[0] if args else kwargs.get("name"), kwargs.get("index"))
        if receiver is UNKNOWN:
            self.call_callbacks(args, kwargs)
            passed = merge_tensors(args, kwargs)
            if isinstance(passed, Data) and name not in TRAIN_METHODS:
                return passed
        if receiver is UNKNOWN and name in TRAIN_METHODS and isinstance(node.func, ast.Attribute):
            self.note(node, f"{self.segment(node.func)}() trains a model bnlint cannot resolve; not checked")
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
        if receiver is UNKNOWN and name == "batch" and args and is_count(args[0]):
            return self.dataset_method(node, Data(), name, args)  # `.batch(n)`: a tf.data pipeline
        if receiver == ("datagen",) and name.startswith("flow"):
            batch = kwargs.get("batch_size", 32)
            data = self.loader(node, batch, "batch_size" not in kwargs)
            if name == "flow" and args and isinstance(args[0], Data):
                data = replace(data, size=args[0].size)
            return data
        if name in ("setdefault", "update") and is_environ(node.func.value):
            pairs = args[0].items() if name == "update" and args and isinstance(args[0], dict) else [tuple(args[:2])]
            pairs = [*pairs, *kwargs.items()]
            if any(p == ("TF_USE_LEGACY_KERAS", v) for p in pairs for v in LEGACY_ON):
                self.legacy_env = True
        if isinstance(receiver, (dict, list)) and name == "get" and args:
            return receiver.get(args[0], args[1] if len(args) > 1 else None) if isinstance(receiver, dict) else UNKNOWN
        return UNKNOWN

    def options_method(self, node: ast.Call, parser: Options, name: str, args: list[Any], kwargs: dict) -> Any:
        """argparse: option defaults are the path a script takes when run as written."""
        if name == "add_argument" and args and all(isinstance(a, str) for a in args):
            flags = [a for a in args if a.startswith("--")] or [a for a in args if a.startswith("-")] or args[:1]
            dest = kwargs.get("dest") or flags[0].lstrip("-").replace("-", "_")
            action = kwargs.get("action")
            default = kwargs.get("default", {"store_true": False, "store_false": True}.get(action, None))
            if kwargs.get("required") is True:
                default = UNKNOWN  # always given on the command line
            kind = next((k.value.id for k in node.keywords if k.arg == "type" and isinstance(k.value, ast.Name)), None)
            if isinstance(default, str) and kind in ("int", "float"):
                try:
                    default = int(default) if kind == "int" else float(default)
                except ValueError:
                    default = UNKNOWN
            parser.defaults[dest] = (default, flags[0])
            return None
        if name in ("add_argument_group", "add_mutually_exclusive_group"):
            return parser
        if name == "set_defaults":
            for key, value in kwargs.items():
                parser.defaults[key] = (value, f"--{key}")
            return None
        if name in ("parse_args", "parse_known_args"):
            parsed = Options(parser.defaults, parsed=True)
            return parsed if name == "parse_args" else (parsed, UNKNOWN)
        return UNKNOWN

    def widget_default(self, node: ast.Call, widget: tuple, args: list[Any], kwargs: dict[str, Any]) -> Any:
        """A UI widget's starting value (`st.selectbox("Backbone", BACKBONES)`: the first)."""
        kind, position, keyword = widget
        label = args[0] if args and isinstance(args[0], str) else "a widget"
        if kind == "options":
            options = args[1] if len(args) > 1 else kwargs.get("options")
            index = kwargs.get(keyword, args[2] if len(args) > 2 else 0)
            if not isinstance(options, (list, tuple)) or not isinstance(index, int) or not 0 <= index < len(options):
                return UNKNOWN
            value = options[index]
        else:
            value = args[position] if len(args) > position else kwargs.get(keyword, UNKNOWN)
        return self.setting(value, f"'{label}'")

    def settings_file(self, node: ast.AST, path: str, language: str) -> Any:
        """The settings a script loads from its repository (config.json, config.yaml): data,
        never run."""
        if self.main.path is None:
            return UNKNOWN
        data, problem = read_settings(path, self.unit.path or self.main.path, language)
        if problem is not None:
            self.note(node, f"{problem}; the settings it holds are unknown")
            return UNKNOWN
        said = f"settings from {path}"
        if said not in self.settings:
            self.settings.append(said)
        return data

    def call_callbacks(self, args: list[Any], kwargs: dict[str, Any]) -> None:
        """A function of the script handed to code bnlint does not follow (`strategy.run(step,
        args=(batch,))`, `dataset.map(f)`) is called by it: follow it once, as if called there."""
        passed = kwargs.get("args")
        for value in [*args, *kwargs.values()]:
            if isinstance(value, BoundMethod):
                func, receiver = value.func, [value.receiver]
            elif isinstance(value, Func):
                func, receiver = value, []
            else:
                continue
            if id(func.node) not in self.called:
                self.call_function(func, [*receiver, *(passed if isinstance(passed, tuple) else ())], {})

    def get_layer(self, owner: Base | Model, name: Any, index: Any) -> Any:
        """`base.get_layer("mixed7")` (a layer of a known base) and `model.get_layer("resnet50")`
        (the base inside a model, by the name Keras gives it)."""
        if isinstance(index, int) and not isinstance(index, bool):
            return self.layer_at(LayerList(owner), index)
        if not isinstance(name, str):
            return UNKNOWN
        if isinstance(owner, Base):
            refs = self.expand(LayerList(owner))
            return next((r for r in refs or [] if r.name == name), UNKNOWN)
        found = [m for m in owner.members if isinstance(m, (Base, Model, Layer, BNLayer)) and m.answers_to(name)]
        return found[0] if len(found) == 1 else UNKNOWN

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
            self.mark_fragment(model)
            self.flags.setdefault(model, Flags(True, bn=True, other=True))
        return model

    def train(self, node: ast.Call, model: Model, name: str, args: list[Any], kwargs: dict[str, Any]) -> None:
        if name == "loop" and any(
            isinstance(e, Train) and e.model is model and e.method == "loop" for e in self.events
        ):
            return  # one custom loop trains a model once as far as BN is concerned
        data = args[0] if args else kwargs.get("x", kwargs.get("generator", UNKNOWN))
        if isinstance(data, (list, tuple)) and data:  # several inputs: the first tells the batch
            data = data[0]
        if not isinstance(data, Data) and name == "train_on_batch":  # the targets tell it as well
            targets = args[1] if len(args) > 1 else kwargs.get("y")
            targets = targets[0] if isinstance(targets, (list, tuple)) and targets else targets
            data = targets if isinstance(targets, Data) else data
        attrs = getattr(data, "attrs", None)
        if batch_attribute(attrs) is not None:  # a keras.utils.Sequence (or generator class) of the script
            data = Data(batch=batch_attribute(attrs), batch_pos=data.pos)
        data = data if isinstance(data, Data) else None
        batch, batch_pos, default = None, None, False
        given = kwargs.get("batch_size")
        if data is not None and data.batch:
            batch, batch_pos, default = data.batch, data.batch_pos, data.default_batch
        elif is_count(given):
            batch, batch_pos = given, pos(node)
        elif name == "train_on_batch" and data is not None and data.size:
            batch, batch_pos = data.size, data.batch_pos or pos(node)
        elif data is not None and data.size and name != "train_on_batch":
            batch, batch_pos, default = 32, pos(node), True  # Keras' default for arrays
        if batch and data is not None and data.size and not data.batch and data.size < batch:
            batch, default = data.size, False  # fewer samples than a batch: one batch of all of them
        epochs = kwargs.get("epochs", 1 if name != "train_on_batch" else None)
        steps = kwargs.get("steps_per_epoch")
        if not is_count(steps) and data is not None:
            if data.steps:
                steps = data.steps
            elif data.size and batch and not data.batch and name != "train_on_batch":
                steps = math.ceil(data.size / batch)
        repeats: int | None = 1
        for count in self.repeats:
            repeats = repeats * count if repeats is not None and count is not None else None
        current = self.snapshot(model)
        traced = self.traced.get(model) if name != "loop" else None
        if traced is None and name != "loop":
            self.traced[model] = (current, node.lineno)
        self.emit(
            Train,
            node,
            model=model,
            method=name,
            current=current,
            compiled=self.compiled.get(model) if name != "loop" else None,
            traced=traced[0] if traced else None,
            traced_at=traced[1] if traced else None,
            data=data,
            batch=batch,
            batch_pos=batch_pos,
            epochs=epochs if is_count(epochs) else None,
            steps_per_epoch=steps if is_count(steps) else None,
            repeats=repeats if name == "train_on_batch" else None,
            default_batch=default,
        )

    def snapshot(self, model: Model) -> dict[Obj, Flags]:
        return {obj: self.flags[obj] for obj in [model, *model.members] if obj in self.flags}
