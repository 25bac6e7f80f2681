"""WebSocket messages to an AI app through the real proxy: scanned, blocked ones dropped, lines logged.

The origin is OpenAI's Realtime-style endpoint (a WebSocket on api.openai.com) served on loopback by
uvicorn; the client is the `websockets` library, using the proxy like any HTTPS proxy client."""

from __future__ import annotations

import json
import threading
import time

import pytest
import uvicorn
from websockets.sync.client import connect

from tests.integration import fakes
from tests.integration.clients import tls_context
from tests.integration.proxy import copy_rules
from tests.integration.proxy import free_port
from tests.integration.proxy import start_proxy

pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("proxy-websocket")]

URL = "wss://api.openai.com/v1/realtime?model=gpt-4o-realtime-preview"


class Origin:
    def __init__(self) -> None:
        self.received: list[str] = []

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "websocket":
            return
        assert (await receive())["type"] == "websocket.connect"
        await send({"type": "websocket.accept"})
        while True:
            event = await receive()
            if event["type"] == "websocket.disconnect":
                return
            text = event.get("text") or ""
            self.received.append(text)
            await send({"type": "websocket.send", "text": json.dumps({"type": "ack", "n": len(self.received)})})


@pytest.fixture(scope="module")
def origin(pki):
    app, port = Origin(), free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, ws="wsproto", lifespan="off",
                                           ssl_certfile=str(pki.server_cert), ssl_keyfile=str(pki.server_key),
                                           log_level="error"))  # fmt: skip
    threading.Thread(target=server.run, daemon=True).start()
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    assert server.started
    yield app, port
    server.should_exit = True


def started(origin, pki, proxy_certs, tmp_path_factory, *options: str):
    _, port = origin
    work = tmp_path_factory.mktemp("ws-proxy")
    proxy = start_proxy(work, rules_dir=copy_rules(work / "rules"), certs_dir=proxy_certs,
                        upstream_map=f"api.openai.com=127.0.0.1:{port}", test_ca=pki.ca_cert,
                        extra_set=options)  # fmt: skip
    yield proxy
    proxy.stop()
    assert proxy.log_problems() == []


@pytest.fixture(scope="module")
def ws_proxy(origin, pki, proxy_certs, tmp_path_factory):
    yield from started(origin, pki, proxy_certs, tmp_path_factory)


@pytest.fixture
def small_scan_proxy(origin, pki, proxy_certs, tmp_path_factory):
    yield from started(origin, pki, proxy_certs, tmp_path_factory, "sg_max_scan=16k")


def session(ws_proxy):
    return connect(URL, proxy=ws_proxy.url, ssl=tls_context(ws_proxy.ca), open_timeout=20)


def test_clean_messages_pass_and_a_card_number_closes_the_socket(ws_proxy, origin):
    app, _ = origin
    before = len(app.received)
    number = fakes.visa_number()
    text = f"Charge card {fakes.grouped(number)} please"
    card = {"type": "conversation.item.create",
            "item": {"type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]}}
    with session(ws_proxy) as ws:
        ws.send(json.dumps({"type": "session.update", "session": {"instructions": "Be brief."}}))
        assert json.loads(ws.recv(timeout=10))["type"] == "ack"
        ws.send(json.dumps(card))
        error = json.loads(ws.recv(timeout=10))  # in place of the dropped message
        ws.send(json.dumps({"type": "response.create"}))  # the socket stays usable
        assert json.loads(ws.recv(timeout=10))["type"] == "ack"
    assert len(app.received) == before + 2  # the card never reached the origin
    assert number not in "".join(app.received)
    line = ws_proxy.wait_event(lambda e: e.get("class_uid") == 4002
                               and "websocket" in e["unmapped"]["shadowgate"])
    sg = line["unmapped"]["shadowgate"]
    assert (line["status_id"], line["action_id"], sg["decision"]) == (2, 2, "block")
    assert "fin-card-number" in sg["dlp"]["detectors"]
    # messages are counted in both directions: 0 the update, 1 its ack, 2 the card
    assert sg["websocket"]["message"] == 2 and line["metadata"]["correlation_uid"].endswith(":ws2")
    assert error["type"] == "error" and error["error"]["code"] == "shadowgate_blocked"
    assert error["error"]["event_id"] == line["metadata"]["uid"] and "fin-card-number" in error["error"]["detectors"]
    finding = ws_proxy.wait_event(lambda e: e.get("class_uid") == 2006
                                  and e["metadata"]["correlation_uid"] == line["metadata"]["correlation_uid"])
    assert finding["finding_info"]["analytic"]["uid"] == "fin-card-number"
    assert number not in ws_proxy.raw_log().decode() and fakes.grouped(number) not in ws_proxy.raw_log().decode()


def test_signalr_records_are_scanned_one_by_one(ws_proxy, origin):
    app, _ = origin
    before = len(app.received)
    number = fakes.visa_number()
    frame = (json.dumps({"type": 6}) + "\x1e"
             + json.dumps({"type": 1, "target": "chat", "arguments": [{"message": f"card {number}"}]}) + "\x1e")
    with session(ws_proxy) as ws:
        ws.send(frame)
        reply = ws.recv(timeout=10)
    assert reply.endswith("\x1e") and json.loads(reply[:-1])["error"]["code"] == "shadowgate_blocked"
    assert len(app.received) == before


def test_binary_and_server_messages_pass(ws_proxy, origin):
    app, _ = origin
    before = len(app.received)
    with session(ws_proxy) as ws:
        ws.send(b"\x00\x01binary audio")
        assert json.loads(ws.recv(timeout=10))["type"] == "ack"
    assert len(app.received) == before + 1


def test_a_message_over_the_scan_limit_is_logged_as_truncated(small_scan_proxy, origin):
    app, _ = origin
    before = len(app.received)
    text = "The quarterly numbers look steady across every region this year. " * 600  # ~40 KB, clean
    with session(small_scan_proxy) as ws:
        ws.send(json.dumps({"type": "conversation.item.create", "text": text}))
        assert json.loads(ws.recv(timeout=10))["type"] == "ack"  # the shipped policy logs AI use: it passes
    assert len(app.received) == before + 1
    line = small_scan_proxy.wait_event(lambda e: e.get("class_uid") == 4002
                                       and "websocket" in e["unmapped"]["shadowgate"])
    dlp = line["unmapped"]["shadowgate"]["dlp"]
    assert dlp["truncated"] is True and dlp["scanned_bytes"] == 16 * 1024 and line["status_id"] == 1
