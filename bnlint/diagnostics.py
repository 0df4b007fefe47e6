"""What a rule reports: diagnostics, each with an optional fix made of edits."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import Enum
from typing import Any


class Severity(str, Enum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


@dataclass(frozen=True)
class Edit:
    """One change to a model or a source file.

    kind: "config" (set `key` in layer `target`'s config), "call_kwarg" (set a call
    kwarg on every call node of `target`), "weights" (variable `key` of layer `target`
    becomes the value the spec in `new` derives from the file's arrays, e.g.
    {"minus_bias_of": <layer path>}; see bnlint/writers/weight_ops.py) or "text".
    """

    kind: str
    target: str
    key: str
    old: Any = None
    new: Any = None


@dataclass(frozen=True)
class Fix:
    description: str
    applicability: str = "safe"  # "safe": inference-identical; "unsafe": needs consent
    edits: tuple[Edit, ...] = ()


@dataclass
class Diagnostic:
    code: str
    name: str
    severity: Severity
    message: str  # the headline: the layer or line and the fault, under ~100 characters
    layer: str | None = None
    line: int | None = None
    column: int | None = None
    cell: int | None = None
    fix: Fix | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    detail: str = ""  # the numbers, the why and the remedy

    @property
    def full_message(self) -> str:
        """Headline and detail as one line (the `concise` output)."""
        return f"{self.message}: {self.detail}" if self.detail else self.message

    def to_json(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "name": self.name,
            "severity": self.severity.value,
            "message": self.message,
            "detail": self.detail,
            "layer": self.layer,
            "line": self.line,
            "column": self.column,
            "cell": self.cell,
            "fix": asdict(self.fix) if self.fix else None,
        }
