"""model.py: the plain records every engine module exchanges; frozen, closed vocabularies, no mitmproxy."""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field
from enum import StrEnum
from typing import NamedTuple


class Action(StrEnum):
    ALLOW = "allow"
    LOG = "log"
    BLOCK = "block"
    REDIRECT = "redirect"
    REDACT = "redact"


class Mode(StrEnum):
    ENFORCE = "enforce"
    MONITOR = "monitor"


class Severity(StrEnum):
    INFORMATIONAL = "informational"
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


SEVERITY_RANK = {s: i for i, s in enumerate(Severity)}

APP_CATEGORIES = (
    "chat-assistant",
    "coding-assistant",
    "llm-api",
    "image-generation",
    "video-generation",
    "audio-generation",
    "writing-assistant",
    "ai-search",
    "meeting-assistant",
    "agent-platform",
    "model-hub",
    "mcp-platform",
)
APP_SURFACES = ("web", "api", "ide", "desktop")
RISK_LEVELS = ("low", "medium", "high")


@dataclass(frozen=True, slots=True)
class AppSpec:
    """One catalog entry, as the security team wrote it (after validation)."""

    id: str
    name: str
    vendor: str
    category: str
    surface: tuple[str, ...]
    hosts: tuple[str, ...]
    paths: tuple[tuple[str, str], ...] = ()  # (host pattern, path prefix) for shared hosts
    risk: str = "medium"
    prompt: str | None = None  # request shape carrying the prompt: openai-chat, anthropic-messages …
    tenant_header: str | None = None


@dataclass(frozen=True, slots=True)
class AppMatch:
    """Which app a request goes to and how we know."""

    app: AppSpec
    matched: str  # the host pattern or "host/path-prefix" that matched
    sanctioned: bool = False


@dataclass(frozen=True, slots=True)
class Identity:
    user: str | None = None
    groups: tuple[str, ...] = ()
    source: str = "none"  # proxy-auth | ip-map | none


@dataclass(frozen=True, slots=True)
class McpSignal:
    id: str
    weight: int
    detail: str = ""


@dataclass(frozen=True, slots=True)
class McpMatch:
    """The shadow-MCP verdict for one request, with the evidence behind it."""

    is_mcp: bool
    score: int
    signals: tuple[McpSignal, ...] = ()
    generation: str | None = None  # legacy-sse | legacy-streamable | modern
    protocol_version: str | None = None
    method: str | None = None  # JSON-RPC method (first of a batch)
    methods: tuple[str, ...] = ()
    tool: str | None = None  # params.name of tools/call
    request_id: str | int | None = None
    session_id: str | None = None
    client_name: str | None = None
    client_version: str | None = None
    server: str | None = None  # host the MCP server lives on
    server_name: str | None = None  # self-reported serverInfo (InitializeResult or modern result _meta)
    server_version: str | None = None


class Segment(NamedTuple):
    """One piece of request text to scan, and where in the request it came from. A named tuple (as
    frozen as the records below): a JSON chat body makes a dozen per request, three times faster."""

    where: str  # e.g. json:$.messages[2].content, form:q, multipart:file.txt, body
    text: str
    joined: bool = False  # built by joining sibling fields (no single span in the body)


class Finding(NamedTuple):
    """One detector's hit in one segment. Never holds the matched value. A named tuple, like Segment:
    one is built per finding on the scan's hot path."""

    detector_id: str
    category: str
    severity: str
    confidence: float
    where: str
    start: int  # span in the segment's original text
    end: int
    count: int
    view: str  # raw | normalized | decoded:base64 | spelled-digits …
    preview: str  # masked
    fingerprint: str  # HMAC-SHA256 hex of the canonical value
    name: str = ""

    def to_log(self) -> dict:
        return {
            "detector": self.detector_id,
            "category": self.category,
            "severity": self.severity,
            "confidence": round(self.confidence, 3),
            "where": self.where,
            "start": self.start,
            "end": self.end,
            "count": self.count,
            "view": self.view,
            "preview": self.preview,
            "fingerprint": self.fingerprint,
        }


@dataclass(frozen=True, slots=True)
class ScanReport:
    findings: tuple[Finding, ...] = ()
    scanned_bytes: int = 0
    truncated: bool = False
    not_inspected: tuple[str, ...] = ()  # reasons: body-too-large, undecodable, binary …


@dataclass(frozen=True, slots=True)
class RequestFacts:
    """What a policy may look at, taken from the flow before any decision."""

    method: str
    scheme: str
    host: str
    port: int
    path: str
    identity: Identity = field(default_factory=Identity)
    client_ip: str | None = None
    app: AppMatch | None = None
    mcp: McpMatch | None = None
    report: ScanReport = field(default_factory=ScanReport)


@dataclass(frozen=True, slots=True)
class Decision:
    """One decision per flow, explaining itself."""

    action: Action
    policy_id: str
    policy_name: str
    reason: str
    mode: Mode = Mode.ENFORCE
    redirect_url: str | None = None
    message: str | None = None
    headers: tuple[tuple[str, str], ...] = ()
    detectors: tuple[str, ...] = ()  # detector ids that made the policy match

    @property
    def effective(self) -> Action:
        """The action actually applied: monitor mode only logs."""
        if self.mode is Mode.MONITOR and self.action in (Action.BLOCK, Action.REDIRECT, Action.REDACT):
            return Action.LOG
        return self.action
