"""WebSocket message extraction and the error message sent in place of a blocked one."""

import json

from addons.model import Action
from addons.model import Decision
from addons.respond import websocket_error
from addons.wsgate import message_segments


def test_json_records_text_and_signalr_frames_become_segments():
    frame = '{"type": 1, "arguments": [{"message": "hello"}, "x"]}\x1e{"type": 6}\x1e'
    segs, notes, cut = message_segments(frame, 1 << 20)
    assert [s.text for s in segs if not s.joined] == ["hello", "x", "type\narguments\nmessage", "type"]  # keys too
    assert notes == () and not cut
    segs, _, _ = message_segments("plain words, no JSON", 1 << 20)
    assert [s.text for s in segs] == ["plain words, no JSON"]
    segs, notes, _ = message_segments('{"broken": ', 1 << 20)
    assert segs and "json-invalid" in notes  # scanned as text, and said so
    _, _, cut = message_segments("word " * 1000, 1024)
    assert cut


def test_websocket_error_names_the_event_and_detectors_never_values():
    d = Decision(action=Action.BLOCK, policy_id="policy-block-secrets", policy_name="Secrets", reason="secret",
                 detectors=("fin-card-number",))
    body = websocket_error(d, event_id="ev-1", host="api.openai.com", app_name="OpenAI API", alternative=None,
                           contact="security@acme.example")
    error = json.loads(body)["error"]
    assert (error["code"], error["event_id"], error["detectors"]) == ("shadowgate_blocked", "ev-1", ["fin-card-number"])
    assert "shadowgate event ev-1" in error["message"] and "security@acme.example" in error["message"]
    assert websocket_error(d, event_id="e", host="h", app_name=None, alternative=None, contact=None,
                           records=True).endswith(b"\x1e")
