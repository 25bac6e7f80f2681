"""The proxy benchmark runs end to end (small and short, so it stays a check, not a measurement)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.integration.proxy import ROOT
from tests.integration.proxy import child_env

pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("proxy-bench")]


def test_proxy_benchmark_reports_both_modes():
    done = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "bench_proxy.py"), "--requests", "20", "--size", "200000", "--json"],
        capture_output=True, text=True, timeout=300, cwd=ROOT, env=child_env(),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    res = json.loads(done.stdout)
    assert res["requests"] == 20 and res["body_bytes"] >= 150_000
    assert len(res["modes"]) == 2
    for row in res["modes"].values():
        assert row["uploads"] >= 1
        assert 0 < row["idle_p50_ms"] <= row["idle_p99_ms"]
        assert 0 < row["loaded_p50_ms"] <= row["loaded_p99_ms"] <= row["loaded_max_ms"]
