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
