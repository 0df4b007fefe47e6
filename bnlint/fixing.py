"""`--fix`, `--diff`, `-o`: apply the fixes the rules attach to their findings to a
model file, write it back atomically, and lint the result to report what remains.

Per file: lint -> choose the fixes (safe ones; unsafe ones with --unsafe-fixes;
Batch Renormalization with --renorm) -> apply their edits to the file's config
documents -> write through the format's writer (optionally verified with real Keras
before it replaces anything) -> lint the written file. A fix that a format cannot make
is skipped with its reason; nothing is written when nothing changes, so a second
`--fix` leaves the file byte-identical.
"""

from __future__ import annotations

import codecs
import difflib
import os
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from .diagnostics import Edit, Fix
from .edits import Change, Unsupported, apply_fix
from .errors import InputError
from .graph import generation_of
from .limits import in_force
from .linting import FileResult, Options, error_boundary, files_to_lint, in_parallel, limits_for, lint_file
from .readers.keras_config import build_root
from .semantics import bn_mode

MODEL_KINDS = ("keras", "h5", "savedmodel")
RENORM_CLIPPING = {"rmax": 3.0, "rmin": 1 / 3, "dmax": 5.0}  # the paper's values after warm-up
RENORM_MOMENTUM = 0.99
BACKUP_SUFFIX = ".bak"


@dataclass(frozen=True)
class FixOptions:
    unsafe: bool = False  # also apply fixes marked unsafe
    renorm: bool = False  # switch the BN layers that train to Batch Renormalization
    write: bool = True  # False: --diff, show the changes and write nothing
    output: str | None = None  # -o: write here instead of in place
    backup: bool = False  # keep the original beside the fixed file as PATH.bak
    verify: bool = False  # check the result with real Keras before it replaces anything
    trust_code: bool = False  # --trust-model-code: --verify may load a model that holds code (BN013)


@dataclass
class AppliedFix:
    code: str
    description: str
    applicability: str
    changes: list[Change]

    def to_json(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "description": self.description,
            "applicability": self.applicability,
            "changes": [{"layer": c.layer, "setting": c.setting, "old": c.old, "new": c.new} for c in self.changes],
        }


@dataclass
class FixReport:
    path: str
    before: FileResult
    applied: list[AppliedFix] = field(default_factory=list)
    skipped: list[tuple[str, str, str]] = field(default_factory=list)  # (code, description, reason)
    output: str | None = None  # where the fixed model was written; None when nothing was
    after: FileResult | None = None  # the written file, linted again
    verification: dict[str, Any] | None = None
    error: str | None = None
    diff: str | None = None  # a script's fixes as a unified diff

    @property
    def changes(self) -> list[Change]:
        return [change for fix in self.applied for change in fix.changes]

    @property
    def remaining(self) -> FileResult:
        return self.after or self.before

    def to_json(self) -> dict[str, Any]:
        data = self.remaining.to_json()
        data["path"] = self.path
        data["error"] = self.error or data["error"]
        data |= {
            "output": self.output,
            "fixes": [fix.to_json() for fix in self.applied],
            "skipped": [{"code": c, "description": d, "reason": r} for c, d, r in self.skipped],
            "verification": self.verification,
        }
        return data


def fix_paths(paths: list[str], options: Options, fix_options: FixOptions, jobs: int = 1) -> list[FixReport]:
    """Fix every input (in `jobs` processes, as lint_paths lints them)."""
    check_output_option(paths, fix_options.output)
    work = partial(fix_file, options=options, fix_options=fix_options)
    return in_parallel(work, files_to_lint(paths, options), jobs, _failed, options)


def _failed(path: str, error: str) -> FixReport:
    return FixReport(path=path, before=FileResult(path, error=error), error=error)


def report(reports: list[FixReport]) -> dict[str, Any]:
    """The JSON document of `--fix --format json`: lint's, each file with its fixes."""
    from . import __version__

    return {"version": __version__, "files": [r.to_json() for r in reports]}


def fix_file(path: str, options: Options, fix_options: FixOptions) -> FixReport:
    report = FixReport(path=path, before=lint_file(path, options))
    if report.before.error:
        report.error = report.before.error
        return report
    holder = FileResult(path=path)
    with error_boundary(holder), in_force(limits_for(path, options)):
        _fix(report, options, fix_options)
    report.error = report.error or holder.error
    return report


def _fix(report: FixReport, options: Options, fix_options: FixOptions) -> None:
    from .writers import open_model  # h5py only when a model is written

    before = report.before
    fixes = [(d.code, d.fix) for d in before.diagnostics if d.fix is not None]
    if before.kind not in MODEL_KINDS:
        _fix_source(report, options, fix_options)
        return
    model = open_model(report.path, before.kind)
    weight_edits: list[Edit] = []
    for code, fix in fixes:
        if fix.applicability != "safe" and not fix_options.unsafe:
            report.skipped.append((code, fix.description, "unsafe fix: pass --unsafe-fixes to apply it"))
            continue
        _apply(report, model, code, fix, weight_edits)
    if fix_options.renorm:
        for fix in renorm_fixes(model.documents[0].entry, before.keras_version):
            _apply(report, model, "renorm", fix, weight_edits)
    if not report.changes or not fix_options.write:
        return
    output = fix_options.output or model.path
    check_output(model.path, output, before.kind)
    backup = model.path + BACKUP_SUFFIX if fix_options.backup and output == model.path else None
    check = None
    if fix_options.verify:
        from .verify import verify_before_commit

        held = [] if fix_options.trust_code else code_it_holds(report.path, before.kind)
        if held:
            raise InputError(
                f"--verify loads the model with Keras, which would run the code it holds ({held[0]}); nothing "
                "was written. Pass --trust-model-code if you trust its source, or fix without --verify"
            )

        check = verify_before_commit(report, before.kind, before.keras_version)
    try:
        model.save(output, weight_edits, backup=backup, check=check)
    except OSError as exc:
        raise InputError(f"cannot write {output} ({exc.strerror or exc}); the original is untouched") from None
    report.output = output
    report.after = lint_file(output, options)


def _fix_source(report: FixReport, options: Options, fix_options: FixOptions) -> None:
    """A script's text fixes, made together on the original text, checked (the result parses
    and the fixed findings are gone) before anything is written; else the file is untouched."""
    from .source_fixes import KEYS, NotApplicable, apply, overlaps, plan

    before, chosen = report.before, []
    for diagnostic in before.diagnostics:
        fix = diagnostic.fix
        if fix is None:
            continue
        if any(e.kind != "text" or e.key not in KEYS for e in fix.edits):
            report.skipped.append(
                (diagnostic.code, fix.description, f"{before.kind} fixes of this kind are not applied yet")
            )
        elif fix.applicability != "safe" and not fix_options.unsafe:
            report.skipped.append((diagnostic.code, fix.description, "unsafe fix: pass --unsafe-fixes to apply it"))
        else:
            chosen.append(diagnostic)
    if not chosen:
        return
    with open(report.path, "rb") as handle:
        raw = handle.read()
    bom = codecs.BOM_UTF8 if raw.startswith(codecs.BOM_UTF8) else b""
    try:
        text = raw[len(bom) :].decode("utf-8")
    except UnicodeDecodeError:
        raise InputError("only UTF-8 scripts are fixed; nothing was written") from None
    notebook = None
    if before.kind == "notebook":
        from .notebook_fixes import load, rewrite

        try:
            notebook = load(text)
        except NotApplicable as exc:
            report.skipped += [(d.code, d.fix.description, str(exc)) for d in chosen]
            return

    def fixed_text(spans: list) -> tuple[str, str | None]:
        if notebook is None:
            return apply(text, spans), None
        return rewrite(notebook, spans)

    source = notebook.joined if notebook is not None else text  # what the edits are planned on
    planned: dict[int, list] = {}
    for index, diagnostic in enumerate(chosen):
        try:
            spans = plan(source, diagnostic.fix.edits)
        except SyntaxError:  # a notebook cell that does not parse (linted around, not edited around)
            report.skipped.append((diagnostic.code, diagnostic.fix.description, "a cell does not parse; fix it first"))
            continue
        except NotApplicable as exc:
            report.skipped.append((diagnostic.code, diagnostic.fix.description, str(exc)))
            continue
        if overlaps(spans, [span for taken in planned.values() for span in taken]):
            report.skipped.append((diagnostic.code, diagnostic.fix.description, "touches another fix: run --fix again"))
            continue
        planned[index] = spans
    # Each fix must remove its finding; one that does not is dropped and the rest tried again.
    fixed, cell_diff = text, None
    while planned:
        try:
            fixed, cell_diff = fixed_text([span for spans in planned.values() for span in spans])
        except NotApplicable as exc:  # an edit on a notebook line bnlint masked: none of them is made
            report.skipped += [(chosen[i].code, chosen[i].fix.description, str(exc)) for i in planned]
            return
        after = lint_file(report.path, options, text=fixed)
        if after.error:
            raise InputError(f"cannot fix: the fixed text does not lint ({after.error}); nothing was written")
        failed = [
            index
            for index in planned
            if any(a.code == chosen[index].code and a.layer == chosen[index].layer for a in after.diagnostics)
        ]
        if not failed:
            break
        for index in failed:
            report.skipped.append(
                (chosen[index].code, chosen[index].fix.description, "it would not remove the finding")
            )
            del planned[index]
    if not planned:
        return
    chosen = [chosen[index] for index in planned]
    for diagnostic in chosen:
        added = [str(e.new) for e in diagnostic.fix.edits]
        where = f"{'cell ' + str(diagnostic.cell) + ', ' if diagnostic.cell else ''}line {diagnostic.line}"
        change = Change(where, "source", None, "; ".join(added))
        report.applied.append(
            AppliedFix(diagnostic.code, diagnostic.fix.description, diagnostic.fix.applicability, [change])
        )
    report.diff = cell_diff if cell_diff is not None else _diff(text, fixed, report.path)
    if not fix_options.write:
        return
    from .writers.atomic import Snapshot, replacing_file

    output = fix_options.output or report.path
    backup = report.path + BACKUP_SUFFIX if fix_options.backup and output == report.path else None
    with replacing_file(output, source=report.path, snapshot=Snapshot.of(report.path), backup=backup) as temp:
        with open(temp, "wb") as handle:
            handle.write(bom + fixed.encode("utf-8"))
    report.output = output
    report.after = lint_file(output, options)


def _diff(old: str, new: str, path: str) -> str:
    lines = difflib.unified_diff(old.splitlines(True), new.splitlines(True), path, path)
    # A last line without its newline is marked as diff(1) marks it, not glued to the next.
    return "".join(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n" for line in lines)


def code_it_holds(path: str, kind: str) -> list[str]:
    """BN013's findings, whatever rules were selected: what loading the model would run."""
    from .context import TrainingContext
    from .readers import read_model
    from .rules.bn013_model_executes_code import check

    with read_model(path, kind) as graph:
        return [diagnostic.message.split(". bnlint")[0] for diagnostic in check(graph, TrainingContext())]


def _apply(report: FixReport, model: Any, code: str, fix: Fix, weight_edits: list[Edit]) -> None:
    try:
        for edit in fix.edits:
            if edit.kind == "weights":
                model.check_weight_edit(edit)
        changes, weights = apply_fix(model.documents, fix, model.rules)
    except Unsupported as exc:
        report.skipped.append((code, fix.description, str(exc)))
        return
    from .writers.weight_ops import describe

    new_weights = [edit for edit in weights if edit not in weight_edits]
    weight_edits.extend(new_weights)
    report.applied.append(
        AppliedFix(code, fix.description, fix.applicability, changes + [describe(e) for e in new_weights])
    )


def renorm_fixes(entry: dict[str, Any], keras_version: str | None) -> list[Fix]:
    """Batch Renormalization for every BN layer that still trains under fit() once the
    other fixes are made, its new variables initialised from the moving statistics."""
    generation = generation_of(keras_version)
    layers = [
        bn
        for bn in build_root(entry).walk()
        if bn.is_bn and not bn.config.get("renorm") and bn_mode(bn, generation, keras_version).updates_stats
    ]
    if not layers:
        return []
    edits: list[Edit] = []
    for bn in layers:
        edits += [
            Edit("config", bn.path, "renorm", False, True),
            Edit("config", bn.path, "renorm_clipping", None, dict(RENORM_CLIPPING)),
            Edit("config", bn.path, "renorm_momentum", None, RENORM_MOMENTUM),
            Edit("weights", bn.path, "moving_stddev", None, {"sqrt_plus_epsilon": "moving_variance"}),
            Edit("weights", bn.path, "renorm_mean", None, {"copy_of": "moving_mean"}),
            Edit("weights", bn.path, "renorm_stddev", None, {"sqrt_plus_epsilon": "moving_variance"}),
        ]
    count = len(layers)
    return [
        Fix(
            f"switch {count} BN layer{'s' * (count != 1)} that train to Batch Renormalization "
            "(clipping rmax=3, rmin=1/3, dmax=5; renorm statistics start from the moving statistics)",
            "unsafe",
            tuple(edits),
        )
    ]


def exit_status(reports: list[FixReport], write: bool) -> int:
    if any(r.error for r in reports):
        return 2
    pending = not write and any(r.changes for r in reports)
    return 1 if pending or any(r.remaining.diagnostics for r in reports) else 0


def check_output_option(paths: list[str], output: str | None) -> None:
    """-o names one output, so it needs exactly one model as input."""
    if output is not None and (len(paths) != 1 or os.path.isdir(paths[0]) and not _is_savedmodel(paths[0])):
        raise InputError("-o/--output needs exactly one model file as input")


def check_output(source: str, output: str, kind: str) -> None:
    """The output keeps the input's format: Keras chooses its loader by the extension."""
    if os.path.abspath(output) == os.path.abspath(source):
        return
    suffixes = {"keras": (".keras",), "h5": (".h5", ".hdf5")}.get(kind)
    if suffixes and not output.lower().endswith(suffixes):
        raise InputError(f"output {output} must end with {suffixes[0]}: the fixed model keeps the input's format")
    if kind == "savedmodel" and os.path.isfile(output):
        raise InputError(f"output {output} is a file; a SavedModel is written as a directory")


def _is_savedmodel(path: str) -> bool:
    return os.path.exists(os.path.join(path, "saved_model.pb"))
