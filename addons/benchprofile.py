"""benchprofile.py: where the engine's time goes, sampled (py-spy, native frames included).

`python -m addons.benchprofile [--size 1MB] [--seconds 20] [--finding-every BYTES]` (also
`./scripts/bench profile`). A child process scans the four bench bodies of one size in a loop; py-spy
samples it from outside, with native frames, so time inside hyperscan, RE2 and hashlib is charged to
them and not to the Python line that called them (cProfile charges pybind11 calls to the caller and
inflates small functions). Prints the share of samples under each engine stage. py-spy is not a
dependency of shadowgate: `pip install py-spy` into the environment first.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from addons import bench

# the stages reported: a sample counts for each stage whose function is on its stack (so they overlap)
STAGES = (
    ("extract_segments", "extraction (JSON, form, multipart)"),
    ("Scanner._raw_views", "raw views (encoding)"),
    ("Locator.run", "hyperscan pass"),
    ("pybind11::cpp_function::dispatcher", "RE2 calls (pybind11 and RE2)"),
    ("Confirmer.find", "pattern confirmation (find, RE2 included)"),
    ("check_candidates", "candidate checks"),
    ("at_least", "  of which entropy"),
    ("_around", "  of which context / negative words"),
    ("Scanner._extra_views", "derived views (normalized, decoded, spelled)"),
    ("finish", "finish (dedupe, counts, HMAC, previews)"),
    ("Fingerprinter.of_canonical", "  of which HMAC"),
)


def loop(size: str, seconds: float, every: int) -> None:
    """Scan the bench bodies of `size` until `seconds` have passed (the child py-spy samples)."""
    from addons.fingerprint import Fingerprinter

    with tempfile.TemporaryDirectory() as tmp:
        files, scanner, *_ = bench._build(bench.SHIPPED_RULES, Path(tmp) / "rules")
    fp = Fingerprinter(bytes(32))
    engines = [bench._engine(scanner, fp, body, ctype) for s, kind, body, ctype in
               bench.bodies(bench._examples(files), every) if s == size and kind in bench.KINDS]  # fmt: skip
    print("ready", flush=True)
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        for engine in engines:
            engine()


def shares(raw: str) -> tuple[int, dict[str, float]]:
    """(samples, {stage function: % of samples with it on the stack}) from py-spy's raw output."""
    total = 0
    hits: Counter[str] = Counter()
    for line in raw.splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        n = int(count)
        total += n
        names = {frame.split(" (", 1)[0] for frame in stack.split(";")}
        for name, _ in STAGES:
            if name in names:
                hits[name] += n
    return total, {name: hits[name] * 100 / total if total else 0.0 for name, _ in STAGES}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m addons.benchprofile", description=__doc__.splitlines()[0])
    p.add_argument("--size", choices=list(bench.SIZES), default="1MB")
    p.add_argument("--seconds", type=float, default=20.0, help="sampling time")
    p.add_argument("--finding-every", type=int, default=bench.FINDING_EVERY)
    p.add_argument("--loop", action="store_true", help=argparse.SUPPRESS)  # the child
    args = p.parse_args(argv)
    if args.loop:
        loop(args.size, args.seconds, max(0, args.finding_every))
        return 0
    spy = shutil.which("py-spy", path=str(Path(sys.executable).parent)) or shutil.which("py-spy")
    if spy is None:
        print("py-spy is not installed: pip install py-spy (into this environment)", file=sys.stderr)
        return 2
    child = subprocess.Popen([sys.executable, "-m", "addons.benchprofile", "--loop", "--size", args.size,
                              "--seconds", str(args.seconds + 30), "--finding-every", str(args.finding_every)],
                             stdout=subprocess.PIPE, text=True)  # fmt: skip
    try:
        assert child.stdout is not None
        if child.stdout.readline().strip() != "ready":
            print("the scanning child did not start", file=sys.stderr)
            return 1
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "raw.txt"
            subprocess.run([spy, "record", "--native", "--rate", "250", "--duration", str(int(args.seconds)),
                            "--pid", str(child.pid), "--format", "raw", "--output", str(out)],
                           check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
            total, pct = shares(out.read_text())
    finally:
        child.kill()
        child.wait()
    print(f"{args.size} bodies (prose, chat JSON, source, logs), one finding per "
          f"{args.finding_every or 'body'}{' bytes' if args.finding_every else ''}; {total} samples")
    print("| stage | share of engine time |\n|---|---:|")
    for name, label in STAGES:
        print(f"| {label} | {pct[name]:.1f} % |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
