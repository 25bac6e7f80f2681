"""Every shipped detector's examples, one test each, through the production scanner on rules/detectors/."""

from pathlib import Path

import pytest

from addons.detectors import build_scanner
from addons.detectors import example_segments
from addons.fingerprint import Fingerprinter
from addons.ruleyaml import Problems
from addons.ruleyaml import expand_fakes
from addons.ruleyaml import read_rule_files

RULES = Path(__file__).resolve().parent.parent / "rules" / "detectors"


def _examples():
    files = read_rule_files(RULES, "detectors", Problems(), "rules/detectors")
    for f in files:
        for record in f.records:
            rid = record.get("id")
            examples = record.get("examples")
            if not isinstance(rid, str) or not isinstance(examples, dict) or record.get("enabled") is False:
                continue
            for kind in ("match", "no_match", "evasions"):
                for i, text in enumerate(examples.get(kind) or ()):
                    yield pytest.param(rid, kind, i, text, id=f"{rid}-{kind}-{i}")


@pytest.fixture(scope="module")
def scanner():
    problems = Problems()
    files = read_rule_files(RULES, "detectors", problems, "rules/detectors")
    return build_scanner(files, problems, rules_dir=RULES, run_examples=False)


def test_shipped_detectors_load_without_problems():
    problems = Problems()
    files = read_rule_files(RULES, "detectors", problems, "rules/detectors")
    scanner = build_scanner(files, problems, rules_dir=RULES)
    assert problems.items == []
    assert scanner.detector_ids


@pytest.mark.parametrize(("detector_id", "kind", "index", "text"), list(_examples()))
def test_example(scanner, detector_id, kind, index, text):
    spec = scanner.detector(detector_id)
    assert spec is not None, f"{detector_id} did not load"
    text = expand_fakes(text, f"{detector_id}/{kind}/{index}")
    if spec.edm_file is not None and kind != "no_match":
        assert scanner.has_candidate(detector_id, text)
        return
    report = scanner.scan(example_segments(text), fingerprinter=Fingerprinter.ephemeral(), only={detector_id})
    found = [f for f in report.findings if f.detector_id == detector_id]
    if kind == "no_match":
        assert not found, f"found as {found[0].preview} in view {found[0].view}"
    else:
        assert found, "not found"
