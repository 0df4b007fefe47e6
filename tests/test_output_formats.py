"""SARIF, GitHub workflow commands and GitLab Code Quality, rendered from real reports:
models saved by real Keras, the example script and notebook, a file with notes and an
unreadable file."""

from __future__ import annotations

import json
import re
import shutil
import socket
from pathlib import Path

import jsonschema
import pytest

import bnlint
from bnlint.output import common, github, gitlab, sarif
from bnlint.rules import RULES

ROOT = Path(__file__).resolve().parent.parent
SCHEMA = Path(__file__).with_name("data") / "sarif-schema-2.1.0.json"
SCRIPT = "examples/scripts/finetune_xception.py"
NOTEBOOK = "examples/notebooks/histology_resnet50.ipynb"
WITH_NOTES = "tests/scripts/unresolved_base.py"


@pytest.fixture(autouse=True)
def in_root(monkeypatch):
    monkeypatch.chdir(ROOT)  # paths in the outputs are relative to where bnlint runs


@pytest.fixture(scope="module")
def inputs(models, tmp_path_factory):
    empty = tmp_path_factory.mktemp("unreadable") / "x.keras"
    empty.write_bytes(b"")
    model_paths = [str(models.path(name, "keras3", "keras")) for name in ("BN001-0", "BN008-0", "BN012-0")]
    return [*model_paths, SCRIPT, NOTEBOOK, WITH_NOTES, str(empty)]


@pytest.fixture(scope="module")
def report(inputs):
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(ROOT)
        found = bnlint.lint(inputs)
    # The inputs are what the tests below rely on.
    kinds = {Path(f["path"]).name: f["kind"] for f in found["files"]}
    assert kinds["finetune_xception.py"] == "script" and kinds["histology_resnet50.ipynb"] == "notebook"
    assert [f["error"] for f in found["files"] if f["path"].endswith("x.keras")] == ["empty file"]
    assert any(f.get("notes") for f in found["files"])
    assert {"error", "warning", "info"} <= {d["severity"] for f in found["files"] for d in f["diagnostics"]}
    return found


def all_diagnostics(report: dict) -> list[tuple[dict, dict]]:
    return [(f, d) for f in report["files"] for d in f["diagnostics"]]


def one(report: dict, suffix: str, code: str | None = None) -> dict:
    [entry] = [f for f in report["files"] if f["path"].endswith(suffix)]
    return next(d for d in entry["diagnostics"] if code is None or d["code"] == code)


# SARIF


def test_sarif_validates_against_the_official_schema_offline(report, monkeypatch):
    schema = json.loads(SCHEMA.read_text())

    # The draft the schema declares is bundled with jsonschema: nothing is fetched.
    def no_network(*args, **kwargs):
        raise AssertionError("schema validation tried the network")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    validator_class = jsonschema.validators.validator_for(schema, default=None)
    assert validator_class is jsonschema.Draft7Validator
    validator_class.check_schema(schema)
    log = json.loads(sarif.render(report))
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator_class(schema).iter_errors(log)]
    assert errors == []
    assert log["version"] == "2.1.0" and log["$schema"].endswith("sarif-2.1.0.json")
    # The validator is not a rubber stamp: a result without a message is refused.
    del log["runs"][0]["results"][0]["message"]
    assert not validator_class(schema).is_valid(log)


def test_sarif_carries_every_finding_and_every_rule(report):
    [run] = json.loads(sarif.render(report))["runs"]
    rules = run["tool"]["driver"]["rules"]
    assert [rule["id"] for rule in rules] == list(RULES)
    for rule in rules:
        assert rule["shortDescription"]["text"] == RULES[rule["id"]].summary
        assert rule["help"]["text"].startswith(RULES[rule["id"]].why)
        page = rule["helpUri"].removeprefix(common.RULES_URL)
        assert (ROOT / "rules" / page).is_file(), rule["helpUri"]
    assert run["tool"]["driver"]["version"] == report["version"]
    results = run["results"]
    assert len(results) == len(all_diagnostics(report))
    assert [r["ruleId"] for r in results] == [d["code"] for _, d in all_diagnostics(report)]
    for result, (_, diag) in zip(results, all_diagnostics(report), strict=True):
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"]
        assert result["level"] == {"error": "error", "warning": "warning", "info": "note"}[diag["severity"]]
        assert result["message"]["text"].endswith(common.message(diag))
    assert {"error", "warning", "note"} <= {r["level"] for r in results}


def test_sarif_locations_for_models_scripts_and_notebooks(report, inputs):
    [run] = json.loads(sarif.render(report))["runs"]
    by_uri = {}
    for result in run["results"]:
        by_uri.setdefault(result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"], []).append(result)
    model_uri = next(uri for uri in by_uri if uri.endswith("model.keras"))
    assert model_uri.startswith("file:///")  # the models were given as absolute paths
    assert model_uri in {Path(path).as_uri() for path in inputs if Path(path).is_absolute()}
    for result in by_uri[model_uri]:
        [location] = result["locations"]
        assert "region" not in location["physicalLocation"]
        assert location["logicalLocations"] == [{"fullyQualifiedName": "functional/base", "kind": "member"}]
    bn012 = one(report, SCRIPT, "BN012")
    [script_result] = [r for r in by_uri[SCRIPT] if r["ruleId"] == "BN012"]
    assert script_result["locations"][0]["physicalLocation"]["region"] == {
        "startLine": bn012["line"],
        "startColumn": bn012["column"],
    }
    assert "logicalLocations" not in script_result["locations"][0]
    # Columns count from 1 in bnlint and in SARIF: the column is where the statement starts.
    source_line = (ROOT / SCRIPT).read_text().splitlines()[bn012["line"] - 1]
    assert source_line[bn012["column"] - 1 :] == "base.trainable = True"
    notebook = by_uri[NOTEBOOK]
    assert notebook[0]["message"]["text"].startswith("(cell 4, line 1) ")
    assert notebook[0]["locations"][0]["physicalLocation"]["region"]["startLine"] == 1
    # The unreadable file and the notes are tool notifications, not results.
    [invocation] = run["invocations"]
    assert invocation["executionSuccessful"] is False
    notes = {n["level"]: n for n in invocation["toolExecutionNotifications"]}
    assert notes["error"]["message"]["text"] == "empty file"
    assert notes["error"]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"].startswith("file:///")
    assert notes["note"]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == WITH_NOTES
    readable = {**report, "files": [f for f in report["files"] if not f["error"]]}
    assert json.loads(sarif.render(readable))["runs"][0]["invocations"][0]["executionSuccessful"] is True


def test_fingerprints_are_stable_across_runs_and_unrelated_edits(report, inputs, tmp_path):
    first = [
        r["partialFingerprints"][sarif.FINGERPRINT_KEY] for r in json.loads(sarif.render(report))["runs"][0]["results"]
    ]
    again = [
        r["partialFingerprints"][sarif.FINGERPRINT_KEY]
        for r in json.loads(sarif.render(bnlint.lint(inputs)))["runs"][0]["results"]
    ]
    assert first == again
    assert len(set(first)) == len(first)  # different findings, different fingerprints
    assert all(re.fullmatch(r"[0-9a-f]{64}", fp) for fp in first)
    # GitLab shows the same findings under the same identities.
    assert [i["fingerprint"] for i in json.loads(gitlab.render(report))][: len(first)] == first

    script = tmp_path / "train.py"
    shutil.copy(ROOT / SCRIPT, script)
    before = bnlint.lint(str(script))
    fingerprints = [f.fingerprint for f in common.findings(before)]  # rendered as the CLI does: before any edit
    script.write_text("# a comment and a blank line above everything\n\n" + script.read_text())
    after = bnlint.lint(str(script))
    # Every line moved, and so did the line numbers the findings quote; the identities did not.
    assert [d["line"] for _, d in all_diagnostics(after)] == [d["line"] + 2 for _, d in all_diagnostics(before)]
    assert [d["detail"] for _, d in all_diagnostics(after)] != [d["detail"] for _, d in all_diagnostics(before)]
    assert [f.fingerprint for f in common.findings(after)] == fingerprints
    # ...but an edit of the flagged line itself is a new finding.
    script.write_text(script.read_text().replace("base.trainable = True", "base.trainable = (True)"))
    assert [f.fingerprint for f in common.findings(bnlint.lint(str(script)))][0] != fingerprints[0]


def test_paths_become_uris():
    assert common.uri("dir with space/a#b%.py") == "dir%20with%20space/a%23b%25.py"
    assert common.uri("a:b.py") == "a%3Ab.py"  # not a URI scheme
    assert common.uri("./x/../y.py") == "x/../y.py"
    assert common.uri("/tmp/a b/x.keras") == "file:///tmp/a%20b/x.keras"
    assert common.relative_path(str(ROOT / "examples" / "x.py")) == "examples/x.py"
    assert common.relative_path("/elsewhere/x.py") == "/elsewhere/x.py"


# GitHub


PROPERTY = r"[^,:\r\n]+"  # escaped values hold no raw ',' ':' or newline
ANNOTATION = re.compile(
    rf"::(?P<kind>error|warning|notice) file=(?P<file>{PROPERTY})"
    rf"(?:,line=(?P<line>[1-9]\d*))?(?:,col=(?P<col>[1-9]\d*))?(?:,title=(?P<title>{PROPERTY}))?"
    r"::(?P<message>[^\r\n]*)"
)


def test_github_annotations_have_the_documented_shape(report):
    output = github.render(report)
    assert output.endswith("\n")
    lines = output.splitlines()
    matches = [ANNOTATION.fullmatch(line) for line in lines]
    assert all(matches), [line for line, m in zip(lines, matches, strict=True) if not m]
    findings = [m for m in matches if m["title"]]
    assert len(findings) == len(all_diagnostics(report))
    assert {m["kind"] for m in findings} == {"error", "warning", "notice"}
    for match, (_, diag) in zip(findings, all_diagnostics(report), strict=True):
        assert match["title"].startswith(f"{diag['code']} {diag['name']}")
        if diag["line"] is None:  # a model: line 1, the layer in the title
            assert (match["line"], match["col"]) == ("1", None)
            assert match["title"].endswith(f" ({diag['layer']})")
        elif diag["cell"] is not None:  # a notebook: line 1, the cell in the message
            assert (match["line"], match["col"]) == ("1", None)
            assert match["message"].startswith(f"(cell {diag['cell']}, line {diag['line']}) ")
        else:
            assert (int(match["line"]), int(match["col"])) == (diag["line"], diag["column"])
    assert any(m["kind"] == "error" and m["file"].endswith("x.keras") and m["message"] == "empty file" for m in matches)
    assert any(m["kind"] == "notice" and m["file"] == WITH_NOTES and not m["title"] for m in matches)


def test_github_escapes_data_and_properties():
    diag = {
        "code": "BN001",
        "name": "frozen-base-training-call",
        "severity": "warning",
        "message": "100% frozen: base\r\nline two",
        "detail": "a, b",
        "layer": 'classifier/"conv1:bn,2"',
        "line": None,
        "column": None,
        "cell": None,
        "fix": None,
    }
    entry = {"path": "dir,a:b/m 1%.keras", "kind": "keras", "keras_version": "3", "error": None, "diagnostics": [diag]}
    entry2 = {"path": "y.h5", "kind": None, "keras_version": None, "error": "bad: 50%\nfile", "diagnostics": []}
    output = github.render({"version": "0", "files": [entry, entry2]})
    assert output == (
        "::warning file=dir%2Ca%3Ab/m 1%25.keras,line=1,"
        'title=BN001 frozen-base-training-call (classifier/"conv1%3Abn%2C2")'
        "::100%25 frozen: base%0D%0Aline two: a, b\n"
        "::error file=y.h5::bad: 50%25%0Afile\n"
    )
    assert github.render({"version": "0", "files": []}) == ""


# GitLab


def test_gitlab_report_follows_the_documented_format(report):
    issues = json.loads(gitlab.render(report))
    assert isinstance(issues, list)
    for issue in issues:
        assert set(issue) == {"description", "check_name", "fingerprint", "severity", "location"}
        assert all(isinstance(issue[key], str) and issue[key] for key in ("description", "check_name", "fingerprint"))
        assert issue["severity"] in {"info", "minor", "major", "critical", "blocker"}
        assert set(issue["location"]) == {"path", "lines"} and isinstance(issue["location"]["path"], str)
        begin = issue["location"]["lines"]["begin"]
        assert isinstance(begin, int) and not isinstance(begin, bool) and begin >= 1
    assert len({issue["fingerprint"] for issue in issues}) == len(issues)  # GitLab merges equal ones

    found = [i for i in issues if i["check_name"] in RULES]
    assert len(found) == len(all_diagnostics(report))
    for issue, (_, diag) in zip(found, all_diagnostics(report), strict=True):
        assert issue["check_name"] == diag["code"]
        assert issue["severity"] == {"error": "major", "warning": "minor", "info": "info"}[diag["severity"]]
        assert diag["message"] in issue["description"]
        expected = diag["line"] if diag["line"] is not None and diag["cell"] is None else 1
        assert issue["location"]["lines"]["begin"] == expected
    script = next(i for i in found if i["location"]["path"] == SCRIPT and i["check_name"] == "BN012")
    assert script["location"]["lines"]["begin"] == one(report, SCRIPT, "BN012")["line"]
    model = next(i for i in found if i["location"]["path"].endswith("model.keras"))
    assert model["description"].startswith("(layer functional/")
    notebook = next(i for i in found if i["location"]["path"] == NOTEBOOK)
    assert notebook["description"].startswith("(cell 4, line 1) ")

    [unreadable] = [i for i in issues if i["check_name"] == "bnlint-unreadable"]
    assert unreadable["severity"] == "major" and "empty file" in unreadable["description"]
    assert unreadable["location"]["path"].endswith("x.keras")
    [note] = [i for i in issues if i["check_name"] == "bnlint-note"]
    assert note["severity"] == "info" and note["location"]["path"] == WITH_NOTES
