"""benchfloor.py: how much of a scan is hyperscan and RE2 themselves (the floor no glue code can beat).

`python -m addons.benchfloor [--finding-every BYTES]` (also `./scripts/bench floor`). For each bench
body it records every buffer the scan hands to hyperscan and every RE2 `Match` call of detector
confirmation and checks, replays them alone in a tight loop, and prints their time beside the whole
engine's. Their sum bounds from below what any implementation of this design costs.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from addons import bench
from addons.extract import extract_segments
from addons.fingerprint import Fingerprinter
from addons.matchers import Locator


class _Recorder:
    """Stands in for a low-level RE2 regexp: forwards `Match` and records the call."""

    __slots__ = ("calls", "rx")

    def __init__(self, rx, calls: list) -> None:
        self.rx, self.calls = rx, calls

    def Match(self, anchor, data, pos, end):  # noqa: N802 - RE2's name
        self.calls.append((self.rx, anchor, data, pos, end))
        return self.rx.Match(anchor, data, pos, end)


class _Rx:
    __slots__ = ("_regexp",)

    def __init__(self, regexp) -> None:
        self._regexp = regexp


def _record(scanner, run) -> tuple[list[bytes], list[tuple]]:
    """Run `run()` with every detector RE2 and the hyperscan pass recorded; everything is restored after."""
    calls: list[tuple] = []
    buffers: list[bytes] = []
    saved = []
    for d in scanner._dets:
        c = d.confirm
        saved.append((d, c, c.rx if c else None, c.loc if c else None, c.exact if c else None,
                      d.gate, d.ctx_rx, d.neg_rx, d.allow_rx))  # fmt: skip
        if c is not None:
            c.rx = _Rx(_Recorder(c.rx._regexp, calls))
            c.loc = _Recorder(c.loc, calls) if c.loc is not None else None
            c.exact = _Recorder(c.exact, calls) if c.exact is not None else None
        d.gate = _Recorder(d.gate, calls) if d.gate is not None else None
        d.ctx_rx = _Recorder(d.ctx_rx, calls) if d.ctx_rx is not None else None
        d.neg_rx = _Recorder(d.neg_rx, calls) if d.neg_rx is not None else None
        d.allow_rx = tuple(_Recorder(rx, calls) for rx in d.allow_rx)
    locator = scanner._locator
    original_run = Locator.run

    def recording_run(self, data: bytes):
        buffers.append(data)
        return original_run(self, data)

    locator.run = recording_run.__get__(locator)
    try:
        run()
    finally:
        del locator.run
        for d, c, rx, loc, exact, gate, ctx_rx, neg_rx, allow_rx in saved:
            if c is not None:
                c.rx, c.loc, c.exact = rx, loc, exact
            d.gate, d.ctx_rx, d.neg_rx, d.allow_rx = gate, ctx_rx, neg_rx, allow_rx
    return buffers, calls


def floor_rows(every: int = bench.FINDING_EVERY, min_s: float = 1.0) -> list[dict]:
    with tempfile.TemporaryDirectory() as tmp:
        files, scanner, *_ = bench._build(bench.SHIPPED_RULES, Path(tmp) / "rules")
    fp = Fingerprinter(bytes(32))
    rows = []
    for size, kind, body, ctype in bench.bodies(bench._examples(files), every):
        if kind not in bench.KINDS:
            continue
        segments = extract_segments(body, content_type=ctype, content_encoding=None, max_bytes=8 << 20,
                                    max_decompressed=32 << 20).segments  # fmt: skip
        engine = bench._engine(scanner, fp, body, ctype)
        engine_s, _ = bench._time(engine, min_s)
        buffers, calls = _record(scanner, lambda s=segments: scanner.scan(s, fingerprinter=fp))

        def hyperscan(buffers=buffers, locator=scanner._locator):
            for data in buffers:
                locator.run(data)

        def re2(calls=calls):
            for rx, anchor, data, pos, end in calls:
                rx.Match(anchor, data, pos, end)

        hs_s, _ = bench._time(hyperscan, min_s / 2)
        re2_s, _ = bench._time(re2, min_s / 2)
        rows.append({"size": size, "kind": kind, "bytes": len(body), "findings": len(engine().findings),
                     "engine_us": engine_s * 1e6, "hs_us": hs_s * 1e6, "re2_calls": len(calls),
                     "re2_us": re2_s * 1e6})  # fmt: skip
    return rows


def markdown(rows: list[dict]) -> str:
    lines = ["| size | body | findings | engine µs | hyperscan µs | RE2 calls | RE2 µs | floor µs | floor MB/s "
             "| engine MB/s |", "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"]  # fmt: skip
    for r in rows:
        low = r["hs_us"] + r["re2_us"]
        lines.append(f"| {r['size']} | {r['kind']} | {r['findings']} | {r['engine_us']:.0f} | {r['hs_us']:.0f} | "
                     f"{r['re2_calls']} | {r['re2_us']:.0f} | {low:.0f} | {r['bytes'] / low:.1f} | "
                     f"{r['bytes'] / r['engine_us']:.1f} |")  # fmt: skip
    for size in bench.SIZES:
        sel = [r for r in rows if r["size"] == size]
        total = sum(r["bytes"] for r in sel)
        low = sum(r["hs_us"] + r["re2_us"] for r in sel)
        eng = sum(r["engine_us"] for r in sel)
        lines.append(f"| **{size}** | all four | | {eng / len(sel):.0f} | | | | {low / len(sel):.0f} | "
                     f"**{total / low:.1f}** | **{total / eng:.1f}** |")  # fmt: skip
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m addons.benchfloor", description=__doc__)
    ap.add_argument("--finding-every", type=int, default=bench.FINDING_EVERY, metavar="BYTES")
    ap.add_argument("--quick", action="store_true", help="shorter timing loops")
    args = ap.parse_args(argv)
    print(markdown(floor_rows(max(0, args.finding_every), 0.2 if args.quick else 1.0)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
