"""detectors.py: detector YAML records → validated `DetectorSpec`s → a compiled `Scanner`, self-tested.

Invariant: every problem is reported as `file:line: detectors[i] 'id': …` into `Problems`; a
detector whose examples fail through the real scanner is reported at the example's line.
Messages never hold a matched value except masked previews of the rule's own (fake) examples.

`python -m addons.detectors [RULES_DIR]` loads RULES_DIR/detectors and prints every problem.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from addons.detector_spec import FIELDS
from addons.detector_spec import DetectorSpec
from addons.detector_spec import parse_detector
from addons.extract import extract_segments
from addons.fingerprint import Fingerprinter
from addons.matchers import SHORT_KEYWORD
from addons.matchers import is_short
from addons.model import Segment
from addons.ruleyaml import LineDict
from addons.ruleyaml import Problems
from addons.ruleyaml import RuleFile
from addons.ruleyaml import check_unique_ids
from addons.ruleyaml import expand_fakes
from addons.ruleyaml import read_rule_files
from addons.ruleyaml import record_label
from addons.scan import Scanner
from addons.scan import check_disabled

__all__ = ["FIELDS", "DetectorSpec", "Scanner", "build_edm", "build_scanner", "load_scanner"]

EDM_HEADER = "# shadowgate-edm v1"


@dataclass(frozen=True, slots=True)
class _Parsed:
    spec: DetectorSpec
    record: LineDict
    path: str
    label: str


def build_scanner(
    files: list[RuleFile],
    problems: Problems,
    *,
    rules_dir: Path,
    fingerprinter: Fingerprinter | None = None,
    run_examples: bool = True,
) -> Scanner:
    """Parse, compile and self-test every detector; problems go to `problems`, never raised.

    `rules_dir` is the detectors directory (word lists and EDM files are relative to it). With a
    `fingerprinter`, an EDM file hashed with another key is reported at load time.
    """
    parsed: list[_Parsed] = []
    for f in files:
        for index, record in enumerate(f.records):
            label = record_label("detectors", index, record)
            spec = parse_detector(record, problems, f.path, label, Path(rules_dir), fingerprinter)
            if spec is not None:
                parsed.append(_Parsed(spec, record, f.path, label))
    check_unique_ids(((p.spec.id, p.record.line, p.path) for p in parsed), problems, "detector")
    seen: set[str] = set()
    unique = []
    for p in parsed:
        if p.spec.id not in seen:
            seen.add(p.spec.id)
            unique.append(p)
    enabled = [p.spec for p in unique if p.spec.enabled]
    disabled = [p.spec for p in unique if not p.spec.enabled]
    scanner = Scanner(enabled, disabled=disabled)
    compile_problems = {**scanner.problems, **check_disabled(disabled)}
    for p in unique:
        message = compile_problems.get(p.spec.id)
        if message is not None:
            line = p.record.key_lines.get("pattern", p.record.key_lines.get("edm_tokens", p.record.line))
            problems.add(p.path, line, f"{p.label}: {message}")
    if run_examples:
        failing = check_examples(scanner, [p for p in unique if p.spec.id in scanner.detector_ids], problems)
        if failing:
            scanner = scanner.without(failing)
    return scanner


def check_examples(scanner: Scanner, parsed: Sequence[_Parsed], problems: Problems) -> set[str]:
    """Run every example through `scanner`; return the ids of detectors whose examples fail. All examples
    are scanned in one batch (`Scanner.scan_many`: each one still an independent request)."""
    fp = Fingerprinter.ephemeral()
    failing: set[str] = set()
    jobs: list[tuple[_Parsed, str, int, int, bool, str]] = []
    for p in parsed:
        spec = p.spec
        for kind, must in (("match", True), ("no_match", False), ("evasions", True)):
            items, lines = spec.examples.get(kind, ((), ()))
            for i, (raw, line) in enumerate(zip(items, lines, strict=True)):
                text = expand_fakes(raw, f"{spec.id}/{kind}/{i}")
                if spec.edm_file is not None and must:
                    if not scanner.has_candidate(spec.id, text):
                        problems.add(p.path, line, f"{p.label}: example {kind}[{i}] has no candidate token "
                                     "for 'edm_tokens'")
                        failing.add(spec.id)
                    continue
                jobs.append((p, kind, i, line, must, text))
    reports = scanner.scan_many([example_segments(j[5]) for j in jobs], fingerprinter=fp)
    for (p, kind, i, line, must, text), report in zip(jobs, reports, strict=True):
        hits = [f for f in report.findings if f.detector_id == p.spec.id]
        if must and not hits:
            hint = _short_keyword_hint(p.spec, text)
            problems.add(p.path, line, f"{p.label}: example {kind}[{i}] was not found{hint}")
            failing.add(p.spec.id)
        elif not must and hits:
            h = hits[0]
            problems.add(p.path, line, f"{p.label}: example {kind}[{i}] was found as '{h.preview}' (view {h.view})")
            failing.add(p.spec.id)
    return failing


def _short_keyword_hint(spec: DetectorSpec, text: str) -> str:
    """Why an example may be unreachable: its short keyword only occurs inside a word."""
    low = text.lower()
    for kw in spec.keywords:
        if is_short(kw) and kw in low and not re.search(r"(?:^|[^a-z0-9])" + re.escape(kw), low):
            return (f" (keyword '{kw}' occurs only inside a word here, and a keyword of at most {SHORT_KEYWORD} "
                    "characters counts only at the start of a word: add a longer keyword)")
    return ""


def example_segments(text: str) -> list[Segment]:
    """An example as the proxy would see it: the text itself, plus its JSON leaves (and joined
    siblings) when the example is a JSON document."""
    segments = [Segment("example", text)]
    if text.lstrip()[:1] in ("{", "["):
        ex = extract_segments(text.encode("utf-8", "replace"), content_type="application/json",
                              content_encoding=None, max_bytes=1 << 20, max_decompressed=1 << 20)  # fmt: skip
        if ex.kind == "json":
            segments.extend(ex.segments)
    return segments


def build_edm(values: Sequence[str], fingerprinter: Fingerprinter) -> str:
    """An EDM file: a header naming the key id, then one sorted, de-duplicated HMAC per line."""
    hashes = sorted({fingerprinter.fingerprint_folded(v) for v in values if v.strip()})
    return f"{EDM_HEADER} key_id={fingerprinter.key_id} count={len(hashes)}\n" + "".join(h + "\n" for h in hashes)


def load_scanner(rules_root: Path, problems: Problems, fingerprinter: Fingerprinter | None = None) -> Scanner:
    """Read `rules_root/detectors` and build the scanner (problems collected, not raised)."""
    directory = Path(rules_root) / "detectors"
    files = read_rule_files(directory, "detectors", problems, f"{Path(rules_root).name}/detectors")
    return build_scanner(files, problems, rules_dir=directory, fingerprinter=fingerprinter)


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    root = Path(args[0]) if args else Path(__file__).resolve().parent.parent / "rules"
    problems = Problems()
    scanner = load_scanner(root, problems)
    if problems:
        for item in problems.items:
            print(item)
        print(f"{len(problems)} problem(s); {len(scanner.detector_ids)} detector(s) usable", file=sys.stderr)
        return 1
    print(f"{len(scanner.detector_ids)} detectors loaded from {root / 'detectors'}, all examples pass")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
