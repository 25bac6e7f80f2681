"""proxy.py: start and drive a real `shadowgate run` (mitmdump) process for the integration tests.

Only loopback: the proxy listens on 127.0.0.1 and loopback_upstream.py maps every upstream name a
test uses to the local origin and kills any other upstream connection.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path

from tests.ocsf import line_problems

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = ROOT / ".venv" / "bin"
SHADOWGATE = VENV_BIN / "shadowgate"
LOOPBACK_SCRIPT = Path(__file__).resolve().with_name("loopback_upstream.py")
START_TIMEOUT = 90.0
STOP_TIMEOUT = 10.0
EVENT_TIMEOUT = 5.0
STARTUP_GRACE = 0.3

type Event = dict
type Predicate = Callable[[Event], bool]


def free_port() -> int:
    """A loopback port free right now (the caller retries if another process takes it first)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


def copy_rules(dest: Path, source: Path | None = None) -> Path:
    """A private, editable copy of a rules tree: rules/, or $SG_TEST_RULES_SOURCE when set."""
    shutil.copytree(source or os.environ.get("SG_TEST_RULES_SOURCE") or ROOT / "rules", dest)
    return dest


def with_first_policy(text: str, policy_yaml: str) -> str:
    """A policies file's text with `policy_yaml` (list items, 2-space indented '  - id: …') inserted first."""
    marker = "\npolicies:\n"
    assert marker in text, "the policies file has no top-level 'policies:' list"
    return text.replace(marker, marker + policy_yaml.rstrip("\n") + "\n\n", 1)


def add_first_policy(rules_dir: Path, policy_yaml: str) -> None:
    """Insert policies before the shipped ones in rules_dir/policies/default.yaml."""
    path = rules_dir / "policies" / "default.yaml"
    path.write_text(with_first_policy(path.read_text(encoding="utf-8"), policy_yaml), encoding="utf-8")


@dataclass
class Proxy:
    """A running proxy. `url` is what clients use as their HTTP(S) proxy."""

    port: int
    rules_dir: Path
    log_path: Path
    certs_dir: Path
    workdir: Path
    process: subprocess.Popen
    connect_log: Path
    argv: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ca(self) -> Path:
        """The proxy's CA certificate (PEM), what clients must trust."""
        return self.certs_dir / "mitmproxy-ca-cert.pem"

    @property
    def stdout(self) -> str:
        return (self.workdir / "stdout.txt").read_text(errors="replace")

    @property
    def stderr(self) -> str:
        return (self.workdir / "stderr.txt").read_text(errors="replace")

    # --- the event log ------------------------------------------------------------------------

    def raw_log(self) -> bytes:
        try:
            return self.log_path.read_bytes()
        except FileNotFoundError:
            return b""

    def events(self) -> list[Event]:
        """Every complete line of the event log so far, parsed."""
        data = self.raw_log()
        complete = data[: data.rfind(b"\n") + 1]
        return [json.loads(line) for line in complete.splitlines() if line.strip()]

    def wait_events(self, predicate: Predicate, count: int = 1,
                    timeout: float = EVENT_TIMEOUT) -> list[Event]:
        """Wait until at least `count` events match (the writer flushes on a timer); return them all."""
        deadline = time.monotonic() + timeout
        while True:
            found = [e for e in self.events() if predicate(e)]
            if len(found) >= count or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        assert len(found) >= count, (
            f"expected {count} matching event(s) in {self.log_path} within {timeout}s, found {len(found)};\n"
            f"last events: {json.dumps(self.events()[-5:], indent=1)[:4000]}\n"
            f"proxy output:\n{self.stdout[-2000:]}\n{self.stderr[-2000:]}"
        )
        return found

    def wait_event(self, predicate: Predicate, timeout: float = EVENT_TIMEOUT) -> Event:
        found = self.wait_events(predicate, 1, timeout)
        assert len(found) == 1, f"expected exactly one matching event, found {len(found)}: {found}"
        return found[0]

    def flow_event(self, event_id: str, timeout: float = EVENT_TIMEOUT) -> Event:
        """The HTTP Activity (4002) line whose event id is `event_id`."""
        return self.wait_event(lambda e: e.get("class_uid") == 4002 and e["metadata"].get("uid") == event_id,
                               timeout)

    def http_events(self, host: str) -> list[Event]:
        return [e for e in self.events() if e.get("class_uid") == 4002
                and e.get("http_request", {}).get("url", {}).get("hostname") == host]

    def log_problems(self) -> list[str]:
        """OCSF + framing problems of every line written so far, as `line N: problem`."""
        out = []
        for number, line in enumerate(self.raw_log().splitlines(keepends=True), 1):
            try:
                out += [f"line {number}: {p}" for p in line_problems(line)]
            except Exception as e:  # unparsable JSON is a problem too
                out.append(f"line {number}: {type(e).__name__}: {e}")
        return out

    def connects(self) -> list[str]:
        """Upstream connection attempts seen by loopback_upstream.py: 'host:port -> ip:port ok|killed'."""
        try:
            return self.connect_log.read_text().splitlines()
        except FileNotFoundError:
            return []

    # --- lifecycle ----------------------------------------------------------------------------

    def ready(self) -> bool:
        """Listening and done loading: mitmdump binds the port before its addons have configured, so the
        rules-loaded event (6002 Load, success) in the log is the signal, not an open port."""
        if not port_open(self.port):
            return False
        return any(e.get("class_uid") == 6002 and e.get("status_id") == 1 for e in self.events())

    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self) -> int | None:
        """SIGTERM, then SIGKILL after STOP_TIMEOUT; returns the exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(STOP_TIMEOUT)
        return self.process.returncode


def run_argv(*, port: int, rules_dir: Path, log_path: Path, certs_dir: Path, upstream_map: str,
             connect_log: Path, test_ca: Path, mode: str = "enforce",
             extra_set: Sequence[str] = ()) -> list[str]:
    argv = [
        str(SHADOWGATE), "run",
        "--listen-host", "127.0.0.1", "--listen-port", str(port),
        "--rules", str(rules_dir), "--log", str(log_path), "--certs", str(certs_dir),
        "--mode", mode, "--quiet",
    ]
    for option in extra_set:
        argv += ["--set", option]
    argv += [
        "--",
        "-s", str(LOOPBACK_SCRIPT),
        "--set", f"sg_test_upstream={upstream_map}",
        "--set", f"sg_test_connect_log={connect_log}",
        "--set", f"ssl_verify_upstream_trusted_ca={test_ca}",
    ]
    return argv


def child_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    env["PYTHONUNBUFFERED"] = "1"
    return env


def start_proxy(workdir: Path, *, rules_dir: Path, certs_dir: Path, upstream_map: str, test_ca: Path,
                mode: str = "enforce", extra_set: Sequence[str] = (), attempts: int = 3) -> Proxy:
    """Start `shadowgate run` and wait until it accepts connections; fail with its stderr if it does not."""
    workdir.mkdir(parents=True, exist_ok=True)
    last_error = ""
    for _ in range(attempts):
        port = free_port()
        log_path = workdir / "events.jsonl"
        connect_log = workdir / "connects.txt"
        argv = run_argv(port=port, rules_dir=rules_dir, log_path=log_path, certs_dir=certs_dir,
                        upstream_map=upstream_map, connect_log=connect_log, test_ca=test_ca, mode=mode,
                        extra_set=extra_set)
        with open(workdir / "stdout.txt", "wb") as out, open(workdir / "stderr.txt", "wb") as err:
            process = subprocess.Popen(argv, stdout=out, stderr=err, stdin=subprocess.DEVNULL, cwd=workdir,
                                       env=child_env())
        proxy = Proxy(port, rules_dir, log_path, certs_dir, workdir, process, connect_log, argv)
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline and proxy.alive() and not proxy.ready():
            time.sleep(0.05)
        if proxy.alive() and proxy.ready():
            time.sleep(STARTUP_GRACE)  # mitmdump exits just after start-up if an addon failed
            if proxy.alive():
                return proxy
        proxy.stop()
        last_error = f"stdout:\n{proxy.stdout[-4000:]}\nstderr:\n{proxy.stderr[-4000:]}"
        if "address already in use" not in last_error.lower():
            break
    raise AssertionError(f"shadowgate run did not start (argv: {' '.join(argv)}):\n{last_error}")
