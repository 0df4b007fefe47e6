"""Check out the repositories of the real-script corpus at the commits the labels were made on.

    python benchmarks/fetch_corpus.py DIR [--manifest benchmarks/corpus/manifest.jsonl]

Each repository goes to DIR/OWNER+NAME (the layout bench_corpus.py reads). Needs git and
access to github.com; repositories already present are left as they are.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

MANIFEST = Path(__file__).with_name("corpus") / "manifest.jsonl"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("dir", type=Path)
    parser.add_argument("--manifest", type=Path, default=MANIFEST)
    args = parser.parse_args()
    entries = [json.loads(line) for line in args.manifest.read_text().splitlines() if line.strip()]
    failed = 0
    for repo, commit in sorted({(e["repo"], e["commit"]) for e in entries}):
        target = args.dir / repo.replace("/", "+")
        if target.exists():
            continue
        done = subprocess.run(["git", "clone", "--quiet", f"https://github.com/{repo}", str(target)])
        if done.returncode == 0:
            done = subprocess.run(["git", "-C", str(target), "checkout", "--quiet", commit])
        if done.returncode != 0:
            failed += 1
            print(f"{repo}@{commit}: could not be checked out", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
