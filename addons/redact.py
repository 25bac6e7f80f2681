"""redact.py: rewrite a request body with each finding replaced by `[REDACTED:<detector-id>]`.

Invariants: the result is valid JSON / form / multipart / text of the same kind (a multipart body
keeps every other part and delimiter byte for byte), or None when a finding cannot be located with
certainty (the caller then blocks instead of forwarding the value), such as a finding
in an object key (`json:{keys}`). Findings in a joined view replace every leaf they touch; findings in
decoded views replace the whole encoded run (their span already covers it).
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import islice
from urllib.parse import urlencode

from addons.extract import KEYS_WHERE
from addons.extract import join_siblings
from addons.extract import multipart_parts
from addons.extract import parse_content_type
from addons.extract import part_charset
from addons.extract import utf8_bom
from addons.model import Finding
from addons.params import param_wheres
from addons.params import parse_params

_STEP = re.compile(r'\.([A-Za-z_][A-Za-z0-9_]*)|\[(\d+)\]|\[("(?:[^"\\]|\\.)*")\]|\[#(\d+)\]|\[\*\]')


@dataclass(frozen=True, slots=True)
class Member:
    """`[#n]` in a path: the n-th member of an object, in `json.loads` order (its key is not written)."""

    index: int


def marker(detector_id: str) -> str:
    return f"[REDACTED:{detector_id}]"


def redact_text(text: str, spans: Sequence[tuple[int, int, str]]) -> str | None:
    """Replace spans (start, end, detector id) in `text`; overlapping spans merge. None if out of range.

    A merged span is labelled with the detector whose own span was longest (a card number beats the
    national-id pattern that matched its first digits).
    """
    merged: list[list] = []  # [start, end, label, label's span length]
    for s, e, did in sorted(spans):
        if s < 0 or e > len(text) or s >= e:
            return None
        if merged and s < merged[-1][1]:
            last = merged[-1]
            last[1] = max(last[1], e)
            if e - s > last[3]:
                last[2], last[3] = did, e - s
        else:
            merged.append([s, e, did, e - s])
    out, pos = [], 0
    for s, e, did, _ in merged:
        out.append(text[pos:s])
        out.append(marker(did))
        pos = e
    out.append(text[pos:])
    return "".join(out)


def parse_path(path: str) -> list[str | int | Member] | None:
    """`$.a[0]["b c"][#1]` → ['a', 0, 'b c', Member(1)]; a trailing `[*]` is kept as '*'. None if malformed."""
    if not path.startswith("$"):
        return None
    steps: list[str | int | Member] = []
    pos = 1
    while pos < len(path):
        m = _STEP.match(path, pos)
        if m is None:
            return None
        if m.group(1) is not None:
            steps.append(m.group(1))
        elif m.group(2) is not None:
            steps.append(int(m.group(2)))
        elif m.group(3) is not None:
            steps.append(json.loads(m.group(3)))
        elif m.group(4) is not None:
            steps.append(Member(int(m.group(4))))
        else:
            if m.end() != len(path):
                return None
            steps.append("*")
        pos = m.end()
    return steps


def _locate(doc, steps) -> tuple[object, list[str | int]] | None:
    """The node at `steps` and the concrete path to it (each `Member` replaced by its key); None if absent."""
    node, path = doc, []
    for step in steps:
        if isinstance(node, dict):
            if isinstance(step, Member):
                if not 0 <= step.index < len(node):
                    return None
                step = next(islice(node, step.index, None))
            elif not isinstance(step, str) or step not in node:
                return None
        elif not (isinstance(node, list) and isinstance(step, int) and 0 <= step < len(node)):
            return None
        node = node[step]
        path.append(step)
    return node, path


def _redact_json(text: str, findings: Sequence[Finding]) -> str | None:
    try:
        doc = json.loads(text)
    except (ValueError, RecursionError):
        return None
    by_leaf: dict[tuple, list[tuple[int, int, str]]] = {}
    whole: dict[tuple, str] = {}
    for f in findings:
        if f.where == KEYS_WHERE:  # a value written as an object key: renaming keys is not redaction
            return None
        steps = parse_path(f.where[5:]) if f.where.startswith("json:") else None
        if steps is None:
            return None
        if steps and steps[-1] == "*":  # joined siblings: every string child the span touches
            found = _locate(doc, steps[:-1])
            if found is None or not isinstance(found[0], dict | list):
                return None
            parent, path = found
            keys = list(parent) if isinstance(parent, dict) else list(range(len(parent)))
            keys = [k for k in keys if isinstance(parent[k], str)]
            for i, s, e in join_siblings([parent[k] for k in keys])[1]:
                if s < f.end and f.start < e:
                    whole[(*path, keys[i])] = f.detector_id
            continue
        found = _locate(doc, steps)
        if found is None or not isinstance(found[0], str | int) or isinstance(found[0], bool):
            return None
        by_leaf.setdefault(tuple(found[1]), []).append((f.start, f.end, f.detector_id))
    for path, spans in by_leaf.items():
        if path in whole:
            continue
        leaf = _get(doc, path)
        new = redact_text(leaf if isinstance(leaf, str) else str(leaf), spans)
        if new is None:
            return None
        doc = _set(doc, path, new)
    for path, did in whole.items():
        doc = _set(doc, path, marker(did))
    return json.dumps(doc, ensure_ascii=False)


def _get(doc, path):
    for key in path:  # a path `_locate` resolved: every key exists
        doc = doc[key]
    return doc


def _set(doc, path, value):
    if not path:
        return value
    _get(doc, path[:-1])[path[-1]] = value
    return doc


def redact_params(text: str, findings: Sequence[Finding], prefix: str) -> str | None:
    """`name=value` pairs (a form body, a URL query) with each finding's span redacted in its value; None
    when a finding cannot be located (a name, a parameter no longer there, a span out of range)."""
    pairs = parse_params(text)
    index = {where: n for n, where in enumerate(param_wheres(pairs, prefix))}
    spans: dict[int, list[tuple[int, int, str]]] = {}
    for f in findings:
        n = index.get(f.where)
        if n is None:
            return None
        spans.setdefault(n, []).append((f.start, f.end, f.detector_id))
    out = []
    for n, (name, value) in enumerate(pairs):
        if n in spans:
            new = redact_text(value, spans[n])
            if new is None:
                return None
            value = new
        out.append((name, value))
    return urlencode(out)


def _redact_multipart(body: bytes, boundary: str, charset: str | None, findings: Sequence[Finding]) -> bytes | None:
    """Text parts rewritten in place (other parts and the delimiters byte for byte as sent); None when a
    finding is in a document or a PDF page (`#` in its `where`), in a part whose name is not unique, or
    in text that does not decode cleanly (re-encoding it would change more than the finding)."""
    parts = multipart_parts(body, boundary)
    labels = [p.label for p in parts]
    spans: dict[int, list[tuple[int, int, str]]] = {}
    for f in findings:
        if labels.count(f.where) != 1:
            return None
        spans.setdefault(labels.index(f.where), []).append((f.start, f.end, f.detector_id))
    out = body
    for i in sorted(spans, reverse=True):  # from the end: earlier offsets stay valid
        part = parts[i]
        encoding = part_charset(part, charset) or "utf-8"
        content = part.content
        bom = utf8_bom(content, encoding)
        try:
            new = redact_text(content[len(bom):].decode(encoding), spans[i])
            if new is None:
                return None
            data = bom + new.encode(encoding)
        except (UnicodeError, LookupError):
            return None
        out = out[:part.start] + data + out[part.end:]
    return out


def redact_body(body: bytes, *, content_type: str | None, findings: Sequence[Finding]) -> bytes | None:
    """The body (already content-decoded) with every finding redacted, or None when that is not safe."""
    if not findings:
        return body
    mime, params = parse_content_type(content_type)
    if mime.startswith("multipart/") and params.get("boundary"):
        return _redact_multipart(body, params["boundary"], params.get("charset"), findings)
    charset = params.get("charset") or "utf-8"
    try:
        text = body.decode(charset)
    except (UnicodeDecodeError, LookupError):
        return None
    bom = "\ufeff" if text.startswith("\ufeff") else ""
    text = text[len(bom):]
    wheres = {f.where.split(":", 1)[0] for f in findings}
    if wheres == {"json"}:
        new = _redact_json(text, findings)
    elif wheres == {"form"} and mime == "application/x-www-form-urlencoded":
        new = redact_params(text, findings, "form")
    elif wheres == {"body"}:
        new = redact_text(text, [(f.start, f.end, f.detector_id) for f in findings])
    else:
        return None
    if new is None:
        return None
    try:
        return (bom + new).encode(charset)
    except (UnicodeEncodeError, LookupError):
        return None
