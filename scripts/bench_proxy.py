"""Proxy benchmark: how long small requests wait while large uploads are being scanned.

Starts a real `shadowgate run` (mitmdump, shipped rules) in front of a loopback HTTPS origin, then
times small GETs (one kept-alive connection) to a non-AI host (passed through without a body scan),
first on an idle proxy, then while a second client keeps posting 1 MB chat-API bodies to
api.openai.com (each one scanned by the DLP engine). Both runs in the same process: every scan on
the event loop (the shipped `sg_scan_thread_min=off`), and bodies from 64 KiB scanned in a worker
thread. Loopback only; every loop is bounded. Run with `./scripts/bench proxy`.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import uvicorn

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.integration.clients import tls_context  # noqa: E402
from tests.integration.pki import make_pki  # noqa: E402
from tests.integration.proxy import SHADOWGATE  # noqa: E402
from tests.integration.proxy import child_env  # noqa: E402
from tests.integration.proxy import free_port  # noqa: E402
from tests.integration.proxy import start_proxy  # noqa: E402

SMALL_HOST = "upstream.test"  # not an AI app: classified, logged by scope, never body-scanned
LARGE_URL = "https://api.openai.com/v1/chat/completions"
MODES = {"event loop (shipped: sg_scan_thread_min=off)": "off", "worker thread (sg_scan_thread_min=64k)": "64k"}


async def origin(scope, receive, send) -> None:
    """The loopback origin: drains the body, answers a small JSON (keeps nothing: uploads are large)."""
    if scope["type"] != "http":
        return
    while (await receive()).get("more_body"):
        pass
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": b'{"ok": true}'})


def start_origin(pki) -> tuple[uvicorn.Server, int]:
    port = free_port()
    config = uvicorn.Config(origin, host="127.0.0.1", port=port, ssl_certfile=str(pki.server_cert),
                            ssl_keyfile=str(pki.server_key), log_level="error", lifespan="off")  # fmt: skip
    server = uvicorn.Server(config)
    threading.Thread(target=server.run, name="sg-bench-origin", daemon=True).start()
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    if not server.started:
        raise RuntimeError("the loopback origin did not start")
    return server, port


def chat_body(size: int) -> bytes:
    """A clean chat-API body of about `size` bytes (nothing to block: the upload is forwarded)."""
    words = "the quarterly forecast for the platform team looks steady and the migration is on track".split()
    text = " ".join(words[i % len(words)] for i in range(size // 6))
    messages = [{"role": "user", "content": text[i:i + 8192]} for i in range(0, len(text), 8192)]
    return json.dumps({"model": "gpt-4o", "messages": messages}).encode()


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def small_requests(client: httpx.Client, count: int) -> list[float]:
    out = []
    for i in range(count):
        start = time.perf_counter()
        reply = client.get(f"https://{SMALL_HOST}/ping?i={i}")
        out.append(time.perf_counter() - start)
        assert reply.status_code == 200, reply.status_code
    return out


def measure(proxy, count: int, body: bytes) -> dict:
    verify = tls_context(proxy.ca)
    with httpx.Client(proxy=proxy.url, verify=verify, trust_env=False, timeout=60) as client:
        small_requests(client, 20)  # warm-up: connections, certificates
        idle = small_requests(client, count)
        stop = threading.Event()
        uploads: list[float] = []

        def upload_loop() -> None:
            with httpx.Client(proxy=proxy.url, verify=verify, trust_env=False, timeout=60) as big:
                while not stop.is_set() and len(uploads) < 10_000:
                    start = time.perf_counter()
                    reply = big.post(LARGE_URL, content=body, headers={"content-type": "application/json"})
                    assert reply.status_code == 200, reply.status_code
                    uploads.append(time.perf_counter() - start)

        worker = threading.Thread(target=upload_loop, daemon=True)
        worker.start()
        while not uploads:  # the first upload is through: scanning is under way from now on
            time.sleep(0.01)
        started = time.perf_counter()
        loaded = small_requests(client, count)
        elapsed = time.perf_counter() - started
        stop.set()
        worker.join(timeout=60)
    ms = 1000.0
    return {
        "idle_p50_ms": statistics.median(idle) * ms, "idle_p99_ms": percentile(idle, 0.99) * ms,
        "loaded_p50_ms": statistics.median(loaded) * ms, "loaded_p99_ms": percentile(loaded, 0.99) * ms,
        "loaded_max_ms": max(loaded) * ms, "upload_mean_ms": statistics.mean(uploads) * ms,
        "uploads_per_s": len(uploads) / elapsed, "uploads": len(uploads),
    }  # fmt: skip


def run(count: int, size: int) -> dict:
    work = Path(tempfile.mkdtemp(prefix="sg-bench-proxy-"))
    try:
        pki = make_pki(work / "pki")
        upstream, port = start_origin(pki)
        certs = work / "certs"
        subprocess.run([str(SHADOWGATE), "ca", "--path", "--certs", str(certs)], check=True, capture_output=True,
                       timeout=60, cwd=ROOT, env=child_env())  # fmt: skip
        rules = work / "rules"
        shutil.copytree(ROOT / "rules", rules)
        mapping = ",".join(f"{h}=127.0.0.1:{port}" for h in (SMALL_HOST, "api.openai.com"))
        body = chat_body(size)
        results = {"body_bytes": len(body), "requests": count, "modes": {}}
        for label, setting in MODES.items():
            proxy = start_proxy(work / setting, rules_dir=rules, certs_dir=certs, upstream_map=mapping,
                                test_ca=pki.ca_cert, extra_set=[f"sg_scan_thread_min={setting}"])  # fmt: skip
            try:
                results["modes"][label] = measure(proxy, count, body)
            finally:
                proxy.stop()
        upstream.should_exit = True
        return results
    finally:
        shutil.rmtree(work, ignore_errors=True)


def markdown(res: dict) -> str:
    lines = [
        "| scans run on | small GET p50 idle | p99 idle | p50 during uploads | p99 during uploads | max | "
        "1 MB upload (scan included) | uploads/s |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for label, r in res["modes"].items():
        lines.append(f"| {label} | {r['idle_p50_ms']:.1f} ms | {r['idle_p99_ms']:.1f} ms | {r['loaded_p50_ms']:.1f} ms "
                     f"| {r['loaded_p99_ms']:.1f} ms | {r['loaded_max_ms']:.1f} ms | {r['upload_mean_ms']:.0f} ms "
                     f"| {r['uploads_per_s']:.1f} |")  # fmt: skip
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="scripts/bench proxy", description=__doc__)
    ap.add_argument("--requests", type=int, default=300, help="small GETs per phase (default 300)")
    ap.add_argument("--size", type=int, default=1 << 20, help="upload body size in bytes (default 1 MB)")
    ap.add_argument("--json", action="store_true", help="print raw results as JSON")
    args = ap.parse_args(argv)
    res = run(max(20, min(args.requests, 5000)), max(1024, min(args.size, 16 << 20)))
    print(json.dumps(res, indent=1) if args.json else
          f"{res['requests']} small GETs per phase · uploads of {res['body_bytes']} bytes\n" + markdown(res))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
