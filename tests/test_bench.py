"""The engine benchmark's body generator and report (the timing itself runs in ./scripts/bench)."""

import json
import random

from addons import bench

MARK = "ZZMARKZZ"


def test_finding_density_and_one_finding_per_body_at_least():
    count = lambda text: text.count(MARK)  # noqa: E731
    dense, _ = bench.make_body("prose", 64 << 10, [MARK], random.Random(1))
    sparse, _ = bench.make_body("prose", 64 << 10, [MARK], random.Random(1), every=0)
    tiny, _ = bench.make_body("logs", 1 << 10, [MARK], random.Random(1))
    assert 8 <= count(dense.decode()) <= 32  # ~1 per 4 KB
    assert count(sparse.decode()) == 1 and count(tiny.decode()) >= 1


def test_chat_json_body_is_valid_json_and_intl_prose_is_not_ascii():
    body, ctype = bench.make_body("chat-json", 8 << 10, [MARK], random.Random(2))
    doc = json.loads(body)
    assert ctype == "application/json" and doc["messages"][0]["role"] == "system"
    intl, _ = bench.make_body("prose-intl", 4 << 10, [MARK], random.Random(3))
    assert not intl.isascii()


def test_aggregate_rows_cover_the_target_kinds_only():
    rows = [{"size": size, "kind": kind, "bytes": 1000, "findings": 1, "engine_us": 100.0, "engine_mbs": 10.0,
             "naive_mbs": 0.1, "ratio": 100.0}
            for size in bench.SIZES for kind in (*bench.KINDS, *bench.EXTRA_KINDS)]
    rows[-1]["engine_mbs"] = 0.001  # an extra-kind row must not drag the aggregate down
    table = bench.markdown({"rows": rows})
    assert "| **1MB** | all four | 4000 | | 100 | **10.0** | 0.10 | **100×** |" in table


def test_floor_recorder_replays_the_scan_and_restores_the_scanner():
    from pathlib import Path

    from addons import benchfloor
    from addons.detectors import build_scanner
    from addons.fingerprint import Fingerprinter
    from addons.model import Segment
    from addons.ruleyaml import Problems
    from addons.ruleyaml import read_rule_files
    from tests.integration import fakes

    rules = Path(__file__).resolve().parent.parent / "rules" / "detectors"
    problems = Problems()
    scanner = build_scanner(read_rule_files(rules, "detectors", problems, "rules/detectors"), problems,
                            rules_dir=rules, run_examples=False)  # fmt: skip
    fp = Fingerprinter(bytes(32))
    number = fakes.visa_number()
    segs = [Segment("body", f"please charge card {number[:4]} {number[4:8]} {number[8:12]} {number[12:]} today")]
    before = scanner.scan(segs, fingerprinter=fp)
    assert [f.detector_id for f in before.findings] == ["fin-card-number"]
    during: list = []
    buffers, calls = benchfloor._record(scanner, lambda: during.append(scanner.scan(segs, fingerprinter=fp)))
    assert during == [before]  # recording does not change what is found
    assert buffers and calls
    assert all(type(rx).__name__ != "_Recorder" for rx, *_ in calls)  # the real RE2 objects, replayable
    assert [rx.Match(*args) for rx, *args in calls]  # replays without error
    assert scanner.scan(segs, fingerprinter=fp) == before
    assert all(d.confirm is None or type(d.confirm.loc).__name__ != "_Recorder" for d in scanner._dets)
    assert "run" not in vars(scanner._locator)


def test_survey_counts_findings_per_detector_and_prints_no_value(tmp_path, capsys):
    from pathlib import Path

    from addons import benchsurvey
    from tests.integration import fakes

    number = fakes.visa_number()
    (tmp_path / "notes.md").write_text(f"Customer card {fakes.grouped(number)} on file.\n")
    (tmp_path / "clean.py").write_text("def add(a, b):\n    return a + b\n")
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "fixture.txt").write_text(f"card {fakes.grouped(number)}\n")  # test dirs are skipped
    rules = Path(__file__).resolve().parent.parent / "rules" / "detectors"
    files, size, counts = benchsurvey.survey([tmp_path], rules)
    assert (files, dict(counts)) == (2, {"fin-card-number": 1})
    assert benchsurvey.main([str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "| fin-card-number | 1 |" in out and number not in out and fakes.grouped(number) not in out


def test_profile_shares_count_a_sample_once_per_stage_on_its_stack():
    from addons.benchprofile import shares

    raw = "\n".join([
        "<module> (x.py:1);Scanner.scan (addons/scan.py:3);Locator.run (addons/matchers.py:5);0x7f (hs.so) 6",
        "<module> (x.py:1);check_candidates (addons/findings.py:9);at_least (addons/entropy.py:2) 3",
        "<module> (x.py:1);finish (addons/findings.py:4);finish (addons/findings.py:5) 1",
        "py-spy noise without a count",
    ])  # fmt: skip
    total, pct = shares(raw)
    assert total == 10
    assert pct["Locator.run"] == 60.0
    assert pct["check_candidates"] == pct["at_least"] == 30.0
    assert pct["finish"] == 10.0  # two frames of one function in one sample count once
    assert pct["extract_segments"] == 0.0
