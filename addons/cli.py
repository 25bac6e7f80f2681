"""cli.py: the `shadowgate` command: run | validate | scan | classify | fingerprint | edm | ca | mcp-inventory |
report."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path

CA_BASENAME = "mitmproxy"  # mitmproxy looks for <confdir>/mitmproxy-ca.pem


def project_home() -> Path:
    """Where rules/, certs/ and logs/ live: $SHADOWGATE_HOME, else the checkout, else the cwd."""
    env = os.environ.get("SHADOWGATE_HOME")
    if env:
        return Path(env)
    checkout = Path(__file__).resolve().parent.parent
    if (checkout / "rules").is_dir():
        return checkout
    return Path.cwd()


def ca_cert_path(certs: Path) -> Path:
    return certs / f"{CA_BASENAME}-ca-cert.pem"


def ensure_ca(certs: Path) -> Path:
    """Create the proxy CA on first use (private key mode 0600); return the certificate path."""
    from mitmproxy.certs import CertStore

    if not (certs / f"{CA_BASENAME}-ca.pem").exists():
        certs.mkdir(parents=True, exist_ok=True)
        CertStore.create_store(certs, CA_BASENAME, 2048, organization="shadowgate", cn="shadowgate proxy CA")
    for secret in (f"{CA_BASENAME}-ca.pem", f"{CA_BASENAME}-ca.p12"):
        if (certs / secret).exists():
            os.chmod(certs / secret, 0o600)
    return ca_cert_path(certs)


def _print_problems(error: Exception) -> None:
    for line in getattr(error, "problems", [str(error)]):
        print(line, file=sys.stderr)


def _load_rules(directory: str):
    """The RuleSet, or None after printing every problem as file:line."""
    from addons.rules import RuleError
    from addons.rules import load_ruleset

    try:
        return load_ruleset(directory)
    except RuleError as e:
        _print_problems(e)
        return None


# --- run -------------------------------------------------------------------------------------


def cmd_run(args: argparse.Namespace) -> int:
    ruleset = _load_rules(args.rules)
    if ruleset is None:
        print(f"shadowgate: cannot start: the rules in {args.rules} have the problems above", file=sys.stderr)
        return 2
    certs = Path(args.certs)
    cert = ensure_ca(certs)
    log_file = Path(args.log)
    log_file.parent.mkdir(parents=True, exist_ok=True)
    mitmdump = shutil.which("mitmdump", path=str(Path(sys.executable).parent)) or shutil.which("mitmdump")
    if mitmdump is None:
        print("shadowgate: mitmdump not found; install mitmproxy>=12", file=sys.stderr)
        return 2
    entry = Path(__file__).resolve().parent / "entry.py"
    argv = [
        mitmdump, "-q" if args.quiet else "--flow-detail=0",
        "-s", str(entry),
        "--listen-host", args.listen_host,
        "--listen-port", str(args.listen_port),
        "--set", f"confdir={certs}",
        "--set", f"sg_rules={args.rules}",
        "--set", f"sg_log_file={log_file}",
        "--set", f"sg_mode={args.mode}",
        "--set", "connection_strategy=lazy",
    ]
    for option in args.set or []:
        argv += ["--set", option]
    argv += args.mitmdump_args
    counts = ", ".join(f"{v} {k}" for k, v in ruleset.counts.items())
    print(
        f"""shadowgate: starting on http://{args.listen_host}:{args.listen_port}  (mode: {args.mode}; rules: {counts})
  rules   {args.rules}   (edits reload live; `shadowgate validate` checks them)
  events  {log_file}   (OCSF JSONL, one line per decision)
  CA      {cert}

Point a device at it:
  1. proxy:  HTTP and HTTPS proxy {args.listen_host}:{args.listen_port}
             (macOS/Windows/Linux network settings, a PAC file, or HTTPS_PROXY=http://{args.listen_host}:{args.listen_port})
  2. trust:  install {cert} as a trusted root CA (see certs/README.md; `shadowgate ca --export DIR` for PEM/DER)
  3. check:  curl -x http://{args.listen_host}:{args.listen_port} --cacert {cert} https://chatgpt.com/  -> block page
""",
        flush=True,
    )
    os.execv(mitmdump, argv)
    return 0  # pragma: no cover


# --- validate ---------------------------------------------------------------------------------


def cmd_validate(args: argparse.Namespace) -> int:
    ruleset = _load_rules(args.directory)
    if ruleset is None:
        print(f"rules in {args.directory} have problems (listed above)", file=sys.stderr)
        return 1
    counts = ", ".join(f"{v} {k}" for k, v in ruleset.counts.items())
    print(f"{args.directory}: OK ({counts})")
    return 0


# --- scan / fingerprint -------------------------------------------------------------------------


def _fingerprinter(key: str | None, certs: Path):
    from addons.fingerprint import DEFAULT_KEY_FILE
    from addons.fingerprint import load_or_create_key

    return load_or_create_key(Path(key) if key else certs / DEFAULT_KEY_FILE)


def cmd_scan(args: argparse.Namespace) -> int:
    import asyncio

    from addons.documents import is_document
    from addons.model import Segment
    from addons.pdftext import is_pdf
    from addons.scanjob import ScanJob

    ruleset = _load_rules(args.rules)
    if ruleset is None:
        return 2
    fp = _fingerprinter(args.key, Path(args.certs))

    def findings_for(text: str) -> list[dict]:
        report = ruleset.scanner.scan([Segment(where="text", text=text)], fingerprinter=fp)
        return [f.to_log() for f in report.findings]

    if args.jsonl:
        source = sys.stdin if args.jsonl == "-" else open(args.jsonl, encoding="utf-8")
        with source:
            for number, line in enumerate(source, 1):
                try:
                    text = json.loads(line)["text"]
                except (ValueError, KeyError, TypeError):
                    print(json.dumps({"line": number, "error": "expected a JSON object with a 'text' string"}))
                    continue
                out = [
                    {k: f[k] for k in ("detector", "category", "start", "end", "view")} for f in findings_for(text)
                ]
                print(json.dumps({"line": number, "findings": out}), flush=False)
        return 0
    data = sys.stdin.buffer.read() if args.file in (None, "-") else Path(args.file).read_bytes()
    if is_document(data) or is_pdf(data):  # the proxy's own job: office text parts, PDF pages
        job = ScanJob(data, None, None, ruleset, fp, max_scan=64 << 20, max_decompressed=256 << 20, reuse=False)
        report = asyncio.run(job.with_pdfs())
        for note in report.not_inspected:
            print(f"shadowgate: not inspected: {note}", file=sys.stderr)
        findings = [f.to_log() for f in report.findings]
    else:
        findings = findings_for(data.decode("utf-8", errors="replace"))
    print(json.dumps({"findings": findings}, indent=2))
    return 1 if findings and args.exit_code else 0


def cmd_fingerprint(args: argparse.Namespace) -> int:
    fp = _fingerprinter(args.key, Path(args.certs))
    print(json.dumps({"fingerprint": fp.fingerprint(args.value), "key_id": fp.key_id}))
    return 0


def cmd_edm_build(args: argparse.Namespace) -> int:
    from addons.detectors import build_edm

    fp = _fingerprinter(args.key, Path(args.certs))
    source = sys.stdin if args.values in (None, "-") else open(args.values, encoding="utf-8")
    with source:
        values = [line.rstrip("\r\n") for line in source if line.strip()]
    sys.stdout.write(build_edm(values, fp))
    print(f"{len(values)} values hashed with key {fp.key_id}", file=sys.stderr)
    return 0


# --- classify ----------------------------------------------------------------------------------


def cmd_classify(args: argparse.Namespace) -> int:
    from urllib.parse import urlsplit

    ruleset = _load_rules(args.rules)
    if ruleset is None:
        return 2
    url = urlsplit(args.url if "://" in args.url else f"https://{args.url}")
    host = (url.hostname or "").lower()
    path = url.path or "/"
    headers: dict[str, str] = {}
    for header in args.header or []:
        name, _, value = header.partition(":")
        headers[name.strip().lower()] = value.strip()
    body = Path(args.body).read_bytes() if args.body else None
    app = ruleset.classify_app(host, path)
    full_path = f"{path}?{url.query}" if url.query else path
    mcp = ruleset.mcp.match_request(
        method=args.method.upper(), host=host, path=full_path, headers=headers, body=body
    )
    out = {
        "url": f"{url.scheme}://{host}{path}",
        "app": None
        if app is None
        else {
            "id": app.app.id,
            "name": app.app.name,
            "category": app.app.category,
            "sanctioned": app.sanctioned,
            "matched": app.matched,
        },
        "mcp": {
            "is_mcp": mcp.is_mcp,
            "score": mcp.score,
            "threshold": ruleset.mcp.threshold,
            "generation": mcp.generation,
            "protocol_version": mcp.protocol_version,
            "method": mcp.method,
            "tool": mcp.tool,
            "signals": [{"id": s.id, "weight": s.weight, "detail": s.detail} for s in mcp.signals],
        },
    }
    print(json.dumps(out, indent=2))
    return 0


# --- ca -----------------------------------------------------------------------------------------


def cmd_ca(args: argparse.Namespace) -> int:
    certs = Path(args.certs)
    cert = ensure_ca(certs)
    if args.export:
        from cryptography import x509
        from cryptography.hazmat.primitives.serialization import Encoding

        out = Path(args.export)
        out.mkdir(parents=True, exist_ok=True)
        parsed = x509.load_pem_x509_certificate(cert.read_bytes())
        (out / "shadowgate-ca.pem").write_bytes(parsed.public_bytes(Encoding.PEM))
        (out / "shadowgate-ca.der").write_bytes(parsed.public_bytes(Encoding.DER))
        print(f"{out / 'shadowgate-ca.pem'}\n{out / 'shadowgate-ca.der'}")
        return 0
    print(cert)
    return 0


# --- mcp-inventory --------------------------------------------------------------------------------


def _read_logs(names: list[str], build):
    """build([(name, lines)]) over the event logs (plain, .gz, or - for stdin); None if one is unreadable."""
    import contextlib
    import gzip

    with contextlib.ExitStack() as stack:
        sources = []
        for name in names:
            if name == "-":
                sources.append(("-", sys.stdin.buffer))
                continue
            try:
                opener = gzip.open if name.endswith(".gz") else open
                sources.append((name, stack.enter_context(opener(name, "rb"))))
            except OSError as e:
                print(f"shadowgate: cannot read {name}: {e}", file=sys.stderr)
                return None
        return build(sources)


def cmd_mcp_inventory(args: argparse.Namespace) -> int:
    from addons.inventory import build_inventory
    from addons.inventory import format_table

    inventory = _read_logs(args.logs, build_inventory)
    if inventory is None:
        return 2
    print(format_table(inventory) if args.format == "table" else json.dumps(inventory, indent=2))
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from addons.report import build_report
    from addons.report import format_report

    report = _read_logs(args.logs, lambda sources: build_report(sources, top=args.top))
    if report is None:
        return 2
    print(format_report(report) if args.format == "table" else json.dumps(report, indent=2))
    return 0


# --- parser --------------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    home = project_home()
    parser = argparse.ArgumentParser(
        prog="shadowgate", description="A forward proxy that keeps an organisation's data out of AI services."
    )
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="start the proxy (mitmdump with the shadowgate addons)")
    run.add_argument("--listen-host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    run.add_argument("--listen-port", type=int, default=8080, help="port to listen on (default 8080)")
    run.add_argument("--rules", default=str(home / "rules"), metavar="DIR", help="rules directory")
    run.add_argument("--log", default=str(home / "logs" / "events.jsonl"), metavar="FILE", help="event log (JSONL)")
    run.add_argument("--mode", choices=["enforce", "monitor"], default="enforce",
                     help="enforce acts on decisions; monitor only logs what would have happened")
    run.add_argument("--certs", default=str(home / "certs"), metavar="DIR", help="CA directory (mitmproxy confdir)")
    run.add_argument("--set", action="append", metavar="OPTION=VALUE",
                     help="any mitmproxy or shadowgate (sg_*) option, repeatable, e.g. --set sg_max_scan=4m")
    run.add_argument("--quiet", action="store_true", help="do not print one line per flow")
    run.add_argument("mitmdump_args", nargs="*", help="after --: extra arguments passed to mitmdump unchanged")
    run.set_defaults(func=cmd_run)

    validate = sub.add_parser("validate", help="check a rules directory; every problem as file:line")
    validate.add_argument("directory", nargs="?", default=str(home / "rules"))
    validate.set_defaults(func=cmd_validate)

    scan = sub.add_parser("scan", help="print the DLP findings for a text as JSON")
    scan.add_argument("file", nargs="?", help="file to scan, or - for standard input (default)")
    scan.add_argument("--rules", default=str(home / "rules"), metavar="DIR")
    scan.add_argument("--jsonl", metavar="FILE", help="one JSON object per line with a 'text' field")
    scan.add_argument("--key", help="fingerprint key file (default certs/shadowgate-fingerprint.key)")
    scan.add_argument("--certs", default=str(home / "certs"), help=argparse.SUPPRESS)
    scan.add_argument("--exit-code", action="store_true", help="exit 1 when something was found")
    scan.set_defaults(func=cmd_scan)

    classify = sub.add_parser("classify", help="classify a request: AI app and MCP verdict with signals")
    classify.add_argument("url")
    classify.add_argument("--method", default="GET")
    classify.add_argument("--header", action="append", metavar="'K: V'")
    classify.add_argument("--body", metavar="FILE")
    classify.add_argument("--rules", default=str(home / "rules"), metavar="DIR")
    classify.set_defaults(func=cmd_classify)

    fingerprint = sub.add_parser("fingerprint", help="the keyed fingerprint of a value, to search the SIEM for")
    fingerprint.add_argument("value")
    fingerprint.add_argument("--key", help="fingerprint key file (default certs/shadowgate-fingerprint.key)")
    fingerprint.add_argument("--certs", default=str(home / "certs"), help=argparse.SUPPRESS)
    fingerprint.set_defaults(func=cmd_fingerprint)

    edm = sub.add_parser("edm", help="exact data match: hash a list of sensitive values for an EDM detector")
    edm_sub = edm.add_subparsers(dest="edm_command", required=True)
    edm_build = edm_sub.add_parser("build", help="read one value per line, print the EDM file (keyed hashes only)")
    edm_build.add_argument("values", nargs="?", help="file with one value per line, or - for standard input")
    edm_build.add_argument("--key", help="fingerprint key file (default certs/shadowgate-fingerprint.key)")
    edm_build.add_argument("--certs", default=str(home / "certs"), help=argparse.SUPPRESS)
    edm_build.set_defaults(func=cmd_edm_build)

    ca = sub.add_parser("ca", help="the proxy CA certificate: path or export for devices")
    group = ca.add_mutually_exclusive_group(required=True)
    group.add_argument("--path", action="store_true", help="print the CA certificate path")
    group.add_argument("--export", metavar="DIR", help="write shadowgate-ca.pem and shadowgate-ca.der to DIR")
    ca.add_argument("--certs", default=str(home / "certs"), metavar="DIR")
    ca.set_defaults(func=cmd_ca)
    inventory = sub.add_parser("mcp-inventory", help="MCP servers, their tools and who used them, from event logs")
    inventory.add_argument("logs", nargs="+", metavar="LOG", help="OCSF JSONL event logs (.gz too; - for stdin)")
    inventory.add_argument("--format", choices=["json", "table"], default="json", help="json (default) or table")
    inventory.set_defaults(func=cmd_mcp_inventory)

    report = sub.add_parser("report", help="the shadow-AI report: apps, users, detectors, MCP, gaps, from event logs")
    report.add_argument("logs", nargs="+", metavar="LOG", help="OCSF JSONL event logs (.gz too; - for stdin)")
    report.add_argument("--format", choices=["table", "json"], default="table", help="table (default) or json")
    report.add_argument("--top", type=int, default=20, help="how many users to list (default 20)")
    report.set_defaults(func=cmd_report)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
