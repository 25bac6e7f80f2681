"""The `shadowgate` command line, run as a real subprocess."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
RULES = ROOT / "rules"


def shadowgate(*args: str, stdin: str | None = None, check: bool = True) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [sys.executable, "-m", "addons.cli", *args],
        input=stdin, capture_output=True, text=True, cwd=ROOT, timeout=300,
    )
    if check and result.returncode != 0:
        raise AssertionError(f"exit {result.returncode}: {result.stderr[-2000:]}")
    return result


@pytest.fixture(scope="module")
def rules_copy(tmp_path_factory) -> Path:
    target = tmp_path_factory.mktemp("cli") / "rules"
    shutil.copytree(RULES, target)
    return target


def luhn_card() -> str:
    digits = [4, 5, 3, 9] + [int(c) for c in f"{int.from_bytes(os.urandom(6), 'big') % 10**11:011d}"]
    total = 0
    for i, d in enumerate(reversed(digits)):
        d = d * 2 if i % 2 == 0 else d
        total += d - 9 if d > 9 else d
    return "".join(map(str, digits)) + str((10 - total % 10) % 10)


def test_validate_reports_file_line_and_exits_non_zero(rules_copy, tmp_path):
    broken = tmp_path / "rules"
    shutil.copytree(rules_copy, broken)
    apps = broken / "apps" / "chat_assistants.yaml"
    apps.write_text(apps.read_text().replace("    vendor:", "    vendour:", 1))
    result = shadowgate("validate", str(broken), check=False)
    assert result.returncode == 1
    assert f"{broken}/apps/chat_assistants.yaml:" in result.stderr
    assert "unknown field 'vendour' (did you mean 'vendor'?)" in result.stderr


def test_scan_jsonl_keeps_input_order_and_never_prints_values(rules_copy, tmp_path):
    card = luhn_card()
    grouped = " ".join(card[i:i + 4] for i in range(0, 16, 4))
    corpus = tmp_path / "corpus.jsonl"
    corpus.write_text("\n".join(json.dumps({"text": t}) for t in ["hello", f"my card is {grouped}", "bye"]) + "\n")
    result = shadowgate("scan", "--rules", str(rules_copy), "--key", str(tmp_path / "k"), "--jsonl", str(corpus))
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["line"] for line in lines] == [1, 2, 3]
    assert lines[0]["findings"] == [] and lines[2]["findings"] == []
    found = lines[1]["findings"]
    assert any(f["detector"] == "fin-card-number" and f["view"] == "raw" for f in found)
    start = next(f["start"] for f in found if f["detector"] == "fin-card-number")
    assert f"my card is {grouped}"[start:].startswith(grouped)
    assert card not in result.stdout and grouped not in result.stdout


def test_scan_reads_office_documents_and_pdfs(rules_copy, tmp_path):
    from tests import uploads

    card = luhn_card()
    grouped = " ".join(card[i:i + 4] for i in range(0, 16, 4))
    (tmp_path / "refund.docx").write_bytes(uploads.docx_bytes(f"Refund card {grouped} please."))
    (tmp_path / "refund.pdf").write_bytes(uploads.pdf_bytes("Cover page", f"Refund card {grouped} please."))
    for name, where in (("refund.docx", "document#word/document.xml"), ("refund.pdf", "document#page2")):
        result = shadowgate("scan", "--rules", str(rules_copy), "--key", str(tmp_path / "k"), str(tmp_path / name))
        found = [f for f in json.loads(result.stdout)["findings"] if f["detector"] == "fin-card-number"]
        assert [f["where"] for f in found] == [where], name
        assert card not in result.stdout and grouped not in result.stdout


def test_fingerprint_is_stable_per_key(tmp_path):
    key = str(tmp_path / "k")
    one = json.loads(shadowgate("fingerprint", "--key", key, "s3cret-value").stdout)
    two = json.loads(shadowgate("fingerprint", "--key", key, "s3cret-value").stdout)
    other = json.loads(shadowgate("fingerprint", "--key", str(tmp_path / "k2"), "s3cret-value").stdout)
    assert one == two and len(one["fingerprint"]) == 64 and len(one["key_id"]) == 8
    assert other["fingerprint"] != one["fingerprint"]
    assert stat.S_IMODE(os.stat(key).st_mode) == 0o600


def test_edm_build_then_enabled_detector_finds_listed_values_only(rules_copy, tmp_path):
    key = str(tmp_path / "k")
    built = shadowgate("edm", "build", "--key", key, stdin="CUS-2024-000417\nCUS-2025-123456\n")
    assert "CUS-2024-000417" not in built.stdout and built.stdout.startswith("# shadowgate-edm v1 key_id=")
    rules = tmp_path / "rules"
    shutil.copytree(rules_copy, rules)
    (rules / "detectors" / "edm" / "customers.edm").write_text(built.stdout)
    custom = rules / "detectors" / "custom.yaml"
    enabled = custom.read_text().replace("    enabled: false\n    edm_file:", "    enabled: true\n    edm_file:")
    custom.write_text(enabled)
    text = "refund CUS-2025-123456 but not CUS-2025-999999"
    result = shadowgate("scan", "--rules", str(rules), "--key", key, stdin=text)
    found = [f for f in json.loads(result.stdout)["findings"] if f["detector"] == "edm-customer-id"]
    assert [(f["start"], f["end"]) for f in found] == [(7, 22)]


def test_classify_prints_app_and_mcp_verdict(rules_copy):
    app = json.loads(shadowgate("classify", "https://api.openai.com/v1/chat/completions", "--rules",
                                str(rules_copy)).stdout)
    assert app["app"]["id"] == "app-openai-api" and app["mcp"]["is_mcp"] is False
    mcp = json.loads(shadowgate(
        "classify", "https://tools.example.org/mcp", "--method", "POST", "--rules", str(rules_copy),
        "--header", "Accept: application/json, text/event-stream", "--header", "MCP-Protocol-Version: 2025-06-18",
    ).stdout)
    assert mcp["app"] is None and mcp["mcp"]["is_mcp"] is True
    assert {s["id"] for s in mcp["mcp"]["signals"]} >= {"mcp-header-protocol-version"}


def test_ca_path_and_export(tmp_path):
    certs = tmp_path / "certs"
    path = Path(shadowgate("ca", "--path", "--certs", str(certs)).stdout.strip())
    assert path == certs / "mitmproxy-ca-cert.pem" and path.read_text().startswith("-----BEGIN CERTIFICATE-----")
    assert stat.S_IMODE(os.stat(certs / "mitmproxy-ca.pem").st_mode) == 0o600
    out = tmp_path / "export"
    shadowgate("ca", "--export", str(out), "--certs", str(certs))
    assert (out / "shadowgate-ca.pem").read_text().startswith("-----BEGIN CERTIFICATE-----")
    assert (out / "shadowgate-ca.der").read_bytes()[:1] == b"\x30"  # DER SEQUENCE
