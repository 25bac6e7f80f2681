"""params.py: `name=value` parameters (URL queries, form bodies) as segments, and what a `where` may name.

Invariant: a `where` writes a name (JSON key, parameter) only when it reads as a field label; any
other name is written by position (`[#n]`), since it may itself be a card number or a token. Names
that are not labels are scanned in one `<prefix>:{names}` segment.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl

from addons.model import Segment

MAX_LABEL = 40
_LABEL = re.compile(r"[A-Za-z_$@][A-Za-z_ .\-]*[0-9]{0,2}")  # content, tool_calls, Content-Type, $ref, item1


def is_label(name: str) -> bool:
    """Whether a key or parameter name reads as a field label (safe to write in a `where`), rather than
    something that may carry what we protect (a card number, a token, an email address)."""
    return len(name) <= MAX_LABEL and _LABEL.fullmatch(name) is not None


def parse_params(text: str) -> list[tuple[str, str]]:
    """`a=1&b=&a=2` → [('a', '1'), ('b', ''), ('a', '2')]: every pair, blanks kept (positions count them)."""
    return parse_qsl(text, keep_blank_values=True, max_num_fields=None)


def param_wheres(pairs: list[tuple[str, str]], prefix: str) -> list[str]:
    """Where each pair's value is reported: `<prefix>:<name>` for a unique label, else `<prefix>:[#n]`."""
    counts: dict[str, int] = {}
    for name, _ in pairs:
        counts[name] = counts.get(name, 0) + 1
    return [f"{prefix}:{name}" if counts[name] == 1 and is_label(name) else f"{prefix}:[#{n}]"
            for n, (name, _) in enumerate(pairs)]  # fmt: skip


def names_where(prefix: str) -> str:
    return f"{prefix}:{{names}}"


def param_segments(pairs: list[tuple[str, str]], prefix: str, skip=lambda name: False) -> list[Segment]:
    """A segment per non-empty value (unless `skip(name)`), plus one for the names that are not labels."""
    out = [Segment(where, value) for where, (name, value) in zip(param_wheres(pairs, prefix), pairs, strict=True)
           if value and not skip(name)]  # fmt: skip
    odd = list(dict.fromkeys(name for name, _ in pairs if name and not is_label(name)))
    if odd:
        out.append(Segment(names_where(prefix), "\n".join(odd)))
    return out
