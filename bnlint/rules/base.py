"""The shape of a rule: its public identity, its documentation and its checks."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from ..context import TrainingContext
from ..diagnostics import Diagnostic, Fix, Severity
from ..graph import ModelGraph

ModelCheck = Callable[[ModelGraph, TrainingContext], Iterable[Diagnostic]]
# Script checks take the facts extracted from a script (bnlint.scripts) and the context.
ScriptCheck = Callable[[Any, TrainingContext], Iterable[Diagnostic]]


@dataclass(frozen=True)
class Example:
    """Executable documentation: the test suite builds every model example with real
    Keras 3 and tf_keras, saves it in every format and lints it.

    kind "model": `code` is Python that defines `model` using the names `keras`,
    `layers` and `make_base()` (a small pretrained-style base with Conv/BN).
    kind "script": `code` is a training script, linted as source (never run).
    kind "legacy": like "model", built by tf_keras as `.h5` and saved under the legacy
    keras_version 2.2.4-tf (tests/test_legacy.py); `fires_on` then holds "legacy".
    `fires_on` names the generations on which the rule must fire; on the others it
    must stay silent.
    """

    title: str
    code: str
    fires_on: frozenset[str] = frozenset({"keras3", "keras2"})
    context: dict[str, int] = field(default_factory=dict)
    kind: str = "model"


@dataclass(frozen=True)
class Rule:
    code: str
    name: str
    severity: Severity
    summary: str
    what: str
    why: str
    fix_text: str
    fix_safety: str
    examples: tuple[Example, ...] = ()
    check_model: ModelCheck | None = None
    check_script: ScriptCheck | None = None

    def diagnostic(
        self,
        message: str,
        *,
        detail: str = "",
        layer: str | None = None,
        severity: Severity | None = None,
        fix: Fix | None = None,
        **extra: Any,
    ) -> Diagnostic:
        return Diagnostic(
            code=self.code,
            name=self.name,
            severity=severity or self.severity,
            message=message,
            detail=detail,
            layer=layer,
            fix=fix,
            extra=extra,
        )
