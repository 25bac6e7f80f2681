"""Issue "DLP engine": prompts through the real proxy with provider SDKs; findings logged, values never."""

from __future__ import annotations

import json
import re
import subprocess
from urllib.parse import parse_qsl
from urllib.parse import quote

import anthropic
import openai
import pytest
import yaml

from tests.integration import fakes
from tests.integration.clients import anthropic_client
from tests.integration.clients import curl
from tests.integration.clients import event_id_in_text
from tests.integration.clients import http_client
from tests.integration.clients import openai_client
from tests.integration.proxy import ROOT
from tests.integration.proxy import SHADOWGATE
from tests.integration.proxy import add_first_policy
from tests.integration.proxy import child_env
from tests.uploads import pdf_bytes
from tests.uploads import xlsx_bytes

pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("proxy-dlp")]


CARD_DETECTOR = "fin-card-number"  # rules/detectors/financial.yaml


@pytest.fixture(scope="module")
def card_detector() -> str:
    """The payment-card detector of the shipped rules."""
    path = ROOT / "rules" / "detectors" / "financial.yaml"
    ids = [d["id"] for d in yaml.safe_load(path.read_text(encoding="utf-8"))["detectors"]]
    assert CARD_DETECTOR in ids, f"{CARD_DETECTOR} is not in {path}"
    return CARD_DETECTOR


@pytest.fixture(scope="module")
def redact_proxy(module_launch, card_detector):
    rules = module_launch.rules()
    add_first_policy(rules, f"""\
  - id: test-redact-cards
    when: {{detectors: [{card_detector}]}}
    action: redact
""")
    return module_launch.start(rules)


def forms(number: str) -> list[str]:
    """Every way the raw value could leak into a log or a response."""
    return [number, fakes.grouped(number), fakes.grouped(number, sep="-"), fakes.spelled(number),
            fakes.zero_width(number), " ".join(number)]


def assert_never_stored(proxy, number: str, *texts: str) -> None:
    log = proxy.raw_log().decode("utf-8")
    for form in forms(number):
        assert form not in log, f"raw value ({form!r}) in the event log"
        for text in texts:
            assert form not in text, f"raw value ({form!r}) in a response"
    assert number not in re.sub(r"\D", "", log), "the value's digits appear in the log"


def cli_fingerprint(proxy, value: str) -> str:
    """What `shadowgate fingerprint` (the SIEM search helper) prints for value, in the log's form."""
    done = subprocess.run([str(SHADOWGATE), "fingerprint", value, "--certs", str(proxy.certs_dir)],
                          capture_output=True, text=True, timeout=60, env=child_env(), check=True)
    out = json.loads(done.stdout)
    return f"hs256:{out['key_id']}:{out['fingerprint']}"


def assert_finding(proxy, event_id: str, detector: str, secret: str) -> tuple[dict, dict]:
    """The 4002 line of the flow and its 2006 finding line for `detector`, linked by correlation_uid."""
    flow = proxy.flow_event(event_id)
    correlation = flow["metadata"]["correlation_uid"]
    finding = proxy.wait_event(lambda e: e.get("class_uid") == 2006
                               and e["metadata"].get("correlation_uid") == correlation
                               and e["finding_info"]["analytic"]["uid"] == detector)
    assert finding["data_security"]["detection_pattern"] == detector
    assert finding["finding_info"]["uid"] in flow["unmapped"]["shadowgate"]["dlp"]["finding_uids"]
    assert detector in flow["unmapped"]["shadowgate"]["dlp"]["detectors"]
    matches = finding["unmapped"]["shadowgate"]["dlp"]["matches"]
    assert matches, "a finding without matches"
    for match in matches:
        assert re.fullmatch(r"hs256:[0-9a-f]+:[0-9a-f]{16,}", match["fingerprint"]), match
        preview = match["preview"]
        assert preview and secret not in preview
        assert sum(c.isalnum() for c in preview) <= len(re.sub(r"\W", "", secret)) // 3, preview
    return flow, finding


# --- 7. payment cards ------------------------------------------------------------------------------


@pytest.mark.parametrize("shape", ["grouped", "spelled", "zero-width", "spaced"])
def test_openai_sdk_card_number_is_blocked(proxy, upstream, card_detector, shape):
    number = fakes.visa_number()
    written = {"grouped": fakes.grouped(number), "spelled": fakes.spelled(number),
               "zero-width": fakes.zero_width(number), "spaced": " ".join(number)}[shape]
    prompt = f"Please book the flight and charge my Visa credit card {written}, expiry 09/29."
    with pytest.raises(openai.PermissionDeniedError) as info:
        openai_client(proxy).chat.completions.create(model="gpt-4o-mini",
                                                     messages=[{"role": "user", "content": prompt}])

    error = info.value
    assert error.status_code == 403
    assert card_detector in error.message
    event_id = event_id_in_text(error.message)
    flow, finding = assert_finding(proxy, event_id, card_detector, number)
    assert (flow["status_id"], flow["action_id"]) == (2, 2)
    # however it was written, the keyed fingerprint is the number's, so the SIEM can search for it
    fingerprints = [m["fingerprint"] for m in finding["unmapped"]["shadowgate"]["dlp"]["matches"]]
    assert fingerprints == [cli_fingerprint(proxy, number)]
    assert card_detector in flow["unmapped"]["shadowgate"]["dlp"]["policy_detectors"]
    assert upstream.requests_to("api.openai.com") == []
    assert_never_stored(proxy, number, error.response.text, error.message)


def test_openai_sdk_clean_prompt_reaches_upstream(proxy, upstream):
    prompt = "Summarise the plot of Hamlet in two sentences."
    completion = openai_client(proxy).chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": prompt}])

    assert completion.choices[0].message.content == "Hello from the local upstream."
    [received] = upstream.requests_to("api.openai.com")
    assert received.path == "/v1/chat/completions"
    assert received.json()["messages"] == [{"role": "user", "content": prompt}]
    [flow] = proxy.wait_events(lambda e: e.get("class_uid") == 4002
                               and e["http_request"]["url"]["hostname"] == "api.openai.com"
                               and e["status_id"] == 1)
    assert flow["unmapped"]["shadowgate"]["dlp"]["finding_count"] == 0
    assert flow["unmapped"]["shadowgate"]["dlp"]["scanned"] is True


def test_redact_policy_forwards_the_prompt_with_the_card_replaced(redact_proxy, upstream, card_detector):
    number = fakes.visa_number()
    before, after = "Refund to card ", " please, the customer called twice."
    prompt = before + fakes.grouped(number) + after
    completion = openai_client(redact_proxy).chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": prompt}])

    assert completion.choices[0].message.content == "Hello from the local upstream."
    [received] = upstream.requests_to("api.openai.com")
    assert int(received.header("content-length")) == len(received.body)
    body = received.json()  # still valid JSON
    assert body["messages"] == [{"role": "user", "content": f"{before}[REDACTED:{card_detector}]{after}"}]
    assert body["model"] == "gpt-4o-mini"
    for form in forms(number):
        assert form.encode() not in received.body
    [flow] = redact_proxy.wait_events(lambda e: e.get("class_uid") == 4002
                                      and e["http_request"]["url"]["hostname"] == "api.openai.com")
    assert flow["policy"]["uid"] == "test-redact-cards"
    assert flow["action_id"] == 4 and flow["status_id"] == 1  # Modified, forwarded
    assert_finding(redact_proxy, flow["metadata"]["uid"], card_detector, number)
    assert_never_stored(redact_proxy, number)


# --- 8. secrets --------------------------------------------------------------------------------------


def test_anthropic_sdk_github_token_is_blocked_by_shipped_policy(proxy, upstream):
    token = fakes.github_token()
    prompt = f"Why does `git push` fail? My config has\n[github]\n  token = {token}\n"
    with pytest.raises(anthropic.PermissionDeniedError) as info:
        anthropic_client(proxy).messages.create(model="claude-sonnet-4-5", max_tokens=64,
                                                messages=[{"role": "user", "content": prompt}])

    error = info.value
    assert error.status_code == 403
    named = re.findall(r"secret-[a-z0-9-]*github[a-z0-9-]*", error.message)
    assert named, f"the error does not name a GitHub secret detector: {error.message}"
    event_id = event_id_in_text(error.message)
    flow, finding = assert_finding(proxy, event_id, named[0], token)
    assert (flow["status_id"], flow["action_id"]) == (2, 2)
    assert finding["data_security"]["category_id"] == 6  # Security
    assert upstream.requests_to("api.anthropic.com") == []
    log = proxy.raw_log().decode("utf-8")
    assert token not in log and token[4:] not in log
    assert token not in error.response.text
    assert json.loads(error.response.text)["error"]["type"] == "permission_error"


# --- a conversation: each turn resends the history (segments scanned before are reused) -----------


def test_conversation_history_keeps_its_findings_turn_after_turn(proxy, upstream, card_detector):
    tag = fakes.visa_number()[-6:]
    email = f"jane.doe{tag}@acme-payroll.co.uk"
    filler = "Here is the context for the quarterly review of the platform team and its budget. " * 8
    client = openai_client(proxy)

    def openai_flows() -> list[dict]:
        return [e for e in proxy.events() if e.get("class_uid") == 4002
                and e["http_request"]["url"]["hostname"] == "api.openai.com"]  # fmt: skip

    before = len(openai_flows())
    messages = [{"role": "user", "content": f"{filler} Send the summary to {email} when done."}]
    reply = client.chat.completions.create(model="gpt-4o-mini", messages=messages)
    messages += [{"role": "assistant", "content": reply.choices[0].message.content},
                 {"role": "user", "content": filler + " Make it shorter, please."}]  # fmt: skip
    client.chat.completions.create(model="gpt-4o-mini", messages=messages)
    number = fakes.visa_number()
    messages += [{"role": "assistant", "content": "Done."},
                 {"role": "user", "content": filler + f" Also charge card {fakes.grouped(number)}."}]  # fmt: skip
    with pytest.raises(openai.PermissionDeniedError) as info:
        client.chat.completions.create(model="gpt-4o-mini", messages=messages)

    flows = proxy.wait_events(lambda e: e.get("class_uid") == 4002
                              and e["http_request"]["url"]["hostname"] == "api.openai.com", count=before + 3)
    assert len(flows) == before + 3
    dlp = [f["unmapped"]["shadowgate"]["dlp"] for f in flows[-3:]]
    assert ["contact-email" in d["detectors"] for d in dlp] == [True, True, True]  # turns 2 and 3 from the cache
    assert [card_detector in d["detectors"] for d in dlp] == [False, False, True]
    assert [f["status_id"] for f in flows[-3:]] == [1, 1, 2]
    prints = []
    for flow in flows[-3:]:
        correlation = flow["metadata"]["correlation_uid"]
        finding = proxy.wait_event(lambda e, c=correlation: e.get("class_uid") == 2006
                                   and e["metadata"].get("correlation_uid") == c
                                   and e["finding_info"]["analytic"]["uid"] == "contact-email")
        prints.append([m["fingerprint"] for m in finding["unmapped"]["shadowgate"]["dlp"]["matches"]])
    assert prints[0] == prints[1] == prints[2] and len(prints[0]) == 1
    assert proxy.flow_event(event_id_in_text(info.value.message)) == flows[-1]
    assert_never_stored(proxy, number, info.value.message)
    assert email not in proxy.raw_log().decode("utf-8")


# --- the report over this module's log -----------------------------------------------------------


def test_report_over_the_real_log_matches_its_lines(proxy, upstream):
    number = fakes.visa_number()
    with pytest.raises(openai.PermissionDeniedError) as info:  # at least one blocked flow with a card
        openai_client(proxy).chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": f"card {fakes.grouped(number)}"}])
    assert_finding(proxy, event_id_in_text(info.value.message), CARD_DETECTOR, number)  # its lines are written
    done = subprocess.run([str(SHADOWGATE), "report", "--format", "json", str(proxy.log_path)],
                          capture_output=True, text=True, timeout=60, env=child_env(), check=True)
    report = json.loads(done.stdout)
    flows = [e for e in proxy.events() if e["class_uid"] == 4002]
    assert report["skipped"] == 0 and report["lines"] == len(proxy.events())
    assert report["flows"]["total"] == len(flows) > 0
    assert report["flows"]["blocked"] == sum(e["status_id"] == 2 for e in flows) > 0
    cards = sum(CARD_DETECTOR in e["unmapped"]["shadowgate"]["dlp"]["detectors"] for e in flows)
    [row] = [d for d in report["detectors"] if d["id"] == CARD_DETECTOR]
    assert row["flows"] == cards > 0


# --- URL query strings --------------------------------------------------------------------------------


def test_card_number_in_a_url_query_is_blocked(proxy, upstream, card_detector):
    number = fakes.visa_number()
    url = "https://api.openai.com/v1/models?q=" + quote(f"charge card {fakes.grouped(number)} today", safe="")
    result = curl(proxy, url, "-H", "Accept: application/json")

    assert result.status == 403
    error = json.loads(result.body)["error"]
    assert card_detector in error["message"]
    flow, finding = assert_finding(proxy, event_id_in_text(error["message"]), card_detector, number)
    assert finding["unmapped"]["shadowgate"]["dlp"]["location"] == "query:q"
    assert flow["http_request"]["url"]["url_string"] == "https://api.openai.com/v1/models?q=<redacted>"
    assert upstream.requests_to("api.openai.com") == []
    assert_never_stored(proxy, number, result.body.decode())


def test_credential_parameter_and_clean_query_pass(proxy, upstream):
    key = fakes.github_token()  # blocked anywhere else (see the test above): here it is the caller's credential
    result = curl(proxy, f"https://api.openai.com/v1/models?key={key}&q=weather+in+Paris", "-H",
                  "Accept: application/json")

    assert result.status == 200
    [received] = upstream.requests_to("api.openai.com")
    assert received.path == f"/v1/models?key={key}&q=weather+in+Paris"


def test_redact_policy_rewrites_the_query(redact_proxy, upstream, card_detector):
    number = fakes.visa_number()
    url = "https://api.openai.com/v1/models?model=gpt-4o&q=" + quote(f"card {fakes.grouped(number)}", safe="")
    result = curl(redact_proxy, url, "-H", "Accept: application/json")

    assert result.status == 200
    [received] = upstream.requests_to("api.openai.com")
    path, _, query = received.path.partition("?")
    assert path == "/v1/models"
    assert parse_qsl(query) == [("model", "gpt-4o"), ("q", f"card [REDACTED:{card_detector}]")]
    [flow] = redact_proxy.wait_events(lambda e: e.get("class_uid") == 4002
                                      and e["http_request"]["url"]["path"] == "/v1/models")
    assert (flow["action_id"], flow["status_id"]) == (4, 1)
    assert_never_stored(redact_proxy, number)


# --- office documents uploaded to an AI app -------------------------------------------------------------


def test_openai_sdk_spreadsheet_upload_with_a_card_number_is_blocked(proxy, upstream, card_detector):
    number = fakes.visa_number()
    data = xlsx_bytes(["Customer", "Card number"], ["Ada Lovelace", fakes.grouped(number)])
    with pytest.raises(openai.PermissionDeniedError) as info:
        openai_client(proxy).files.create(file=("customers.xlsx", data), purpose="assistants")

    error = info.value
    assert card_detector in error.message
    flow, finding = assert_finding(proxy, event_id_in_text(error.message), card_detector, number)
    assert finding["unmapped"]["shadowgate"]["dlp"]["location"] == "file:customers.xlsx#xl/worksheets/sheet1.xml"
    assert flow["http_request"]["url"]["path"] == "/v1/files"
    assert upstream.requests_to("api.openai.com") == []
    assert_never_stored(proxy, number, error.response.text)


def test_openai_sdk_clean_spreadsheet_upload_reaches_upstream(proxy, upstream):
    data = xlsx_bytes(["Region", "Revenue"], ["EMEA", "1200"])
    openai_client(proxy).files.create(file=("regions.xlsx", data), purpose="assistants")

    [received] = upstream.requests_to("api.openai.com")
    assert received.path == "/v1/files" and data in received.body
    [flow] = proxy.wait_events(lambda e: e.get("class_uid") == 4002 and e["http_request"]["url"]["path"] == "/v1/files"
                               and e["status_id"] == 1)  # fmt: skip
    shadowgate = flow["unmapped"]["shadowgate"]
    assert shadowgate["inspected"] is True  # read as a document, not skipped as binary
    assert shadowgate["dlp"]["not_inspected"] == [] and shadowgate["dlp"]["scanned_bytes"] > 0


def test_openai_sdk_pdf_upload_with_a_card_number_is_blocked(proxy, upstream, card_detector):
    number = fakes.visa_number()
    data = pdf_bytes("Refund request", f"Please refund the customer's card {fakes.grouped(number)} today.")
    with pytest.raises(openai.PermissionDeniedError) as info:
        openai_client(proxy).files.create(file=("refund.pdf", data, "application/pdf"), purpose="user_data")

    error = info.value
    assert card_detector in error.message
    flow, finding = assert_finding(proxy, event_id_in_text(error.message), card_detector, number)
    assert finding["unmapped"]["shadowgate"]["dlp"]["location"] == "file:refund.pdf#page2"
    assert upstream.requests_to("api.openai.com") == []
    assert_never_stored(proxy, number, error.response.text)


def test_anthropic_sdk_pdf_document_block_with_a_card_number_is_blocked(proxy, upstream, card_detector):
    import base64

    number = fakes.visa_number()
    data = pdf_bytes("Refund request", f"Please refund the customer's card {fakes.grouped(number)} today.")
    document = {"type": "document", "source": {"type": "base64", "media_type": "application/pdf",
                                               "data": base64.b64encode(data).decode()}}  # fmt: skip
    with pytest.raises(anthropic.PermissionDeniedError) as info:
        anthropic_client(proxy).messages.create(model="claude-sonnet-4-5", max_tokens=64, messages=[
            {"role": "user", "content": [document, {"type": "text", "text": "Summarise this."}]}])  # fmt: skip

    error = info.value
    assert card_detector in error.message
    flow, finding = assert_finding(proxy, event_id_in_text(error.message), card_detector, number)
    assert finding["unmapped"]["shadowgate"]["dlp"]["location"] == "json:$.messages[0].content[0].source.data#page2"
    assert upstream.requests_to("api.anthropic.com") == []
    assert_never_stored(proxy, number, error.response.text)


def test_openai_sdk_clean_pdf_is_read_and_forwarded_and_a_broken_one_is_noted(proxy, upstream):
    earlier = {e["metadata"]["uid"] for e in proxy.events()}
    client = openai_client(proxy)
    plan = pdf_bytes("Launch plan for the spring")
    client.files.create(file=("plan.pdf", plan, "application/pdf"), purpose="user_data")
    client.files.create(file=("broken.pdf", b"%PDF-1.7\n" + b"\x00junk" * 200, "application/pdf"),
                        purpose="user_data")  # fmt: skip

    assert [r.path for r in upstream.requests_to("api.openai.com")] == ["/v1/files", "/v1/files"]
    flows = proxy.wait_events(lambda e: e.get("class_uid") == 4002 and e["metadata"]["uid"] not in earlier,
                              count=2)  # fmt: skip
    assert len(flows) == 2
    by_name = {}
    for flow in flows:
        dlp = flow["unmapped"]["shadowgate"]["dlp"]
        by_name["broken" if any("broken.pdf" in n for n in dlp["not_inspected"]) else "plan"] = (flow, dlp)
    plan_flow, plan = by_name["plan"]
    assert plan_flow["unmapped"]["shadowgate"]["inspected"] is True and plan["not_inspected"] == []
    broken_flow, broken = by_name["broken"]
    assert broken_flow["unmapped"]["shadowgate"]["inspected"] is False
    assert broken["not_inspected"][0] == "binary:broken.pdf"
    assert broken["not_inspected"][1].startswith("pdf-unreadable:")


def test_redact_policy_rewrites_a_text_file_upload_in_place(redact_proxy, upstream, card_detector):
    number = fakes.visa_number()
    text = f"Customer called about card {fakes.grouped(number)} twice.\n".encode()
    openai_client(redact_proxy).files.create(file=("call-notes.txt", text, "text/plain"), purpose="user_data")

    [received] = upstream.requests_to("api.openai.com")
    assert int(received.header("content-length")) == len(received.body)
    assert b"Customer called about card [REDACTED:" + card_detector.encode() + b"] twice.\n" in received.body
    assert b'name="purpose"\r\n\r\nuser_data\r\n' in received.body  # the other parts as sent
    for form in forms(number):
        assert form.encode() not in received.body
    [flow] = redact_proxy.wait_events(lambda e: e.get("class_uid") == 4002
                                      and e["http_request"]["url"]["path"] == "/v1/files")
    assert (flow["action_id"], flow["status_id"]) == (4, 1)
    assert_never_stored(redact_proxy, number)


def test_redact_policy_blocks_a_document_it_cannot_rewrite(redact_proxy, upstream, card_detector):
    number = fakes.visa_number()
    data = xlsx_bytes(["Customer", "Card number"], ["Ada Lovelace", fakes.grouped(number)])
    with pytest.raises(openai.PermissionDeniedError) as info:
        openai_client(redact_proxy).files.create(file=("customers.xlsx", data), purpose="assistants")

    assert card_detector in info.value.message
    assert upstream.requests_to("api.openai.com") == []
    assert_never_stored(redact_proxy, number, info.value.response.text)


def test_openai_sdk_zip_of_source_code_with_a_token_is_blocked(proxy, upstream):
    import io
    import zipfile

    token = fakes.github_token()
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("repo/README.md", "# Payments service\n")
        z.writestr("repo/deploy/config.py", f'GITHUB_TOKEN = "{token}"\n')
        z.writestr("repo/logo.png", b"\x89PNG\r\n\x1a\n" + bytes(64))
    with pytest.raises(openai.PermissionDeniedError) as info:
        openai_client(proxy).files.create(file=("repo.zip", archive.getvalue()), purpose="assistants")

    error = info.value
    detector = "secret-github-pat-classic"
    assert detector in error.message
    flow, finding = assert_finding(proxy, event_id_in_text(error.message), detector, token)
    assert finding["unmapped"]["shadowgate"]["dlp"]["location"] == "file:repo.zip#repo/deploy/config.py"
    assert flow["unmapped"]["shadowgate"]["dlp"]["not_inspected"] == ["archive-members-not-text:1"]
    assert upstream.requests_to("api.openai.com") == []
    assert token not in proxy.raw_log().decode() and token not in error.response.text


# --- protobuf (gRPC / Connect) clients such as AI coding editors ---------------------------------------

CURSOR_CHAT = "https://api2.cursor.sh/aiserver.v1.ChatService/StreamUnifiedChatWithTools"


def _connect_request(code: str) -> bytes:
    import struct

    from google.protobuf import struct_pb2

    message = struct_pb2.Struct()
    message.update({"conversation": [{"role": "user", "text": "why does deploy fail?"}],
                    "context": {"file": "deploy/config.py", "content": code}})  # fmt: skip
    payload = message.SerializeToString()
    return struct.pack(">BI", 0, len(payload)) + payload  # one Connect streaming frame


def test_a_token_inside_a_protobuf_request_is_blocked(proxy, upstream):
    token = fakes.github_token()
    body = _connect_request(f'GITHUB_TOKEN = "{token}"\nrun()\n')
    with http_client(proxy) as client:
        response = client.post(CURSOR_CHAT, content=body, headers={"content-type": "application/connect+proto"})

    # Connect streaming: HTTP 200 and the error in the end-of-stream frame, as a Connect client reads it
    assert (response.status_code, response.headers["content-type"]) == (200, "application/connect+proto")
    assert response.content[:1] == b"\x02" and int.from_bytes(response.content[1:5], "big") == len(response.content) - 5
    error = json.loads(response.content[5:])["error"]
    detector = "secret-github-pat-classic"
    assert error["code"] == "permission_denied" and detector in error["message"]
    flow, finding = assert_finding(proxy, event_id_in_text(error["message"]), detector, token)
    assert finding["unmapped"]["shadowgate"]["dlp"]["location"] == "protobuf[0]"
    assert upstream.requests_to("api2.cursor.sh") == []
    assert token not in proxy.raw_log().decode() and token not in response.text


def test_a_clean_protobuf_request_is_inspected_and_forwarded_as_sent(proxy, upstream):
    body = _connect_request("def add(a, b):\n    return a + b\n")
    with http_client(proxy) as client:
        response = client.post(CURSOR_CHAT, content=body, headers={"content-type": "application/connect+proto"})

    assert response.status_code == 200
    [received] = upstream.requests_to("api2.cursor.sh")
    assert received.body == body
    [flow] = proxy.wait_events(lambda e: e.get("class_uid") == 4002 and e["http_request"]["url"]["hostname"]
                               == "api2.cursor.sh" and e["status_id"] == 1)  # fmt: skip
    assert flow["unmapped"]["shadowgate"]["inspected"] is True
    assert flow["unmapped"]["shadowgate"]["dlp"]["scanned_bytes"] > 0


def test_grpc_client_gets_permission_denied_with_the_detector(proxy, upstream):
    import grpc

    token = fakes.github_token()
    payload = _connect_request(f'GITHUB_TOKEN = "{token}"\n')[5:]  # the bare message: grpcio frames it itself
    credentials = grpc.ssl_channel_credentials(root_certificates=proxy.ca.read_bytes())
    options = [("grpc.http_proxy", proxy.url), ("grpc.enable_http_proxy", 1)]
    with grpc.secure_channel("api2.cursor.sh:443", credentials, options=options) as channel:
        call = channel.unary_unary("/aiserver.v1.ChatService/StreamUnifiedChatWithTools")
        with pytest.raises(grpc.RpcError) as info:
            call(payload, timeout=20)

    error = info.value
    detector = "secret-github-pat-classic"
    assert error.code() == grpc.StatusCode.PERMISSION_DENIED, (error.code(), error.details())
    assert detector in error.details()
    assert_finding(proxy, event_id_in_text(error.details()), detector, token)
    assert upstream.requests_to("api2.cursor.sh") == []
    assert token not in proxy.raw_log().decode() and token not in error.details()
