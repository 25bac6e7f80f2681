"""clients.py: real clients pointed at a test proxy (curl, httpx, the openai and anthropic SDKs)."""

from __future__ import annotations

import re
import shutil
import ssl
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import anthropic
import httpx
import openai

from tests.integration.fakes import api_key
from tests.integration.proxy import Proxy
from tests.integration.proxy import child_env

CLIENT_TIMEOUT = 30.0
EVENT_ID_ELEMENT = re.compile(r'id="sg-event-id"[^>]*>([^<]*)<')
EVENT_ID_ATTR = re.compile(r'data-event-id="([^"]*)"')
HTML_COMMENT = re.compile(r"<!--.*?-->", re.S)
EVENT_ID_TEXT = re.compile(r"shadowgate event ([0-9a-f-]{36})")


def tls_context(ca: Path) -> ssl.SSLContext:
    """Trust exactly `ca` (the proxy's CA), nothing else."""
    return ssl.create_default_context(cafile=str(ca))


def http_client(proxy: Proxy, **kwargs) -> httpx.Client:
    return httpx.Client(proxy=proxy.url, verify=tls_context(proxy.ca), trust_env=False,
                        timeout=CLIENT_TIMEOUT, **kwargs)


def openai_client(proxy: Proxy, **kwargs) -> openai.OpenAI:
    """The SDK's own HTTP client class (it is built on httpx2, not httpx) with the proxy set."""
    http = openai.DefaultHttpxClient(proxy=proxy.url, verify=tls_context(proxy.ca), trust_env=False)
    return openai.OpenAI(base_url="https://api.openai.com/v1", api_key=api_key(), http_client=http,
                         timeout=CLIENT_TIMEOUT, **kwargs)


def anthropic_client(proxy: Proxy, **kwargs) -> anthropic.Anthropic:
    http = anthropic.DefaultHttpxClient(proxy=proxy.url, verify=tls_context(proxy.ca), trust_env=False)
    return anthropic.Anthropic(base_url="https://api.anthropic.com", api_key=api_key(), http_client=http,
                               timeout=CLIENT_TIMEOUT, **kwargs)


def event_id_in_text(text: str) -> str:
    """The event id an API/CLI error message carries ('… shadowgate event <uuid>')."""
    found = EVENT_ID_TEXT.findall(text)
    assert len(found) == 1, f"expected one 'shadowgate event <id>' in {text!r}"
    return found[0]


def event_ids_in_page(page: str) -> tuple[str, str]:
    """(text of the #sg-event-id element, data-event-id attribute) of a block page."""
    markup = HTML_COMMENT.sub("", page)  # the template's own comment mentions the element
    element, attr = EVENT_ID_ELEMENT.findall(markup), EVENT_ID_ATTR.findall(markup)
    assert len(element) == 1 and len(attr) == 1, f"block page lacks one sg-event-id / data-event-id:\n{page}"
    return element[0].strip(), attr[0]


@dataclass(frozen=True)
class CurlResult:
    returncode: int
    status: int
    headers: dict[str, str]  # lower-case names, last response only
    body: bytes
    stderr: str


def curl(proxy: Proxy, url: str, *args: str, timeout: float = 20.0) -> CurlResult:
    """The real curl binary through the proxy, trusting only the proxy CA."""
    exe = shutil.which("curl")
    assert exe, "curl is not installed"
    with tempfile.TemporaryDirectory() as tmp:
        head, body = Path(tmp) / "headers", Path(tmp) / "body"
        done = subprocess.run(
            [exe, "-sS", "--noproxy", "", "-x", proxy.url, "--cacert", str(proxy.ca),
             "--max-time", str(timeout), "-D", str(head), "-o", str(body), *args, url],
            capture_output=True, text=True, timeout=timeout + 10, env=child_env(),
        )
        raw_headers = head.read_text(errors="replace") if head.exists() else ""
        content = body.read_bytes() if body.exists() else b""
    blocks = [b for b in re.split(r"\r?\n\r?\n", raw_headers) if b.strip()]
    status, headers = 0, {}
    if blocks:
        lines = blocks[-1].splitlines()
        status = int(lines[0].split()[1])
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
    return CurlResult(done.returncode, status, headers, content, done.stderr)
