"""The addon chain through mitmproxy's taddons/tflow: hooks called directly, no network."""

from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path

import pytest
from mitmproxy import exceptions
from mitmproxy.test import taddons
from mitmproxy.test import tflow
from mitmproxy.test import tutils

from addons.auditlog import AuditLog
from addons.classify import Classifier
from addons.enforce import Enforcer
from addons.flowstate import get_state
from addons.rulestore import RuleStore
from tests.integration.fakes import grouped
from tests.integration.fakes import visa_number
from tests.ocsf import problems as ocsf_problems

RULES = Path(__file__).resolve().parent.parent / "rules"


@pytest.fixture(scope="module")
def rules_copy(tmp_path_factory) -> Path:
    target = tmp_path_factory.mktemp("rules") / "rules"
    shutil.copytree(RULES, target)
    return target


@pytest.fixture
def chain(rules_copy, tmp_path):
    store = RuleStore()
    classifier = Classifier(store)
    enforcer = Enforcer(store)
    audit = AuditLog(store, enforcer)
    with taddons.context(store, classifier, enforcer, audit) as tctx:
        tctx.options.confdir = str(tmp_path / "certs")
        tctx.configure(audit, sg_log_file=str(tmp_path / "events.jsonl"), sg_log_flush="0.05")
        tctx.configure(store, sg_rules=str(rules_copy), sg_rules_poll="0")
        tctx.configure(enforcer, sg_fingerprint_key=str(tmp_path / "fp.key"))
        yield tctx, store, classifier, enforcer, audit
        audit.done()


def make_flow(host: str, path: str = "/", *, method: str = "GET", headers: dict | None = None,
              body: bytes = b"") -> tflow.HTTPFlow:
    request = tutils.treq(host=host, port=443, scheme=b"https", method=method.encode(), path=path.encode(),
                          content=body)
    request.headers.clear()
    request.headers["host"] = host
    for name, value in (headers or {}).items():
        request.headers[name] = value
    if body:
        request.headers["content-length"] = str(len(body))
    return tflow.tflow(req=request)


def run_request(chain, flow) -> None:
    _, _, classifier, enforcer, audit = chain
    classifier.requestheaders(flow)
    enforcer.requestheaders(flow)
    if flow.response is None:
        pending = enforcer.request(flow)
        if pending is not None:  # a large body: scanned in a worker thread, awaited as mitmproxy would
            asyncio.run(pending)
    if flow.response is None:
        flow.response = tutils.tresp(status_code=200)
    audit.response(flow)


def read_events(tmp_path: Path, audit: AuditLog) -> list[dict]:
    assert audit.writer is not None
    audit.writer.flush()
    return [json.loads(line) for line in (tmp_path / "events.jsonl").read_text().splitlines()]


def test_chatgpt_gets_the_block_page_and_one_valid_log_line(chain, tmp_path):
    flow = make_flow("chatgpt.com", "/?q=private", headers={"accept": "text/html"})
    run_request(chain, flow)
    assert flow.response.status_code == 403
    assert flow.response.headers["content-type"].startswith("text/html")
    event_id = get_state(flow) and get_state(flow).event_id or flow.metadata["sg"]["event_id"]
    assert f'id="sg-event-id">{event_id}<' in flow.response.text or event_id in flow.response.text
    events = [e for e in read_events(tmp_path, chain[4]) if e["class_uid"] == 4002]
    assert len(events) == 1
    event = events[0]
    assert ocsf_problems(event) == []
    assert event["metadata"]["uid"] == event_id
    assert (event["status_id"], event["action_id"]) == (2, 2)
    assert event["unmapped"]["shadowgate"]["app"]["id"] == "app-chatgpt"
    assert event["policy"]["uid"] == "policy-block-unsanctioned-ai-chat"
    assert "private" not in json.dumps(event)


def test_openai_api_is_allowed_and_logged(chain, tmp_path):
    body = json.dumps({"model": "gpt-x", "messages": [{"role": "user", "content": "hello there"}]}).encode()
    flow = make_flow("api.openai.com", "/v1/chat/completions", method="POST",
                     headers={"content-type": "application/json"}, body=body)
    run_request(chain, flow)
    assert flow.response.status_code == 200
    assert flow.request.content == body
    event = [e for e in read_events(tmp_path, chain[4]) if e["class_uid"] == 4002][-1]
    assert ocsf_problems(event) == []
    assert (event["status_id"], event["action_id"]) == (1, 1)
    assert event["policy"]["uid"] == "policy-log-ai-use"


def test_monitor_mode_only_logs(chain, tmp_path):
    tctx, _, _, enforcer, audit = chain
    tctx.configure(enforcer, sg_mode="monitor")
    flow = make_flow("claude.ai", "/", headers={"accept": "text/html"})
    run_request(chain, flow)
    assert flow.response.status_code == 200  # upstream answer, not a block page
    event = [e for e in read_events(tmp_path, audit) if e["class_uid"] == 4002][-1]
    assert ocsf_problems(event) == []
    assert event["action_id"] == 1
    assert event["unmapped"]["shadowgate"]["policy_action"] == "block"


def test_bad_rules_are_refused_and_last_good_rules_stay(chain, rules_copy, tmp_path):
    tctx, store, *_ = chain
    good = store.ruleset
    broken = tmp_path / "broken"
    shutil.copytree(rules_copy, broken)
    policy = broken / "policies" / "default.yaml"
    policy.write_text(policy.read_text().replace("    action: block", "    acton: block", 1))
    with pytest.raises(exceptions.OptionsError, match=r"default\.yaml:\d+: .*unknown field 'acton' "
                                                      r"\(did you mean 'action'\?\)"):
        tctx.configure(store, sg_rules=str(broken))
    assert store.ruleset is good


def test_no_rules_fails_closed(tmp_path):
    store = RuleStore()
    enforcer = Enforcer(store)
    with taddons.context(store, Classifier(store), enforcer) as tctx:
        tctx.options.confdir = str(tmp_path)
        classifier = tctx.master.addons.get("classifier")
        flow = make_flow("api.openai.com", "/v1/models")
        classifier.requestheaders(flow)
        enforcer.requestheaders(flow)
        assert flow.response is not None and flow.response.status_code == 403
        assert get_state(flow).decision.policy_id == "fail-closed"
        tctx.configure(enforcer, sg_fail_mode="open")
        flow = make_flow("api.openai.com", "/v1/models")
        classifier.requestheaders(flow)
        enforcer.requestheaders(flow)
        assert flow.response is None
        assert get_state(flow).decision.policy_id == "fail-open"


def test_large_body_is_streamed_and_logged_as_not_inspected(chain, tmp_path):
    tctx, _, classifier, enforcer, audit = chain
    tctx.configure(enforcer, sg_max_buffer="1k")
    flow = make_flow("api.openai.com", "/v1/files", method="POST",
                     headers={"content-type": "application/json"}, body=b"{" + b" " * 4000 + b"}")
    classifier.requestheaders(flow)
    enforcer.requestheaders(flow)
    assert flow.request.stream is True
    assert get_state(flow).facts.report.not_inspected == ("body-too-large",)
    flow.response = tutils.tresp()
    audit.response(flow)
    event = [e for e in read_events(tmp_path, audit) if e["class_uid"] == 4002][-1]
    assert ocsf_problems(event) == []
    assert "body-too-large" in event["unmapped"]["shadowgate"]["dlp"]["not_inspected"]


THREAD_MIN = 64 << 10


def chat_body(size: int, needle: str = "") -> bytes:
    filler = "Please summarise the quarterly numbers for the team. " * (size // 50)
    return json.dumps({"model": "gpt-x", "messages": [{"role": "user", "content": filler + needle}]}).encode()


@pytest.mark.parametrize("size", [1000, THREAD_MIN + 1000])  # scanned inline, and in a worker thread
def test_card_number_is_blocked_whether_scanned_inline_or_in_a_thread(chain, tmp_path, size):
    tctx, audit = chain[0], chain[4]
    tctx.configure(chain[3], sg_scan_thread_min="64k")
    card = grouped(visa_number())
    flow = make_flow("api.openai.com", "/v1/chat/completions", method="POST",
                     headers={"content-type": "application/json"}, body=chat_body(size, f" card {card}"))
    run_request(chain, flow)
    assert flow.response.status_code == 403
    assert "fin-card-number" in flow.response.get_text()
    event = [e for e in read_events(tmp_path, audit) if e["class_uid"] == 4002][-1]
    assert ocsf_problems(event) == []
    assert event["unmapped"]["shadowgate"]["dlp"]["scanned_bytes"] >= size


def test_clean_large_body_is_scanned_in_a_thread_and_forwarded(chain, tmp_path):
    tctx, _, classifier, enforcer, audit = chain
    tctx.configure(enforcer, sg_scan_thread_min="64k")
    body = chat_body(THREAD_MIN * 2)
    flow = make_flow("api.openai.com", "/v1/chat/completions", method="POST",
                     headers={"content-type": "application/json"}, body=body)
    classifier.requestheaders(flow)
    enforcer.requestheaders(flow)
    pending = enforcer.request(flow)
    assert pending is not None and get_state(flow).decision is None  # nothing decided until the scan is in
    asyncio.run(pending)
    assert flow.response is None and flow.request.content == body
    assert get_state(flow).decision.policy_id == "policy-log-ai-use"


def test_a_failing_threaded_scan_fails_closed(chain, tmp_path, monkeypatch):
    tctx, audit = chain[0], chain[4]
    tctx.configure(chain[3], sg_scan_thread_min="64k")

    def broken(self):
        raise RuntimeError("scanner exploded")

    monkeypatch.setattr("addons.enforce.ScanJob.__call__", broken)
    flow = make_flow("api.openai.com", "/v1/chat/completions", method="POST",
                     headers={"content-type": "application/json"}, body=chat_body(THREAD_MIN * 2))
    run_request(chain, flow)
    assert flow.response.status_code == 403
    event = [e for e in read_events(tmp_path, audit) if e["class_uid"] == 4002][-1]
    assert ocsf_problems(event) == []
    assert event["policy"]["uid"] == "fail-closed"
    (error,) = [e for e in read_events(tmp_path, audit) if e["class_uid"] == 6008]
    assert ocsf_problems(error) == []
    assert error["status_code"] == "E_ENFORCEMENT"
    assert error["metadata"]["correlation_uid"] == event["metadata"]["correlation_uid"]
    assert error["unmapped"]["shadowgate"]["error"]["event_id"] == event["metadata"]["uid"]


def test_scan_thread_min_option(chain):
    tctx, _, classifier, enforcer, _ = chain
    assert enforcer.thread_min is None  # shipped: every body on the event loop
    flow = make_flow("api.openai.com", "/v1/chat/completions", method="POST",
                     headers={"content-type": "application/json"}, body=chat_body(THREAD_MIN * 2))
    classifier.requestheaders(flow)
    enforcer.requestheaders(flow)
    assert enforcer.request(flow) is None  # scanned on the event loop, decided at once
    assert get_state(flow).decision is not None
    tctx.configure(enforcer, sg_scan_thread_min="1k")
    assert enforcer.thread_min == 1024
    with pytest.raises(exceptions.OptionsError, match="sg_scan_thread_min"):
        tctx.configure(enforcer, sg_scan_thread_min="lots")
