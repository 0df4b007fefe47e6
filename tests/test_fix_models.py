"""--fix on every format x Keras generation x fix, checked with real Keras.

Each case fixes a private copy of a fixture (weights randomised, see recipes_fix.py) in
place, fixes it a second time, and lints the result. Then real Keras 3 and tf_keras
(one subprocess each, bnlint.verify_worker) load the original and the fixed file, run
the same random batch in inference mode, compare every weight, and train one step to
see each fix in effect. The tests below assert on those results.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import h5py
import pytest

from bnlint.context import from_options
from bnlint.fixing import FixOptions, fix_file
from bnlint.linting import Options
from bnlint.rules import RULES
from bnlint.verify import checks_for, run_jobs

from fix_helpers import CASES_FORMATS, cli, copy_model, digest, leftovers

ROUNDING = 1e-5  # relative: folding a bias into moving_mean changes float rounding only


@dataclass(frozen=True)
class Case:
    recipe: str
    select: tuple[str, ...]
    expect: tuple[str, ...]  # the fixes that must be applied (savedmodel: see `savedmodel`)
    generation: str = "keras3"
    fmt: str = "keras"
    unsafe: bool = False
    renorm: bool = False
    savedmodel: bool = True  # whether the fix can be made in a SavedModel (no weights, no rebuild)
    keras2: bool = True  # whether the finding exists on Keras 2
    formats: tuple[tuple[str, str], ...] = tuple(CASES_FORMATS)
    context: tuple[tuple[str, int], ...] = ()  # the training context the finding needs

    @property
    def id(self) -> str:
        flags = "-unsafe" * self.unsafe + "-renorm" * self.renorm
        return f"{self.recipe}{flags}-{'+'.join(self.select)}-{self.generation}-{self.fmt}"

    @property
    def expected(self) -> set[str]:
        if (self.fmt == "savedmodel" and not self.savedmodel) or (self.generation == "keras2" and not self.keras2):
            return set()
        return set(self.expect)

    @property
    def approximate(self) -> bool:
        """Weight folds and the renorm kernel change float rounding (tf_keras: renorm is unfused)."""
        return "BN008" in self.expected or ("renorm" in self.expected and self.generation == "keras2")


# The applications cost seconds per load and fit: ResNet50 runs in the four file formats,
# the others where the hazards are (Keras 3 .keras, tf_keras' nested legacy .h5 order).
APP_FORMATS = (("keras3", "keras"), ("keras2", "h5"))
SPECS = [
    Case("fix-BN001-0", ("BN001",), ("BN001",)),
    Case("fix-BN001-1", ("BN001",), ("BN001",), savedmodel=False),  # Sequential rebuilt as Functional
    Case("fix-BN001-2", ("BN001",), ("BN001",)),
    Case("fix-BN003-0", ("BN003",), ("renorm",), renorm=True, savedmodel=False),
    Case("fix-BN003-1", ("BN003",), ("BN003",), context=(("batch_size", 8),)),
    Case("fix-BN008-0", ("BN008",), ("BN008",), savedmodel=False),
    Case("fix-BN008-1", ("BN008",), ("BN008",), savedmodel=False),
    Case("fix-BN012-0", ("BN012",), ("BN012",), keras2=False),
    Case("fix-BN014-0", ("BN014",), ("BN014",)),
    Case("fix-BN014-0", ("BN014", "BN002"), ("BN014", "BN002"), unsafe=True),
    Case("fix-BN014-1", ("BN014",), ("BN014",)),
    Case("fix-app-resnet50", ("BN014",), ("BN014",), formats=tuple(CASES_FORMATS[:4])),
    Case("fix-app-mobilenetv2", ("BN014",), ("BN014",), formats=APP_FORMATS),
    Case("fix-app-efficientnetb0", ("BN014",), ("BN014",), formats=APP_FORMATS),
    # All safe fixes at once on ResNet50: BN014 freezes the base, BN008 folds its conv biases.
    Case("fix-app-resnet50", ("BN014", "BN008"), ("BN014", "BN008"), formats=(("keras3", "h5"),)),
]
CASES = [
    Case(**{**spec.__dict__, "generation": generation, "fmt": fmt})
    for spec in SPECS
    for generation, fmt in spec.formats
]


def _fix(path, case: Case):
    options = Options(select=case.select, context=from_options("test", **dict(case.context)))
    return fix_file(str(path), options, FixOptions(unsafe=case.unsafe, renorm=case.renorm))


def _scrambled(models, folder):
    """The negative control of keras-formats.md §5 HAZARD: weight_names out of Keras' order
    (here bn1's beta and moving_mean swap places). Same shapes, so Keras loads it silently."""
    path = copy_model(models, "fix-BN014-0", "keras2", "h5", folder)
    with h5py.File(path, "r+") as h5:
        group = h5["model_weights/base"]
        names = list(group.attrs["weight_names"])
        first, second = names.index("bn1/beta:0"), names.index("bn1/moving_mean:0")
        names[first], names[second] = names[second], names[first]
        group.attrs.modify("weight_names", names)
    return path


@pytest.fixture(scope="session")
def fixed(models, tmp_path_factory):
    """case id -> (case, first report, second report, digests, Keras result)."""
    root = tmp_path_factory.mktemp("fixed")
    outcomes, jobs = {}, {"keras3": [], "keras2": []}
    for index, case in enumerate(CASES):
        path = copy_model(models, case.recipe, case.generation, case.fmt, root / str(index))
        before = digest(path)
        first = _fix(path, case)
        after = digest(path)
        second = _fix(path, case)
        outcomes[case.id] = [case, first, second, (before, after, digest(path)), None]
        if first.output:
            job = {
                "original": str(models.path(case.recipe, case.generation, case.fmt)),
                "fixed": str(path),
                "checks": checks_for(first.changes),
                "id": case.id,
            }
            jobs[case.generation].append(job)
    scrambled = _scrambled(models, root / "scrambled")
    original = models.path("fix-BN014-0", "keras2", "h5")
    jobs["keras2"].append({"original": str(original), "fixed": str(scrambled), "checks": [], "id": "scrambled"})
    with ThreadPoolExecutor(2) as pool:
        results = dict(zip(jobs, pool.map(lambda g: run_jobs(g, jobs[g]), jobs), strict=True))
    for generation, items in jobs.items():
        for job, result in zip(items, results[generation], strict=True):
            if job["id"] == "scrambled":
                outcomes["scrambled"] = result
            else:
                outcomes[job["id"]][4] = result
    return outcomes


IDS = [case.id for case in CASES]


def _codes(result) -> set[str]:
    return {d.code for d in result.diagnostics}


@pytest.mark.parametrize("case_id", IDS)
def test_fix_applied_and_finding_gone(fixed, case_id):
    case, first, _, _, _ = fixed[case_id]
    assert first.error is None, first.error
    applied = {fix.code for fix in first.applied}
    assert applied == case.expected, f"skipped: {first.skipped}"
    if case.expected:
        assert first.output is not None
        if not case.renorm:  # Batch Renormalization is asked for, not the fix of a finding
            assert not (_codes(first.after) & set(case.select)), [d.message for d in first.after.diagnostics]
    else:
        assert first.output is None  # nothing written when nothing could be fixed


@pytest.mark.parametrize("case_id", IDS)
def test_second_fix_changes_nothing(fixed, case_id):
    case, first, second, (before, after, again), _ = fixed[case_id]
    assert second.error is None and second.changes == [] and second.output is None
    assert again == after
    assert (after != before) == bool(case.expected)


@pytest.mark.parametrize("case_id", IDS)
def test_fixed_model_loads_and_predicts_identically(fixed, case_id):
    case, first, _, _, result = fixed[case_id]
    if not first.output:
        pytest.skip("nothing was written")
    assert result["error"] is None, result.get("trace")
    assert not result["nan"]
    if case.approximate:
        assert result["max_abs_diff"] <= ROUNDING * max(1.0, result["scale"])
    else:
        assert result["max_abs_diff"] == 0.0  # bit-identical in inference mode


@pytest.mark.parametrize("case_id", IDS)
def test_weights_unchanged_unless_the_fix_is_about_weights(fixed, case_id):
    case, first, _, _, result = fixed[case_id]
    if not first.output:
        pytest.skip("nothing was written")
    changes = first.changes
    expected = {
        "missing": {f"{c.layer}:bias" for c in changes if c.setting == "use_bias"},
        "changed": {f"{c.layer}:moving_mean" for c in changes if c.setting == "moving_mean"},
        "added": {
            f"{c.layer}:{c.setting}" for c in changes if c.setting in ("moving_stddev", "renorm_mean", "renorm_stddev")
        },
    }
    assert {key: set(value) for key, value in result["weights"].items()} == expected


@pytest.mark.parametrize("case_id", IDS)
def test_fix_is_in_effect_under_fit(fixed, case_id):
    case, first, _, _, result = fixed[case_id]
    if not first.output:
        pytest.skip("nothing was written")
    assert result["checks"], "every fix has something to check"
    for check in result["checks"]:
        assert check["ok"], check["detail"]
        if "original_changed" in check:
            assert check["original_changed"] > 0, f"control: the original should have changed ({check['detail']})"


def test_scrambled_weight_order_is_detected(fixed):
    """The checks above can fail: the measured hazard gives different predictions."""
    result = fixed["scrambled"]
    assert result["error"] is None
    assert result["nan"] or result["max_abs_diff"] > 1e-3


def test_verify_from_the_command_line(models, tmp_path):
    """`bnlint --fix --verify` checks the result with real Keras before it replaces anything."""
    path = copy_model(models, "fix-BN014-0", "keras3", "keras", tmp_path / "ok")
    done = cli("--fix", "--verify", "--select", "BN014", path)
    assert done.returncode == 0, done.stderr
    assert "verified: max |difference| 0 in inference mode" in done.stdout
    assert "2 BN layers after one fit step: 0 changed (original: 2)" in done.stdout


def test_verify_refuses_what_it_cannot_check(models, tmp_path):
    """A model that holds code (a Lambda) is not loaded by --verify unless trusted, and even
    trusted, Keras 3 refuses its bytecode in safe mode: nothing is written either way."""
    title = "Lambda preprocessing in front of a pretrained base"
    name = next(f"BN013-{i}" for i, e in enumerate(RULES["BN013"].examples) if e.title == title)
    path = copy_model(models, name, "keras3", "keras", tmp_path)
    before = digest(path)
    assert cli("--diff", path).returncode == 1  # there is something to fix
    done = cli("--fix", "--verify", path)
    assert done.returncode == 2 and "Pass --trust-model-code if you trust its source" in done.stderr
    done = cli("--fix", "--verify", "--trust-model-code", path)
    assert done.returncode == 2 and "cannot load or run the original model either" in done.stderr
    assert "safe_mode" in done.stderr and digest(path) == before


def test_verify_failure_leaves_the_original(models, tmp_path, monkeypatch):
    """If Keras sees a difference, the fixed file never replaces the original."""
    import bnlint.verify

    path = copy_model(models, "fix-BN014-0", "keras3", "h5", tmp_path)
    before = digest(path)
    bad = {"max_abs_diff": 0.5, "scale": 1.0, "nan": False, "weights": {}, "checks": [], "error": None}
    monkeypatch.setattr(bnlint.verify, "run_jobs", lambda generation, jobs: [bad])
    [report] = bnlint.fix(str(path), verify=True)["files"]
    assert "verification failed: predictions differ by 0.5" in report["error"]
    assert digest(path) == before and leftovers(tmp_path) == []
