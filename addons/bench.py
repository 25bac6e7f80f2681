"""bench.py: engine throughput (extract + scan) on generated bodies vs a naive one-regex-at-a-time baseline.

`python -m addons.bench [--rules DIR] [--quick] [--json] [--compare CHECKOUT] [--rounds N]`. Pure engine, no proxy.
The ruleset is the shipped one plus a 10,000-word codename list; bodies are prose, chat JSON, source
code and logs at 1 KB, 64 KB and 1 MB, sprinkled with the detectors' own (fake) match examples.
`--compare` times another checkout's engine (its own rules, the same bodies) in a child process, row
by row alternating with this one, so "before" and "after" share the run and the machine's load.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import re
import shutil
import statistics
import string
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

from addons.detectors import build_scanner
from addons.extract import extract_segments
from addons.fingerprint import Fingerprinter
from addons.ruleyaml import Problems
from addons.ruleyaml import expand_fakes
from addons.ruleyaml import read_rule_files

NAIVE_MAX = 256 << 10
FINDING_EVERY = 4096  # bytes of text per sprinkled finding, on average
SHIPPED_RULES = Path(__file__).resolve().parent.parent / "rules" / "detectors"
SIZES = {"1KB": 1 << 10, "64KB": 64 << 10, "1MB": 1 << 20}
KINDS = ("prose", "chat-json", "source", "logs")  # the target set: the aggregate rows are over these
EXTRA_KINDS = ("prose-intl",)  # reported beside them: European-language prose (every few words non-ASCII)
WORDS = ("the of and to in is that for it as was with be by on not he this are or his from at which but have an "
         "they you were her she there been one all we their has would when if so what out up more who about "
         "customer quarterly revenue forecast deploy service request latency budget review draft summary "
         "meeting product launch team policy update migration database schema index cluster region"
         ).split()  # fmt: skip


INTL_WORDS = ("über für größe straße können würde während später grüße kunde bericht umsatz daten prévision "
              "équipe déjà élève réunion résumé été français naïve señor año mañana reunión información "
              "también además zürich kraków łódź żółw już więc praha účet přehled данные отчёт клиент "
              "бюджет δεδομένα πελάτης und der die das le la les el los y en na w i o".split())  # fmt: skip


def _intl_sentence(rng: random.Random) -> str:
    words = [rng.choice(INTL_WORDS) for _ in range(rng.randint(6, 18))]
    return " ".join(words).capitalize() + rng.choice([". ", ". ", "? ", "! "])


def _sentence(rng: random.Random) -> str:
    words = [rng.choice(WORDS) for _ in range(rng.randint(6, 18))]
    return " ".join(words).capitalize() + rng.choice([". ", ". ", "? ", "! "])


def _code_line(rng: random.Random) -> str:
    name = "_".join(rng.choice(WORDS) for _ in range(2))
    return rng.choice([
        f"    {name} = compute_{rng.choice(WORDS)}({rng.randint(0, 999)}, config.{rng.choice(WORDS)})\n",
        f"def {name}(self, request, timeout={rng.randint(1, 60)}):\n",
        f"    if {name} is None or len({name}) > {rng.randint(2, 4096)}:\n",
        f"        raise ValueError(f\"bad {rng.choice(WORDS)}: {{{name}!r}}\")\n",
        f"import {rng.choice(WORDS)}.{rng.choice(WORDS)} as {name}  # {rng.choice(WORDS)}\n",
    ])  # fmt: skip


def _log_line(rng: random.Random) -> str:
    ip = ".".join(str(rng.randint(1, 254)) for _ in range(4))
    return (f"2026-03-{rng.randint(1, 28):02d}T{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:00Z "
            f"{rng.choice(['INFO', 'WARN', 'DEBUG'])} svc={rng.choice(WORDS)} req={rng.getrandbits(64):016x} "
            f"client={ip} path=/api/v2/{rng.choice(WORDS)} status={rng.choice([200, 201, 404, 500])} "
            f"ms={rng.randint(1, 900)}\n")  # fmt: skip


def make_body(kind: str, size: int, findings: list[str], rng: random.Random,
              every: int = FINDING_EVERY) -> tuple[bytes, str]:  # fmt: skip
    """A body of about `size` bytes; one finding sprinkled per ~`every` bytes (at least one per body;
    only that one when `every` is 0)."""
    parts: list[str] = []
    total = 0
    gen = {"prose": _sentence, "chat-json": _sentence, "source": _code_line, "logs": _log_line,
           "prose-intl": _intl_sentence}[kind]  # fmt: skip
    budget = size - 200 if kind == "chat-json" else size
    while total < budget:
        piece = gen(rng)
        if findings and (every > 0 and rng.random() < len(piece) / every or not parts):
            piece += " " + rng.choice(findings) + " "
        parts.append(piece)
        total += len(piece.encode())
    text = "".join(parts)
    if kind == "chat-json":
        messages = [{"role": "system", "content": "You are a helpful assistant."}]
        chunk = max(256, len(text) // 8)
        for i in range(0, len(text), chunk):
            messages.append({"role": "user" if i // chunk % 2 == 0 else "assistant", "content": text[i:i + chunk]})
        return json.dumps({"model": "gpt-4o", "messages": messages}).encode(), "application/json"
    return text.encode(), "text/plain"


def codename_dir(rules: Path, tmp: Path, n: int = 10_000) -> Path:
    """A copy of the rules whose codename list also holds 10,000 generated names (the shipped names stay,
    so the detector's own examples still pass and it is active during the run)."""
    target = tmp / "detectors"
    shutil.copytree(rules, target)
    rng = random.Random(7)
    names = {"".join(rng.choice(string.ascii_lowercase) for _ in range(rng.randint(6, 12))) for _ in range(n)}
    words = target / "wordlists" / "codenames.txt"
    words.write_text(words.read_text() + "\n".join(sorted(names)) + "\n")
    return target


def _examples(files) -> list[str]:
    out = []
    for f in files:
        for r in f.records:
            ex = r.get("examples") or {}
            for i, t in enumerate(ex.get("match") or ()):
                if isinstance(t, str) and r.get("edm_file") is None:
                    out.append(expand_fakes(t, f"{r.get('id')}/match/{i}").replace("\n", " "))
    return out


def _naive(files) -> list[re.Pattern[str]]:
    out = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for f in files:
            for r in f.records:
                p = r.get("pattern")
                if isinstance(p, str) and r.get("enabled", True):
                    try:
                        out.append(re.compile(p.replace(r"\z", r"\Z"), re.I if r.get("case_insensitive") else 0))
                    except re.error:
                        pass
    return out


def _time(fn, min_seconds: float) -> tuple[float, int]:
    """Seconds per call, in CPU time of this process (the machine is shared: wall time is noisier)."""
    fn()  # warm-up: RE2 builds its DFA states lazily
    n, start = 0, time.process_time()
    while True:
        fn()
        n += 1
        elapsed = time.process_time() - start
        if elapsed >= min_seconds:
            return elapsed / n, n


def _build(rules: Path, tmp: Path):
    """(files, scanner, cold build seconds, warm build seconds): cold with an empty database cache, warm
    from the entry the cold build wrote (engines without a cache build twice the same way)."""
    directory = codename_dir(rules, tmp)
    problems = Problems()
    files = read_rule_files(directory, "detectors", problems, "rules/detectors")
    old_env = os.environ.get("SHADOWGATE_CACHE")
    os.environ["SHADOWGATE_CACHE"] = str(tmp / "cache")
    try:
        t0 = time.perf_counter()
        build_scanner(files, Problems(), rules_dir=directory)
        cold = time.perf_counter() - t0
        _forget_compiled()  # as a new process would: only the on-disk database cache helps
        t0 = time.perf_counter()
        scanner = build_scanner(files, problems, rules_dir=directory)
        warm = time.perf_counter() - t0
    finally:
        if old_env is None:
            os.environ.pop("SHADOWGATE_CACHE", None)
        else:
            os.environ["SHADOWGATE_CACHE"] = old_env
    return files, scanner, cold, warm, len(problems)


def _forget_compiled() -> None:
    """Drop in-process compile caches (RE2 objects, parsed patterns) of engines that have them."""
    from addons import matchers

    for name in ("re2_compile", "_parse"):
        clear = getattr(getattr(matchers, name, None), "cache_clear", None)
        if clear is not None:
            clear()


def _engine(scanner, fp, body: bytes, ctype: str):
    def engine():
        ex = extract_segments(body, content_type=ctype, content_encoding=None,
                              max_bytes=8 << 20, max_decompressed=32 << 20)  # fmt: skip
        return scanner.scan(ex.segments, fingerprinter=fp)

    return engine


def bodies(findings: list[str], every: int = FINDING_EVERY) -> list[tuple[str, str, bytes, str]]:
    """The bench bodies, sprinkled with `findings` (the detectors' match examples, see _examples)."""
    rng = random.Random(1)
    out = [(size_name, kind, *make_body(kind, size, findings, rng, every)) for size_name, size in SIZES.items()
           for kind in KINDS]  # fmt: skip
    rng = random.Random(2)  # the extra kinds leave the target bodies as they were
    out += [(size_name, kind, *make_body(kind, size, findings, rng, every)) for size_name, size in SIZES.items()
            for kind in EXTRA_KINDS]  # fmt: skip
    return out


TURNS = 20  # the conversation benchmark: a chat of this many turns, each request resending all before it


def conversation_bodies(findings: list[str], turns: int = TURNS) -> list[bytes]:
    """Request bodies of one chat: turn i sends the system prompt and messages 1..i (~2 KB each)."""
    rng = random.Random(3)
    messages: list[dict] = [{"role": "system", "content": "You are a helpful assistant."}]
    out = []
    for turn in range(turns):
        text, _ = make_body("prose", 2048, findings, rng)
        messages.append({"role": "user" if turn % 2 == 0 else "assistant", "content": text.decode()})
        out.append(json.dumps({"model": "gpt-4o", "messages": messages}).encode())
    return out


def conversation(findings: list[str], scanner, fp: Fingerprinter, min_s: float) -> dict:
    """Time one whole conversation (every turn's request scanned once, in order), rescanning each request
    in full and reusing the hits of messages seen before (a new, empty cache per conversation)."""
    from collections import OrderedDict

    from addons.scancache import SegmentCache

    work = conversation_bodies(findings)
    segs = [extract_segments(b, content_type="application/json", content_encoding=None, max_bytes=8 << 20,
                             max_decompressed=32 << 20).segments for b in work]  # fmt: skip
    full = [scanner.scan(s, fingerprinter=fp) for s in segs]
    scanner.cache = SegmentCache()
    reused = [scanner.scan(s, fingerprinter=fp, reuse=True) for s in segs]
    if reused != full:
        raise AssertionError("reusing cached segment hits changed the findings")

    def whole(reuse: bool):
        def run():
            scanner.cache = SegmentCache()
            for s in segs:
                scanner.scan(s, fingerprinter=fp, reuse=reuse)
        return run

    total_full = _time(whole(False), min_s)[0]
    total_reuse = _time(whole(True), min_s)[0]
    last_full = _time(lambda: scanner.scan(segs[-1], fingerprinter=fp), min_s)[0]
    scanner.cache = SegmentCache()  # the history in the cache, the newest message not
    for s in segs[:-1]:
        scanner.scan(s, fingerprinter=fp, reuse=True)
    history = dict(scanner.cache._entries)

    def last_turn():
        scanner.cache._entries = OrderedDict(history)
        scanner.scan(segs[-1], fingerprinter=fp, reuse=True)

    last_reuse = _time(last_turn, min_s)[0]
    return {"turns": len(work), "last_bytes": len(work[-1]), "sent_bytes": sum(map(len, work)),
            "findings_last": len(full[-1].findings), "total_full_ms": total_full * 1e3,
            "total_reuse_ms": total_reuse * 1e3, "last_full_ms": last_full * 1e3, "last_reuse_ms": last_reuse * 1e3}


_CHILD = """
import importlib.util, json, sys
from pathlib import Path
sys.path.insert(0, sys.argv[1])
spec = importlib.util.spec_from_file_location("sg_bench_other", sys.argv[2])
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
module.serve(Path(sys.argv[3]), Path(sys.argv[4]))
"""


def serve(rules: Path, work: Path) -> None:
    """The `--compare` child: build this process's engine, then time the bodies in `work` on request."""
    files, scanner, cold, warm, problems = _build(rules, work / "rules")
    fp = Fingerprinter(bytes(32))
    print(json.dumps({"detectors": len(scanner.detector_ids), "load_cold_s": cold, "load_warm_s": warm,
                      "problems": problems}), flush=True)  # fmt: skip
    for line in sys.stdin:
        index, min_s = line.split()
        ctype = (work / f"{index}.type").read_text()
        engine = _engine(scanner, fp, (work / f"{index}.body").read_bytes(), ctype)
        per, _ = _time(engine, float(min_s))
        print(json.dumps({"engine_us": per * 1e6, "findings": len(engine().findings)}), flush=True)


def run(rules: Path, quick: bool = False, compare: Path | None = None, every: int = FINDING_EVERY,
        rounds: int = 1) -> dict:  # fmt: skip
    """Time every body (best of `rounds` timings; with `compare`, each round times this engine, then the
    other, so the two share the machine's load) and the naive baseline."""
    with tempfile.TemporaryDirectory() as tmp:
        files, scanner, cold, warm, problems = _build(rules, Path(tmp) / "rules")
        fp = Fingerprinter(bytes(32))
        naive = _naive(files)
        examples = _examples(files)  # expanding their fakes takes a while: once
        work = bodies(examples, every)
        results: dict = {"finding_every": every, "rounds": rounds, "detectors": len(scanner.detector_ids),
                         "naive_patterns": len(naive), "load_cold_s": cold,
                         "load_warm_s": warm, "problems": problems, "rows": []}  # fmt: skip
        child = None
        if compare is not None:
            cdir = Path(tmp) / "compare"
            cdir.mkdir()
            for i, (_, _, body, ctype) in enumerate(work):
                (cdir / f"{i}.body").write_bytes(body)
                (cdir / f"{i}.type").write_text(ctype)
            child = subprocess.Popen(
                [sys.executable, "-c", _CHILD, str(compare), str(Path(__file__).resolve()),
                 str(compare / "rules" / "detectors"), str(cdir)],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=compare,
            )  # fmt: skip
            results["compare"] = {"dir": str(compare), **json.loads(child.stdout.readline())}  # type: ignore[union-attr]
        min_s = 0.2 if quick else 1.0
        try:
            for i, (size_name, kind, body, ctype) in enumerate(work):
                engine = _engine(scanner, fp, body, ctype)
                text = body.decode()[:NAIVE_MAX]  # the naive baseline is timed on at most 256 KB

                def baseline(text=text):
                    for rx in naive:
                        for _ in rx.finditer(text):
                            pass

                per = other_us = float("inf")
                for _ in range(rounds):
                    per = min(per, _time(engine, min_s)[0])
                    if child is not None:
                        child.stdin.write(f"{i} {min_s}\n")  # type: ignore[union-attr]
                        child.stdin.flush()  # type: ignore[union-attr]
                        other = json.loads(child.stdout.readline())  # type: ignore[union-attr]
                        other_us = min(other_us, other["engine_us"])
                base = _time(baseline, min_s / 4)[0] * len(body) / len(text.encode())
                row = {
                    "size": size_name, "kind": kind, "bytes": len(body), "findings": len(engine().findings),
                    "engine_us": per * 1e6, "engine_mbs": len(body) / per / 1e6,
                    "naive_mbs": len(body) / base / 1e6, "ratio": base / per,
                }  # fmt: skip
                if child is not None:
                    row["before_us"], row["before_findings"] = other_us, other["findings"]
                    row["before_mbs"] = len(body) / other_us
                results["rows"].append(row)
            results["conversation"] = conversation(examples, scanner, fp, min_s)
        finally:
            if child is not None:
                child.stdin.close()  # type: ignore[union-attr]
                child.wait()
    return results


def markdown(res: dict) -> str:
    cmp = "compare" in res
    head = "| size | body | bytes | findings | engine µs/body | engine MB/s | naive `re` MB/s | speed-up |"
    rule = "|---|---|---:|---:|---:|---:|---:|---:|"
    if cmp:
        head += " before µs/body | before MB/s | before findings |"
        rule += "---:|---:|---:|"
    lines = [head, rule]
    for r in res["rows"]:
        line = (f"| {r['size']} | {r['kind']} | {r['bytes']} | {r['findings']} | {r['engine_us']:.0f} | "
                f"{r['engine_mbs']:.1f} | {r['naive_mbs']:.2f} | {r['ratio']:.0f}× |")  # fmt: skip
        if cmp:
            line += f" {r['before_us']:.0f} | {r['before_mbs']:.1f} | {r['before_findings']} |"
        lines.append(line)
    for size in SIZES:
        rows = [r for r in res["rows"] if r["size"] == size and r["kind"] in KINDS]
        total = sum(r["bytes"] for r in rows)
        eng = total / sum(r["bytes"] / r["engine_mbs"] for r in rows)
        nai = total / sum(r["bytes"] / r["naive_mbs"] for r in rows)
        line = (f"| **{size}** | all four | {total} | | {statistics.mean(r['engine_us'] for r in rows):.0f} | "
                f"**{eng:.1f}** | {nai:.2f} | **{eng / nai:.0f}×** |")  # fmt: skip
        if cmp:
            bef = total / sum(r["bytes"] / r["before_mbs"] for r in rows)
            line += f" {statistics.mean(r['before_us'] for r in rows):.0f} | **{bef:.1f}** | |"
        lines.append(line)
    return "\n".join(lines)


def conversation_markdown(c: dict) -> str:
    return "\n".join([
        f"Chat of {c['turns']} turns, each request resending the history ({c['sent_bytes']} bytes sent in all; "
        f"the last request {c['last_bytes']} bytes, {c['findings_last']} findings):",
        "",
        "| segments scanned | whole conversation | last turn |",
        "|---|---:|---:|",
        f"| every request in full | {c['total_full_ms']:.1f} ms | {c['last_full_ms']:.2f} ms |",
        f"| new ones only (`sg_scan_reuse`) | {c['total_reuse_ms']:.1f} ms | {c['last_reuse_ms']:.2f} ms |",
        f"| ratio | {c['total_full_ms'] / c['total_reuse_ms']:.1f}× | {c['last_full_ms'] / c['last_reuse_ms']:.1f}× |",
    ])  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m addons.bench", description=__doc__)
    ap.add_argument("--rules", default=str(SHIPPED_RULES))
    ap.add_argument("--quick", action="store_true", help="shorter timing loops")
    ap.add_argument("--json", action="store_true", help="print raw results as JSON")
    ap.add_argument("--compare", metavar="CHECKOUT", help="also time the engine of another checkout (before)")
    ap.add_argument("--finding-every", type=int, default=FINDING_EVERY, metavar="BYTES",
                    help=f"sprinkle one finding per this many bytes (default {FINDING_EVERY}; 0: one per body)")
    ap.add_argument("--rounds", type=int, default=1, metavar="N",
                    help="time each body N times (alternating with --compare) and keep the best of each side")
    args = ap.parse_args(argv)
    res = run(Path(args.rules), args.quick, Path(args.compare).resolve() if args.compare else None,
              max(0, args.finding_every), max(1, args.rounds))
    if args.json:
        print(json.dumps(res, indent=1))
        return 0
    best = f" · best of {res['rounds']} rounds" if res["rounds"] > 1 else ""
    print(f"machine: {platform.machine()} · {os.cpu_count()} CPUs · Python {platform.python_version()} · "
          f"{res['detectors']} detectors (+10,000 codenames) · {res['naive_patterns']} patterns in the naive "
          f"baseline · ruleset build {res['load_cold_s']:.2f} s cold, {res['load_warm_s']:.2f} s with the "
          f"database cache (incl. example self-test) · {res['problems']} rule problem(s) · one finding per "
          f"{res['finding_every'] or 'body'}{' bytes' if res['finding_every'] else ''}{best}")  # fmt: skip
    if "compare" in res:
        c = res["compare"]
        print(f"before: {c['dir']} · {c['detectors']} detectors · ruleset build {c['load_cold_s']:.2f} s, "
              f"again {c['load_warm_s']:.2f} s · {c['problems']} rule problem(s)")  # fmt: skip
    print(markdown(res))
    if "conversation" in res:
        print()
        print(conversation_markdown(res["conversation"]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
