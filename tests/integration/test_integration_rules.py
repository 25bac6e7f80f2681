"""Broken rules: refused at start-up with file:line, refused at runtime with the last good rules kept."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest
import yaml

from tests.integration.clients import curl
from tests.integration.clients import http_client
from tests.integration.proxy import ROOT
from tests.integration.proxy import SHADOWGATE
from tests.integration.proxy import child_env
from tests.integration.proxy import free_port
from tests.integration.proxy import port_open
from tests.integration.proxy import run_argv
from tests.integration.proxy import with_first_policy

pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("proxy-rules")]

CHAT_POLICY = "policy-block-unsanctioned-ai-chat"
EXIT_TIMEOUT = 60.0
RELOAD_TIMEOUT = 30.0
BLOCK_UPSTREAM = """\
  - id: test-block-upstream-host
    when: {hosts: [upstream.test]}
    action: block
"""


def break_policy(rules: Path) -> tuple[str, str]:
    """Add `acton: block` under the chat policy's `action:`; return (new text, the expected problem line)."""
    path = rules / "policies" / "default.yaml"
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    index = [p["id"] for p in yaml.safe_load("".join(lines))["policies"]].index(CHAT_POLICY)
    start = next(i for i, line in enumerate(lines) if line.strip() == f"- id: {CHAT_POLICY}")
    action = next(i for i in range(start, len(lines)) if lines[i].strip().startswith("action:"))
    indent = lines[action][: len(lines[action]) - len(lines[action].lstrip())]
    lines.insert(action + 1, f"{indent}acton: block\n")
    expected = (f"{rules}/policies/default.yaml:{action + 2}: policies[{index}] '{CHAT_POLICY}': "
                "unknown field 'acton' (did you mean 'action'?)")
    return "".join(lines), expected


def replace_file(path: Path, text: str) -> None:
    """Write atomically, so the watcher never reads half a file."""
    tmp = path.parents[2] / f".{path.name}.tmp"  # outside the rules tree
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def is_config(ok: bool, activity: str):
    def match(event: dict) -> bool:
        return (event.get("class_uid") == 6002 and event.get("activity_name") == activity
                and event.get("status_id") == (1 if ok else 2))
    return match


def assert_chat_blocked(proxy) -> None:
    result = curl(proxy, "https://chatgpt.com/", "-H", "Accept: text/html")
    assert result.status == 403, result.stderr
    event = proxy.flow_event(result.headers["x-shadowgate-event-id"])
    assert event["policy"]["uid"] == CHAT_POLICY


def post_upstream(proxy, token: str) -> int:
    with http_client(proxy) as client:
        return client.post(f"https://upstream.test/{token}", content=b"ping").status_code


def test_startup_refuses_broken_rules_with_file_and_line(launch, tmp_path, pki, proxy_certs):
    rules = launch.rules()
    text, expected = break_policy(rules)
    (rules / "policies" / "default.yaml").write_text(text, encoding="utf-8")
    port = free_port()
    argv = run_argv(port=port, rules_dir=rules, log_path=tmp_path / "events.jsonl", certs_dir=proxy_certs,
                    upstream_map="", connect_log=tmp_path / "connects.txt", test_ca=pki.ca_cert)

    started = time.monotonic()
    done = subprocess.run(argv, capture_output=True, text=True, timeout=EXIT_TIMEOUT, cwd=tmp_path,
                          env=child_env())

    assert done.returncode != 0
    assert time.monotonic() - started < EXIT_TIMEOUT
    assert expected in done.stderr.splitlines(), done.stderr
    assert not port_open(port)
    validate = subprocess.run([str(SHADOWGATE), "validate", str(rules)], capture_output=True, text=True,
                              timeout=EXIT_TIMEOUT, cwd=ROOT, env=child_env())
    assert validate.returncode == 1
    assert expected in validate.stderr.splitlines(), validate.stderr


def test_runtime_broken_edit_keeps_last_good_rules_then_fix_reloads(launch, upstream):
    rules = launch.rules()
    proxy = launch.start(rules)
    policy_file = rules / "policies" / "default.yaml"
    good = policy_file.read_text(encoding="utf-8")
    proxy.wait_event(is_config(True, "Load"))
    assert_chat_blocked(proxy)
    assert post_upstream(proxy, "before") == 200

    broken, expected = break_policy(rules)
    replace_file(policy_file, broken)
    refused = proxy.wait_event(is_config(False, "Reload"), timeout=RELOAD_TIMEOUT)
    assert refused["severity_id"] == 4
    assert expected in refused["status_detail"]
    assert "last good" in refused["message"]
    assert proxy.alive()
    assert_chat_blocked(proxy)  # the previous rules are still live
    assert post_upstream(proxy, "during") == 200
    assert [r.path for r in upstream.requests_to("upstream.test")] == ["/before", "/during"]

    replace_file(policy_file, with_first_policy(good, BLOCK_UPSTREAM))
    proxy.wait_event(is_config(True, "Reload"), timeout=RELOAD_TIMEOUT)
    with http_client(proxy) as client:
        response = client.post("https://upstream.test/after", content=b"ping")
    assert response.status_code == 403
    event = proxy.flow_event(response.headers["x-shadowgate-event-id"])
    assert event["policy"]["uid"] == "test-block-upstream-host"
    assert event["status_id"] == 2
    assert [r.path for r in upstream.requests_to("upstream.test")] == ["/before", "/during"]
    assert_chat_blocked(proxy)


def test_poll_and_flush_intervals_can_be_set_on_the_command_line(launch, upstream):
    proxy = launch.start(extra_set=["sg_rules_poll=0.2", "sg_log_flush=0.1"])
    assert post_upstream(proxy, "fast") == 200
    assert proxy.alive()
