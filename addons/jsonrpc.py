"""jsonrpc.py: bounded JSON-RPC 2.0 and SSE parsing for MCP detection; pure, never raises on input.

Key order, `id: 0`, batches, a UTF-8 BOM and surrounding whitespace do not matter. Bodies over
MAX_BODY, cut-off first bytes and too-deep JSON fall back to a tolerant prefix parse (truncated=True).
"""

from __future__ import annotations

import codecs
import json
import re
from dataclasses import dataclass
from typing import Any

MAX_BODY = 1 << 20  # bytes parsed as whole JSON
PREFIX_BYTES = 64 << 10  # bytes looked at by the tolerant prefix parse
MAX_DEPTH = 8  # prefix parse: deeper containers are skipped
MAX_TOKENS = 4096  # prefix parse: tokens looked at (envelope fields come first in practice)
MAX_MESSAGES = 64  # batch entries inspected
MAX_TEXT = 128  # cap on names, versions and ids we keep
MAX_SSE_EVENT = 1 << 20
META_VERSION = "io.modelcontextprotocol/protocolVersion"
META_CLIENT = "io.modelcontextprotocol/clientInfo"
META_SERVER = "io.modelcontextprotocol/serverInfo"
REVISION_RE = re.compile(r"^20[0-9]{2}-[0-9]{2}-[0-9]{2}$")
_LSP_KEYS = ("processId", "rootUri", "rootPath", "workspaceFolders", "trace")
_LLM_KEYS = ("messages", "input", "prompt", "contents")


@dataclass(frozen=True, slots=True)
class JsonRpcInfo:
    """What one JSON-RPC body (object or batch) says, bounded; `shapes` are the structural facts
    the MCP rules can name (`jsonrpc-shape` / `negative-shape` kinds)."""

    methods: tuple[str, ...] = ()
    ids: tuple[str | int, ...] = ()
    batch: bool = False
    requests: int = 0  # messages with a method
    responses: int = 0  # messages with result or error
    tool: str | None = None  # params.name of the first tools/call
    protocol_version: str | None = None
    version_source: str | None = None  # meta | initialize | initialize-result | discover-result
    client_name: str | None = None
    client_version: str | None = None
    server_name: str | None = None
    server_version: str | None = None
    result_type: str | None = None
    tool_error: bool = False  # a result with isError: true (tool execution failed or was refused)
    error_code: int | None = None  # first JSON-RPC error code
    shapes: frozenset[str] = frozenset()
    truncated: bool = False  # came from the tolerant prefix parse


def _text(value: Any) -> str | None:
    return value[:MAX_TEXT] if isinstance(value, str) and value else None


def _revision(value: Any) -> str | None:
    return value if isinstance(value, str) and REVISION_RE.match(value) else None


_TOKEN_RE = re.compile(
    r'\s*+(?:("[^"\\]*+(?:\\.[^"\\]*+)*+")|([{}\[\]:,])|(-?[0-9]+(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?|true|false|null))'
)


def _prefix_json(text: str) -> Any:
    """Tolerant parse of a JSON prefix: containers still open at the cut are closed as they are."""
    root: Any = None
    stack: list[list[Any]] = []  # [container, pending key, expecting key]
    skip = 0  # depth of containers beyond MAX_DEPTH being skipped
    pos = 0
    for _ in range(MAX_TOKENS):
        m = _TOKEN_RE.match(text, pos)
        if not m:
            break
        pos = m.end()
        string, punct, scalar = m.groups()
        if punct in ("{", "["):
            if skip or len(stack) >= MAX_DEPTH:
                skip += 1
                continue
            value: Any = {} if punct == "{" else []
        elif punct in ("}", "]"):
            if skip:
                skip -= 1
            elif stack:
                stack.pop()
            continue
        elif punct:
            if stack and not skip and isinstance(stack[-1][0], dict):
                stack[-1][2] = punct == ","
            continue
        else:
            if skip:
                continue
            try:
                if string is not None:
                    value = string[1:-1] if "\\" not in string else json.loads(string)
                else:
                    value = int(scalar) if scalar.lstrip("-").isdigit() else json.loads(scalar)
            except ValueError:
                break
        if not stack:
            if root is not None:
                break
            root = value
        else:
            frame = stack[-1]
            if isinstance(frame[0], list):
                frame[0].append(value)
            elif frame[2] and isinstance(value, str):
                frame[1], frame[2] = value, False
            elif frame[1] is not None:
                frame[0][frame[1]] = value
                frame[1] = None
        if isinstance(value, dict | list):
            stack.append([value, None, isinstance(value, dict)])
    return root


def _load(body: bytes) -> tuple[Any, bool, str]:
    """(object or None, truncated, first bytes as text)"""
    if body.startswith(codecs.BOM_UTF8):
        body = body[3:]
    head = body[:PREFIX_BYTES].decode("utf-8", "replace")
    if len(body) <= MAX_BODY and body.rstrip()[-1:] in (b"}", b"]"):  # else it is cut: skip the full parse
        try:
            return json.loads(body), False, head
        except (ValueError, RecursionError):
            pass
    return _prefix_json(head), True, head


def _messages(obj: Any) -> tuple[list[dict], bool]:
    if isinstance(obj, dict):
        return [obj], False
    if isinstance(obj, list):
        return [m for m in obj[:MAX_MESSAGES] if isinstance(m, dict)], True
    return [], False


def analyze_body(body: bytes | None) -> tuple[JsonRpcInfo | None, frozenset[str]]:
    """(JSON-RPC facts or None, shapes of a non-JSON-RPC body such as `llm-request`, `lsp-framing`)."""
    if not body:
        return None, frozenset()
    stripped = body.lstrip()
    if stripped[:15].lower() == b"content-length:":
        _, _, rest = stripped.partition(b"\r\n\r\n")
        info, _ = analyze_body(rest) if rest else (None, frozenset())
        return info, frozenset({"lsp-framing"})
    if stripped[:1] not in (b"{", b"[", codecs.BOM_UTF8[:1]):
        return None, frozenset()
    obj, truncated, _ = _load(stripped)
    messages, batch = _messages(obj)
    # A cut-off body may not have reached `"jsonrpc"` yet (Python/TS 1.x SDKs write it last).
    rpc = [m for m in messages if m.get("jsonrpc") == "2.0" or (truncated and _looks_rpc(m))]
    if not rpc:
        if isinstance(obj, dict) and isinstance(obj.get("model"), str) and any(k in obj for k in _LLM_KEYS):
            return None, frozenset({"llm-request"})
        return None, frozenset()
    return _inspect(rpc, batch, truncated), frozenset()


def _looks_rpc(msg: dict) -> bool:
    return "jsonrpc" not in msg and isinstance(msg.get("method"), str) and ("params" in msg or "id" in msg)


def parse_jsonrpc(body: bytes) -> JsonRpcInfo | None:
    """JSON-RPC 2.0 facts of a request or response body; None when it is not JSON-RPC."""
    return analyze_body(body)[0]


def _inspect(messages: list[dict], batch: bool, truncated: bool) -> JsonRpcInfo:
    methods: list[str] = []
    ids: list[str | int] = []
    shapes = {"jsonrpc-envelope"}
    found: dict[str, Any] = {}
    requests = responses = 0
    for msg in messages:
        method = msg.get("method")
        mid = msg.get("id")
        if isinstance(mid, str | int) and not isinstance(mid, bool):
            ids.append(mid[:MAX_TEXT] if isinstance(mid, str) else mid)
        params = msg.get("params")
        if isinstance(method, str) and method:
            requests += 1
            methods.append(method[:MAX_TEXT])
            _request_shapes(method, params, shapes, found)
        elif "result" in msg or "error" in msg:
            responses += 1
            _result_shapes(msg.get("result"), shapes, found)
            error = msg.get("error")
            if isinstance(error, dict) and isinstance(error.get("code"), int):
                _keep(found, error_code=error["code"])
    return JsonRpcInfo(
        methods=tuple(methods),
        ids=tuple(ids),
        batch=batch,
        requests=requests,
        responses=responses,
        tool=found.get("tool"),
        protocol_version=found.get("version"),
        version_source=found.get("version_source"),
        client_name=found.get("client_name"),
        client_version=found.get("client_version"),
        server_name=found.get("server_name"),
        server_version=found.get("server_version"),
        result_type=found.get("result_type"),
        tool_error=found.get("tool_error", False),
        error_code=found.get("error_code"),
        shapes=frozenset(shapes),
        truncated=truncated,
    )


def _keep(found: dict[str, Any], **values: Any) -> None:
    for key, value in values.items():
        if value is not None:
            found.setdefault(key, value)


def _info(found: dict[str, Any], prefix: str, value: Any) -> None:
    if isinstance(value, dict):
        _keep(
            found,
            **{f"{prefix}_name": _text(value.get("name")), f"{prefix}_version": _text(value.get("version"))},
        )


def _request_shapes(method: str, params: Any, shapes: set[str], found: dict[str, Any]) -> None:
    if "/" not in method and method not in ("initialize", "ping"):
        shapes.add("foreign-method-name")
    if isinstance(params, list):
        shapes.add("array-params")
        return
    if not isinstance(params, dict):
        return
    meta = params.get("_meta")
    if isinstance(meta, dict) and (version := _revision(meta.get(META_VERSION))):
        shapes.add("modern-meta")
        _keep(found, version=version, version_source="meta")
        _info(found, "client", meta.get(META_CLIENT))
    if method == "initialize":
        caps = params.get("capabilities")
        lsp = any(k in params for k in _LSP_KEYS) or (
            isinstance(caps, dict) and any(k in caps for k in ("textDocument", "workspace", "window"))
        )
        version = _revision(params.get("protocolVersion"))
        if lsp:
            shapes.add("lsp-initialize")
        elif version and (isinstance(caps, dict) or isinstance(params.get("clientInfo"), dict)):
            shapes.add("initialize-params")
            _keep(found, version=version, version_source="initialize")
            _info(found, "client", params.get("clientInfo"))
    name = params.get("name")
    if method in ("tools/call", "prompts/get") and isinstance(name, str):
        shapes.add("call-params")
        if method == "tools/call":
            _keep(found, tool=_text(name))
    elif method == "resources/read" and isinstance(params.get("uri"), str):
        shapes.add("call-params")
    message = params.get("message")
    if isinstance(message, dict) and isinstance(message.get("parts"), list):
        shapes.add("a2a-message")


def _result_shapes(result: Any, shapes: set[str], found: dict[str, Any]) -> None:
    if not isinstance(result, dict):
        return
    if isinstance(result.get("serverInfo"), dict) and (version := _revision(result.get("protocolVersion"))):
        shapes.add("server-info")
        _keep(found, version=version, version_source="initialize-result")
        _info(found, "server", result.get("serverInfo"))
    meta = result.get("_meta")
    if isinstance(meta, dict) and isinstance(meta.get(META_SERVER), dict):
        shapes.add("server-info")
        _info(found, "server", meta.get(META_SERVER))
    versions = result.get("supportedVersions")
    if isinstance(versions, list) and versions and all(_revision(v) for v in versions):
        _keep(found, version=max(versions), version_source="discover-result")
    if result.get("isError") is True:
        _keep(found, tool_error=True)
    if isinstance(result.get("resultType"), str):
        shapes.add("result-type")
        _keep(found, result_type=_text(result["resultType"]))


# ---------------------------------------------------------------------------------------------
# Server-sent events

_LINE_RE = re.compile(r"\r\n|\r|\n")


class SseBuffer:
    """Incremental SSE parser (WHATWG rules; CRLF, LF or CR line ends) for a streamed response:
    `feed(chunk)` returns the events completed so far as (event, data). An event larger than
    `max_event` is dropped and counted in `dropped`."""

    def __init__(self, max_event: int = MAX_SSE_EVENT) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8")("replace")
        self._pending = ""
        self._event = ""
        self._data: list[str] = []
        self._size = 0
        self._first = True
        self.max_event = max_event
        self.dropped = 0

    def feed(self, chunk: bytes) -> list[tuple[str, str]]:
        text = self._pending + self._decoder.decode(chunk)
        if self._first and text:
            text = text.removeprefix("\ufeff")
            self._first = False
        lines = _LINE_RE.split(text)
        self._pending = lines.pop()  # no line end yet
        if text.endswith("\r"):
            self._pending = lines.pop() + "\r"  # a CR at the cut may be half of a CRLF
        if len(self._pending) > self.max_event:
            self._pending = ""
            self._size = self.max_event + 1  # a line too long to keep: drop its event
        events: list[tuple[str, str]] = []
        for line in lines:
            self._line(line, events)
        return events

    def _line(self, line: str, events: list[tuple[str, str]]) -> None:
        if not line:
            if self._data and self._size <= self.max_event:
                events.append((self._event or "message", "\n".join(self._data)))
            elif self._size > self.max_event:
                self.dropped += 1
            self._event, self._data, self._size = "", [], 0
            return
        if line.startswith(":"):
            return
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        self._size += len(value)
        if self._size > self.max_event:
            return
        if name == "event":
            self._event = value
        elif name == "data":
            self._data.append(value)


def parse_sse_events(chunk: bytes) -> list[tuple[str, str]]:
    """The complete SSE events in `chunk` as (event, data); an unfinished last event is left out."""
    return SseBuffer().feed(chunk)
