"""`--show-settings`: the settings that govern a file and where each comes from."""

from __future__ import annotations

from dataclasses import fields

from ..context import FIELDS
from ..limits import DEFAULTS
from ..linting import Settings


def describe(path: str, settings: Settings, limit_options: dict[str, int]) -> str:
    config = settings.config
    source = config.source or "none found (defaults)"
    context = settings.context
    lines = [
        f"{path}:",
        f"  configuration: {source}",
        f"  rules: {', '.join(rule.code for rule in settings.rules) or 'none'}",
    ]
    ignored = config.ignored_codes(path)
    if ignored:
        lines.append(f"  per-file-ignores: {', '.join(ignored)}")
    if config.ignore_layers:
        lines.append(f"  ignore-layers: {', '.join(config.ignore_layers)}")
    if config.exclude or config.extend_exclude:
        lines.append(f"  exclude: {', '.join(config.exclude + config.extend_exclude)}")
    for name in (*FIELDS, "keras_version"):
        value = getattr(context, name)
        if value is not None:
            lines.append(f"  {name.replace('_', '-')}: {value} ({context.sources.get(name, 'default')})")
    for field in fields(DEFAULTS):
        key = field.name.replace("_", "-")
        value = getattr(settings.limits, field.name)
        where = "--limit" if key in limit_options else config.source if key in config.limits else "default"
        lines.append(f"  {key}: {value} ({where})")
    return "\n".join(lines)
