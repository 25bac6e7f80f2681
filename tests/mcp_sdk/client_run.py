#!/usr/bin/env python3
"""Drive one MCP session with the official Python SDK and report each step as one JSON line.

Steps: connect, list (tools/list), call (tools/call), list again, close. Every step prints
  {"step": "list", "ok": true, "tools": ["add", "lookup_customer"]}
  {"step": "call", "ok": true, "tool": "add", "is_error": false, "text": "5"}
  {"step": "call", "ok": false, "error": "<message>", "error_type": "McpError"}
so a test can assert exactly what the client saw (a JSON-RPC error, an isError result, a broken
session, a timeout). Exit status 0 when every step was ok (an isError tool result counts as ok).

Works under mcp 2.x (httpx2) and mcp 1.x (httpx). Proxy and trust come from the environment, as
for any SDK client: HTTP_PROXY / HTTPS_PROXY / ALL_PROXY / NO_PROXY and SSL_CERT_FILE (a PEM
bundle that REPLACES the default CA store; put the proxy CA or the test server's cert in it).

  .venv/bin/python tests/mcp_sdk/client_run.py https://127.0.0.1:PORT/mcp --tool add --args '{"a":2,"b":3}'
  .venv-mcp1/bin/python tests/mcp_sdk/client_run.py http://127.0.0.1:PORT/sse --transport sse
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import sys
from contextlib import AsyncExitStack
from typing import Any

import anyio

SDK = importlib.metadata.version("mcp")


def emit(step: str, ok: bool, **fields: Any) -> bool:
    print(json.dumps({"step": step, "ok": ok, **fields}), flush=True)
    return ok


def leaf(exc: BaseException) -> BaseException:
    """The first real exception inside (nested) exception groups."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    return exc


def error_fields(exc: BaseException, timeout: float) -> dict[str, str]:
    exc = leaf(exc)
    if isinstance(exc, TimeoutError):
        return {"error": f"timeout after {timeout:g}s", "error_type": "TimeoutError"}
    return {"error": str(exc) or repr(exc), "error_type": type(exc).__name__}


def text_of(result: Any) -> str:
    return "\n".join(getattr(c, "text", "") for c in result.content or [] if getattr(c, "type", "") == "text")


async def open_session(stack: AsyncExitStack, url: str, transport: str, mode: str) -> tuple[Any, dict]:
    """Connect and handshake; returns (session-like object with list_tools/call_tool, facts)."""
    if SDK.startswith("1."):
        from mcp import ClientSession
        from mcp.client.sse import sse_client
        from mcp.client.streamable_http import streamablehttp_client

        if transport == "sse":
            read, write = await stack.enter_async_context(sse_client(url))
        else:
            read, write, _ = await stack.enter_async_context(streamablehttp_client(url))
        session = await stack.enter_async_context(ClientSession(read, write))
        init = await session.initialize()
        return session, {"protocol_version": init.protocolVersion, "server": init.serverInfo.name}
    from mcp import Client
    from mcp.client.sse import sse_client

    server: Any = sse_client(url) if transport == "sse" else url
    client = await stack.enter_async_context(Client(server, mode="legacy" if transport == "sse" else mode))
    session = client.session
    info = getattr(session, "server_info", None)
    return client, {
        "protocol_version": getattr(session, "protocol_version", None),
        "server": getattr(info, "name", None),
    }


async def run(args: argparse.Namespace) -> bool:
    ok, step = True, "connect"
    tool_args = json.loads(args.args)
    try:
        # One deadline around the whole session: the SDK's task groups must be entered and left
        # inside the same cancel scope. Per-step deadlines wrap only the calls.
        with anyio.fail_after(args.timeout * 4):
            async with AsyncExitStack() as stack:
                try:
                    session, facts = await open_session(stack, args.url, args.transport, args.mode)
                except Exception as e:  # every failure is reported as a step
                    return emit(
                        step, False, sdk=SDK, transport=args.transport, **error_fields(e, args.timeout)
                    )
                emit(step, True, sdk=SDK, transport=args.transport, **facts)
                for step in ("list", "call", "list"):
                    try:
                        with anyio.fail_after(args.timeout):
                            if step == "list":
                                result = await session.list_tools()
                                emit(step, True, tools=sorted(t.name for t in result.tools))
                            else:
                                result = await session.call_tool(args.tool, tool_args)
                                is_error = bool(
                                    getattr(result, "is_error", None) or getattr(result, "isError", None)
                                )
                                emit(step, True, tool=args.tool, is_error=is_error, text=text_of(result))
                    except Exception as e:
                        ok = emit(step, False, **error_fields(e, args.timeout))
                step = "close"
    except Exception as e:  # teardown (DELETE, stream close) can fail after a broken session
        where = {"sdk": SDK, "transport": args.transport} if step == "connect" else {}
        return emit(step, False, **where, **error_fields(e, args.timeout * 4))
    emit("close", True)
    return ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url", help="https://127.0.0.1:PORT/mcp (streamable) or …/sse (sse)")
    parser.add_argument("--transport", choices=["streamable", "sse"], default="streamable")
    parser.add_argument("--mode", choices=["auto", "legacy"], default="auto", help="mcp 2.x only")
    parser.add_argument("--tool", default="lookup_customer")
    parser.add_argument("--args", default='{"id": "alice@example.com"}', help="tool arguments as JSON")
    parser.add_argument("--timeout", type=float, default=15.0, help="seconds per step")
    args = parser.parse_args(argv)
    return 0 if anyio.run(run, args) else 1


if __name__ == "__main__":
    sys.exit(main())
