"""upstream.py: a local HTTPS origin for the integration tests; records every request byte for byte.

One threaded `http.server` on a free loopback port serves every upstream name (the proxy reaches it
through loopback_upstream.py); `responder` decides each answer, default: a provider-shaped reply
for OpenAI / Anthropic calls, otherwise an echo of the request body.
"""

from __future__ import annotations

import json
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import field
from http.server import BaseHTTPRequestHandler
from http.server import ThreadingHTTPServer

from tests.integration.pki import Pki

MAX_BODY = 64 << 20


@dataclass(frozen=True)
class Received:
    method: str
    path: str
    headers: tuple[tuple[str, str], ...]  # as sent, in order
    body: bytes  # exact bytes after de-chunking

    @property
    def host(self) -> str:
        host = self.header("host") or ""
        return host.rsplit(":", 1)[0] if host.count(":") == 1 else host

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers if k.lower() == name.lower()), None)

    def json(self) -> object:
        return json.loads(self.body)


@dataclass(frozen=True)
class Reply:
    status: int = 200
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""


type Responder = Callable[[Received], Reply]


def json_reply(obj: object, status: int = 200) -> Reply:
    return Reply(status, (("content-type", "application/json"),), json.dumps(obj).encode())


def openai_chat_completion(text: str = "Hello from the local upstream.") -> dict:
    return {
        "id": "chatcmpl-sgtest0001",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": "gpt-4o-mini",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text, "refusal": None},
                     "logprobs": None, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 5, "completion_tokens": 7, "total_tokens": 12},
    }


def anthropic_message(text: str = "Hello from the local upstream.") -> dict:
    return {
        "id": "msg_sgtest0001",
        "type": "message",
        "role": "assistant",
        "model": "claude-sonnet-4-5",
        "content": [{"type": "text", "text": text}],
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": {"input_tokens": 5, "output_tokens": 7},
    }


def default_responder(req: Received) -> Reply:
    path = req.path.split("?", 1)[0]
    if req.method == "POST" and path.endswith("/chat/completions"):
        return json_reply(openai_chat_completion())
    if req.method == "POST" and path.endswith("/v1/messages"):
        return json_reply(anthropic_message())
    content_type = req.header("content-type") or "application/octet-stream"
    return Reply(200, (("content-type", content_type),), req.body)


@dataclass
class Upstream:
    """The running origin. Tests read `received` and may replace `responder`."""

    port: int
    received: list[Received] = field(default_factory=list)
    responder: Responder = default_responder
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _server: ThreadingHTTPServer | None = None

    def reset(self) -> None:
        with self._lock:
            self.received.clear()
        self.responder = default_responder

    def requests_to(self, host: str) -> list[Received]:
        with self._lock:
            return [r for r in self.received if r.host == host]

    def record(self, req: Received) -> None:
        with self._lock:
            self.received.append(req)

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    upstream: Upstream  # set on the subclass made per server

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - keep stderr quiet
        pass

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("transfer-encoding", "").lower():
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("content-length") or 0)
        if length > MAX_BODY:
            raise ValueError("request body too large for the test upstream")
        return self.rfile.read(length) if length else b""

    def _serve(self) -> None:
        body = self._read_body()
        req = Received(self.command, self.path, tuple(self.headers.items()), body)
        self.upstream.record(req)
        try:
            reply = self.upstream.responder(req)
        except Exception as e:  # a broken responder must show in the test, not hang it
            reply = Reply(500, (("content-type", "text/plain"),), f"test responder failed: {e!r}".encode())
        self.send_response(reply.status)
        for name, value in reply.headers:
            self.send_header(name, value)
        self.send_header("content-length", str(len(reply.body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(reply.body)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_HEAD = _serve


def start_upstream(pki: Pki) -> Upstream:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(pki.server_cert, pki.server_key)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.daemon_threads = True
    upstream = Upstream(port=server.server_address[1])
    server.RequestHandlerClass = type("Handler", (_Handler,), {"upstream": upstream})
    server.socket = context.wrap_socket(server.socket, server_side=True, do_handshake_on_connect=False)
    upstream._server = server
    threading.Thread(target=server.serve_forever, name="sg-test-upstream", daemon=True).start()
    return upstream
