"""Benchmark: bnlint's script findings against labels on real public training scripts.

    python benchmarks/fetch_corpus.py DIR      # once: the repositories, at the labelled commits
    python benchmarks/bench_corpus.py DIR [--manifest benchmarks/corpus/manifest.jsonl]
                                          [--split dev|heldout|heldout2|heldout3|all] [--quiet]

The manifest lists real public scripts and notebooks (repository, path, commit), each
labelled by reading it: per rule yes / no / unknown, with the line and a one-line reason
(benchmarks/corpus/README.md says how it was built). Their text is not part of this
repository. DIR holds each repository checked out at the listed commit as DIR/OWNER+NAME/
(the whole repository: scripts import their own modules).

For every label this prints precision and recall of bnlint (file level: a rule "fires"
when bnlint reports it anywhere in the file) and of a bare `grep 'trainable = False'`,
the baseline a user has without bnlint, then every disagreement with the labeller's
reason, bnlint's findings and its notes (what it could not follow).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import bnlint

MANIFEST = Path(__file__).with_name("corpus") / "manifest.jsonl"
# Label -> the codes whose presence anywhere in the file counts as "fires".
LABELS = {
    "wiring": ("BN001", "BN012", "BN014"),
    "BN003": ("BN003",),
    "BN004": ("BN004",),
    "BN008": ("BN008",),
    "BN010": ("BN010",),
}
GREP = re.compile(r"trainable\s*=\s*False")


@dataclass
class Score:
    tp: int = 0
    fp: int = 0
    fn: int = 0
    tn: int = 0
    unknown: int = 0
    misses: list = field(default_factory=list)

    def add(self, label: str, fired: bool) -> str | None:
        """Count one file; the kind of disagreement, if any."""
        if label == "unknown":
            self.unknown += 1
            return None
        if label == "yes":
            self.tp += fired
            self.fn += not fired
            return None if fired else "missed"
        self.fp += fired
        self.tn += not fired
        return "false alarm" if fired else None

    @staticmethod
    def ratio(a: int, b: int) -> str:
        return f"{a / b:.2f}" if b else "  - "

    def row(self) -> str:
        precision = self.ratio(self.tp, self.tp + self.fp)
        recall = self.ratio(self.tp, self.tp + self.fn)
        return f"{precision:>9} {recall:>7} {self.tp:>4} {self.fp:>4} {self.fn:>4} {self.tn:>4} {self.unknown:>4}"


def load(manifest: Path, split: str) -> list[dict]:
    entries = [json.loads(line) for line in manifest.read_text().splitlines() if line.strip()]
    return [e for e in entries if split == "all" or e.get("split", "dev") == split]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("dir", type=Path, help="folder with the repositories checked out as OWNER+NAME")
    parser.add_argument("--manifest", type=Path, default=MANIFEST)
    parser.add_argument("--split", choices=("dev", "heldout", "heldout2", "heldout3", "all"), default="all")
    parser.add_argument("--quiet", action="store_true", help="figures only, no disagreements")
    args = parser.parse_args()

    entries = load(args.manifest, args.split)
    scores = {name: Score() for name in LABELS}
    grep = Score()
    missing, errors, seconds = [], [], 0.0
    report: list[str] = []
    for entry in entries:
        path = args.dir / entry["repo"].replace("/", "+") / entry["path"]
        if not path.is_file():
            missing.append(f"{entry['repo']}:{entry['path']}")
            continue
        start = time.perf_counter()
        [result] = bnlint.lint([str(path)])["files"]
        seconds += time.perf_counter() - start
        if result["error"]:
            errors.append(f"{entry['repo']}:{entry['path']}: {result['error']}")
        codes = {d["code"] for d in result["diagnostics"]}
        text = path.read_text(errors="replace")
        wiring = entry["labels"].get("wiring", {})
        grep.add(wiring.get("label", "unknown"), bool(GREP.search(text)))
        for name, fired_by in LABELS.items():
            label = entry["labels"].get(name, {"label": "unknown"})
            kind = scores[name].add(label.get("label", "unknown"), bool(codes & set(fired_by)))
            if kind is None:
                continue
            scores[name].misses.append(entry)
            found = [
                f"      {d['code']} line {d['line']}{'' if d['cell'] is None else ' cell ' + str(d['cell'])}: "
                f"{d['message'][:160]}"
                for d in result["diagnostics"]
                if d["code"] in fired_by or kind == "missed"
            ]
            notes = [f"      note: {n[:200]}" for n in result.get("notes", [])]
            report += [
                f"{name} {kind}: {entry['repo']}:{entry['path']} (label line {label.get('line')}; "
                f"idioms {', '.join(entry.get('idioms', []))})",
                f"      label: {label.get('reason', '')}",
                *found,
                *notes,
            ]
    print(f"{len(entries)} files in the manifest ({args.split}); {len(missing)} missing from {args.dir}")
    print(f"{'label':<14} {'precision':>9} {'recall':>7} {'tp':>4} {'fp':>4} {'fn':>4} {'tn':>4} {'unk':>4}")
    for name, score in scores.items():
        print(f"{name:<14} {score.row()}")
    print(f"{'grep wiring':<14} {grep.row()}   (grep 'trainable = False' as the predictor)")
    linted = len(entries) - len(missing)
    if linted:
        print(f"bnlint: {seconds:.2f} s for {linted} files ({seconds / linted * 1000:.0f} ms per file)")
    if errors:
        print(f"{len(errors)} files bnlint could not lint:")
        print("\n".join(f"  {e}" for e in errors))
    if missing:
        print("missing: " + ", ".join(missing))
    if report and not args.quiet:
        print("\nDisagreements:")
        print("\n".join(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
