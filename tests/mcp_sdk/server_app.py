#!/usr/bin/env python3
"""An MCP test server on the official Python SDK, for shadowgate's integration tests.

One process serves Streamable HTTP at /mcp and legacy HTTP+SSE at /sse (+ POST /messages/) on
127.0.0.1:<port>, over HTTPS when --certfile/--keyfile are given. Works under mcp 2.x (MCPServer:
dual-era, answers modern 2026-07-28 and legacy clients) and mcp 1.x (FastMCP: legacy only).

Tools: add(a, b) -> a + b; lookup_customer(id) -> a text with a fake card number and SSN (DLP bait).

Once listening it prints one JSON line on stdout, e.g.
  {"ready": true, "port": 43117, "scheme": "https", "sdk": "2.3.0", "mcp": "/mcp", "sse": "/sse"}
--port 0 picks a free port. Stop it with SIGTERM or SIGINT.

  .venv/bin/python tests/mcp_sdk/server_app.py --port 0 --certfile cert.pem --keyfile key.pem
  .venv-mcp1/bin/python tests/mcp_sdk/server_app.py --port 0 --json-response
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import socket
import sys

import uvicorn

SDK = importlib.metadata.version("mcp")
FAKE_CARD = "4111 1111 1111 1111"  # the well-known Visa test number
FAKE_SSN = "078-05-1120"  # the SSN printed on sample Woolworth wallet cards, never valid


def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


def lookup_customer(id: str) -> str:  # "id": the parameter name is part of the fixture
    """Look up a customer record by id."""
    return f"customer {id}: card {FAKE_CARD}, ssn {FAKE_SSN}"


def build_app(json_response: bool):
    """A Starlette app with /mcp (Streamable HTTP) and /sse + /messages/ (HTTP+SSE) routes."""
    from mcp.server.transport_security import TransportSecuritySettings

    # The SDK turns on DNS-rebinding protection (Host must be 127.0.0.1/localhost) for loopback
    # servers; tests reach this server through a proxy and under other names, so it is off here.
    security = TransportSecuritySettings(enable_dns_rebinding_protection=False)
    if SDK.startswith("1."):
        from mcp.server.fastmcp import FastMCP

        server = FastMCP("sg-test-server-v1", json_response=json_response, transport_security=security)
        server.tool()(add)
        server.tool()(lookup_customer)
        app, sse = server.streamable_http_app(), server.sse_app()
    else:
        from mcp.server.mcpserver import MCPServer

        server = MCPServer("sg-test-server-v2", version=SDK)
        server.tool()(add)
        server.tool()(lookup_customer)
        app = server.streamable_http_app(json_response=json_response, transport_security=security)
        sse = server.sse_app(transport_security=security)
    app.router.routes.extend(sse.routes)  # one app: the streamable app's lifespan runs the session manager
    return app


class _Server(uvicorn.Server):
    def __init__(self, config: uvicorn.Config, ready: dict) -> None:
        super().__init__(config)
        self.ready = ready

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        if self.started:
            print(json.dumps(self.ready), flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0: pick a free one)")
    parser.add_argument("--certfile", help="PEM certificate: serve HTTPS")
    parser.add_argument("--keyfile", help="PEM private key for --certfile")
    parser.add_argument("--json-response", action="store_true", help="answer POSTs with JSON, not SSE")
    parser.add_argument("--log-level", default="warning")
    args = parser.parse_args(argv)
    if bool(args.certfile) != bool(args.keyfile):
        parser.error("--certfile and --keyfile go together")
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", args.port))
    sock.listen(128)
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        build_app(args.json_response),
        ssl_certfile=args.certfile,
        ssl_keyfile=args.keyfile,
        log_level=args.log_level,
        timeout_graceful_shutdown=2,
    )
    ready = {
        "ready": True,
        "port": port,
        "scheme": "https" if args.certfile else "http",
        "sdk": SDK,
        "mcp": "/mcp",
        "sse": "/sse",
    }
    _Server(config, ready).run(sockets=[sock])
    return 0


if __name__ == "__main__":
    sys.exit(main())
