"""benchsurvey.py: what the shipped detectors find in ordinary files (a false-positive survey).

`python -m addons.benchsurvey DIR…` (also `./scripts/bench survey DIR…`) scans every text file under
the directories (code, docs, config; test directories skipped) with the shipped rules and prints the
findings per detector and per MB. Only counts are printed, never a value or its context: run it on
your own documents to see what a policy would act on before you enforce it.
"""

from __future__ import annotations

import argparse
import collections
from pathlib import Path

from addons.detectors import build_scanner
from addons.fingerprint import Fingerprinter
from addons.model import Segment
from addons.ruleyaml import Problems
from addons.ruleyaml import read_rule_files

SUFFIXES = frozenset({".py", ".rst", ".txt", ".md", ".json", ".html", ".cfg", ".toml", ".yaml", ".yml", ".ini"})
SKIPPED = frozenset({"test", "tests", "testing"})


def text_files(roots: list[Path]) -> list[Path]:
    return sorted(f for root in roots for f in root.rglob("*")
                  if f.suffix in SUFFIXES and f.is_file() and not SKIPPED & set(f.parts))  # fmt: skip


def survey(roots: list[Path], rules: Path) -> tuple[int, int, collections.Counter]:
    """(files read, bytes, findings per detector)."""
    problems = Problems()
    scanner = build_scanner(read_rule_files(rules, "detectors", problems, "rules/detectors"), problems,
                            rules_dir=rules, run_examples=False)  # fmt: skip
    fp = Fingerprinter.ephemeral()
    counts: collections.Counter = collections.Counter()
    files = size = 0
    for path in text_files(roots):
        try:
            text = path.read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError):
            continue
        files += 1
        size += len(text.encode())
        counts.update(f.detector_id for f in scanner.scan([Segment("file", text)], fingerprinter=fp).findings)
    return files, size, counts


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m addons.benchsurvey", description=__doc__)
    ap.add_argument("dirs", nargs="+", type=Path)
    ap.add_argument("--rules", type=Path, default=Path(__file__).resolve().parent.parent / "rules" / "detectors")
    args = ap.parse_args(argv)
    files, size, counts = survey(args.dirs, args.rules)
    mb = max(size, 1) / 1e6
    print(f"{files} files, {mb:.1f} MB, {sum(counts.values())} findings ({sum(counts.values()) / mb:.1f} per MB)")
    print("| detector | findings | per MB |\n|---|---:|---:|")
    for detector, n in counts.most_common():
        print(f"| {detector} | {n} | {n / mb:.2f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
