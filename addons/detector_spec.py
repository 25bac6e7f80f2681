"""detector_spec.py: one detector YAML record → a validated, immutable `DetectorSpec` (no compiling).

Invariant: `parse_detector` returns None (after recording `file:line` problems) for any record it
cannot fully trust; a returned spec has every field typed, in range and cross-checked.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path
from typing import Any

from addons.fingerprint import Fingerprinter
from addons.model import Severity
from addons.ruleyaml import ID_RE
from addons.ruleyaml import Field
from addons.ruleyaml import LineDict
from addons.ruleyaml import LineList
from addons.ruleyaml import Problems
from addons.ruleyaml import _kind_ok
from addons.ruleyaml import check_fields
from addons.ruleyaml import key_line

CATEGORIES = (
    "secret", "financial", "national-id", "pii", "contact", "health", "source-code", "classification", "custom",
)  # fmt: skip
ID_PREFIXES = ("secret-", "fin-", "pii-", "contact-", "health-", "code-", "class-", "custom-", "edm-")
MAX_PATTERN = 4096
MAX_WORD_FILE_BYTES = 16 << 20
EDM_HEADER_RE = re.compile(r"^# shadowgate-edm v1 key_id=([0-9a-f]{8})(?: count=\d+)?\s*$")
HEX64 = re.compile(r"^[0-9a-f]{64}$")

FIELDS: dict[str, Field] = {
    "id": Field("str", required=True),
    "name": Field("str", required=True),
    "category": Field("str", required=True, choices=CATEGORIES),
    "severity": Field("str", required=True, choices=tuple(s.value for s in Severity)),
    "confidence": Field("number"),
    "enabled": Field("bool"),
    "keywords": Field("str_list"),
    "keywordless": Field("bool"),
    "generic": Field("bool"),
    "pattern": Field("str"),
    "case_insensitive": Field("bool"),
    "secret_group": Field("int"),
    "validator": Field("str"),
    "entropy_min": Field("number"),
    "context": Field("map"),
    "negative": Field("map"),
    "not_after": Field("str"),
    "min_count": Field("int"),
    "allow": Field("map"),
    "words_file": Field("str"),
    "edm_file": Field("str"),
    "edm_tokens": Field("str"),
    "examples": Field("map", required=True),
    "description": Field("str"),
    "references": Field("str_list"),
}
CONTEXT_FIELDS = {
    "words": Field("str_list", required=True),
    "window": Field("int"),
    "boost": Field("number"),
    "required": Field("bool"),
}
NEGATIVE_FIELDS = {"words": Field("str_list", required=True), "window": Field("int")}
ALLOW_FIELDS = {"values": Field("str_list"), "patterns": Field("str_list"), "stopwords": Field("str_list")}
EXAMPLE_FIELDS = {"match": Field("str_list"), "no_match": Field("str_list"), "evasions": Field("str_list")}


@dataclass(frozen=True, slots=True)
class ContextSpec:
    words: tuple[str, ...]
    window: int = 60
    boost: float = 0.3
    required: bool = False


@dataclass(frozen=True, slots=True)
class DetectorSpec:
    """A validated detector. `pattern` is the RE2 source (for EDM detectors: the candidate-token pattern)."""

    id: str
    name: str
    category: str
    severity: str
    confidence: float = 0.5
    enabled: bool = True
    keywords: tuple[str, ...] = ()
    keywordless: bool = False
    generic: bool = False  # a catch-all: yields to a specific detector of its category on the same value
    pattern: str | None = None
    case_insensitive: bool = False
    secret_group: int = 0
    validator: str | None = None
    entropy_min: float | None = None
    context: ContextSpec | None = None
    negative: ContextSpec | None = None
    not_after: str | None = None  # RE2: a candidate right after text ending in a match of it is dropped
    min_count: int = 1
    allow_values: tuple[str, ...] = ()
    allow_patterns: tuple[str, ...] = ()
    allow_stopwords: tuple[str, ...] = ()
    words: tuple[str, ...] = ()  # word-list detectors: lower-case words/phrases
    words_file: str | None = None
    edm_file: str | None = None
    edm_hashes: frozenset[str] = frozenset()
    edm_key_id: str | None = None
    description: str = ""
    references: tuple[str, ...] = ()
    # examples: kind -> (texts, lines)
    examples: dict[str, tuple[tuple[str, ...], tuple[int, ...]]] = field(default_factory=dict, compare=False)
    source: str = ""  # "file:line", for messages

    def __repr__(self) -> str:
        return f"DetectorSpec(id={self.id!r}, category={self.category!r}, severity={self.severity!r})"


def _sub(record: LineDict, key: str, fields: dict[str, Field], problems: Problems, path: str, label: str):
    value = record.get(key)
    if value is None:
        return None
    if not isinstance(value, LineDict):
        return False  # check_fields already reported the type
    if not check_fields(value, fields, problems, path, f"{label} {key}"):
        return False
    return value


def _str_list(value: Any) -> tuple[str, ...]:
    return tuple(value) if isinstance(value, list) else ()


def parse_detector(
    record: LineDict,
    problems: Problems,
    path: str,
    label: str,
    rules_dir: Path,
    fingerprinter: Fingerprinter | None = None,
) -> DetectorSpec | None:
    """Check one record; None when it has problems (they are recorded)."""
    before = len(problems)

    def bad(key: str, message: str) -> None:
        problems.add(path, key_line(record, key), f"{label}: {message}")

    check_fields(record, FIELDS, problems, path, label)  # keep going: report every problem at once

    def val(key: str, default: Any = None) -> Any:
        value = record.get(key, default)
        return value if value is default or _kind_ok(FIELDS[key].kind, value) else default

    rid = val("id", "")
    if "id" not in record or not isinstance(rid, str):
        pass
    elif not ID_RE.match(rid) or "." in rid:
        bad("id", f"id '{rid}' must be kebab-case (lower-case letters, digits, '-')")
    elif not rid.startswith(ID_PREFIXES):
        bad("id", f"id '{rid}' must start with a family prefix: {', '.join(ID_PREFIXES)}")
    conf = val("confidence", 0.5)
    if not 0 <= conf <= 1:
        bad("confidence", f"confidence must be between 0 and 1, got {conf}")
    sources = [k for k in ("pattern", "words_file", "edm_file") if k in record]
    if len(sources) != 1:
        bad(sources[1] if len(sources) > 1 else "id",
            "exactly one of 'pattern', 'words_file', 'edm_file' is required"
            + (f" (found {', '.join(sources)})" if sources else ""))  # fmt: skip
    if "edm_file" in record and "edm_tokens" not in record:
        bad("edm_file", "'edm_file' needs 'edm_tokens' (an RE2 pattern for candidate tokens)")
    if "edm_tokens" in record and "edm_file" not in record:
        bad("edm_tokens", "'edm_tokens' is only used with 'edm_file'")
    keywords = _str_list(val("keywords"))
    for kw in keywords:
        if kw != kw.lower() or not kw.strip():
            bad("keywords", f"keyword '{kw}' must be lower-case and not blank")
        elif len(kw) < 2:
            bad("keywords", f"keyword '{kw}' is too short (at least 2 characters)")
    keywordless = val("keywordless", False)
    if "pattern" in record:
        if not keywords and not keywordless:
            bad("pattern", "a pattern detector needs 'keywords' (or 'keywordless: true' when no literal "
                "anchor exists)")  # fmt: skip
        if keywords and keywordless:
            bad("keywordless", "'keywordless: true' contradicts the 'keywords' given")
    pattern = val("pattern", val("edm_tokens"))
    pkey = "pattern" if "pattern" in record else "edm_tokens"
    if isinstance(pattern, str) and len(pattern) > MAX_PATTERN:
        bad(pkey, f"{pkey} is longer than {MAX_PATTERN} characters")
    elif isinstance(pattern, str):
        problem = _re2_problem(pattern, val("case_insensitive", False))
        if problem:
            bad(pkey, f"{pkey} is not valid RE2: {problem}")
    sg = val("secret_group", 0)
    if sg < 0:
        bad("secret_group", "secret_group must be >= 0")
    if val("entropy_min", 0) < 0 or val("entropy_min", 0) > 8:
        bad("entropy_min", "entropy_min must be between 0 and 8 bits per character")
    if val("min_count", 1) < 1:
        bad("min_count", "min_count must be >= 1")
    validator = val("validator")
    if validator is not None:
        registry = _validators()
        if registry is None:
            bad("validator", f"unknown validator '{validator}' (addons/validators.py is not available)")
        elif validator not in registry:
            import difflib

            close = difflib.get_close_matches(validator, list(registry), n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else f" (known: {', '.join(sorted(registry))})"
            bad("validator", f"unknown validator '{validator}'{hint}")
    context = _context(record, "context", CONTEXT_FIELDS, problems, path, label)
    negative = _context(record, "negative", NEGATIVE_FIELDS, problems, path, label)
    not_after = val("not_after")
    if isinstance(not_after, str):
        problem = _re2_problem(not_after)
        if problem:
            bad("not_after", f"not_after is not valid RE2: {problem}")
    allow = _sub(record, "allow", ALLOW_FIELDS, problems, path, label) or {}
    for p in _str_list(allow.get("patterns")):
        problem = _re2_problem(p)
        if problem:
            problems.add(path, key_line(allow, "patterns"), f"{label}: allow pattern is not valid RE2: {problem}")
    examples = _sub(record, "examples", EXAMPLE_FIELDS, problems, path, label)
    ex: dict[str, tuple[tuple[str, ...], tuple[int, ...]]] = {}
    if isinstance(examples, dict):
        for kind in ("match", "no_match", "evasions"):
            items = examples.get(kind)
            if isinstance(items, LineList):
                ex[kind] = (tuple(items), tuple(items.item_lines))
        for kind in ("match", "no_match"):
            if not ex.get(kind, ((),))[0]:
                problems.add(path, key_line(examples, kind) if kind in examples else key_line(record, "examples"),
                             f"{label}: examples need at least one '{kind}' entry")  # fmt: skip
    enabled = val("enabled", True)
    words: tuple[str, ...] = ()
    hashes: frozenset[str] = frozenset()
    edm_key: str | None = None
    if isinstance(val("words_file"), str):
        words = _read_words(rules_dir, val("words_file"), problems, path, key_line(record, "words_file"), label)
    if isinstance(val("edm_file"), str) and enabled:
        hashes, edm_key = _read_edm(rules_dir, val("edm_file"), problems, path, key_line(record, "edm_file"),
                                    label, fingerprinter)  # fmt: skip
    if len(problems) > before:
        return None
    return DetectorSpec(
        id=rid, name=val("name", ""), category=val("category", ""), severity=val("severity", ""),
        confidence=float(conf), enabled=enabled, keywords=tuple(dict.fromkeys(keywords)),
        keywordless=keywordless, generic=val("generic", False), pattern=pattern,
        case_insensitive=val("case_insensitive", False),
        secret_group=sg, validator=validator, entropy_min=val("entropy_min"),
        context=context, negative=negative, not_after=not_after, min_count=val("min_count", 1),
        allow_values=_str_list(allow.get("values")), allow_patterns=_str_list(allow.get("patterns")),
        allow_stopwords=tuple(w.lower() for w in _str_list(allow.get("stopwords"))),
        words=words, words_file=val("words_file"), edm_file=val("edm_file"),
        edm_hashes=hashes, edm_key_id=edm_key, description=val("description", ""),
        references=_str_list(val("references")), examples=ex, source=f"{path}:{record.line}",
    )  # fmt: skip


def _context(record, key, fields, problems, path, label) -> ContextSpec | None:
    value = _sub(record, key, fields, problems, path, label)
    if not value:
        return None
    line = key_line(value, "words")
    words = tuple(w.lower() for w in value["words"] if w.strip())
    if not words:
        problems.add(path, line, f"{label}: {key}.words must not be empty")
    window = value.get("window", 60 if key == "context" else 40)
    if not 1 <= window <= 1000:
        problems.add(path, key_line(value, "window"), f"{label}: {key}.window must be 1..1000 characters")
    boost = value.get("boost", 0.3)
    if not 0 <= boost <= 1:
        problems.add(path, key_line(value, "boost"), f"{label}: {key}.boost must be between 0 and 1")
    return ContextSpec(words, window, float(boost), value.get("required", False))


def _re2_problem(pattern: str, case_insensitive: bool = False) -> str | None:
    from addons.matchers import re2_compile

    try:
        re2_compile(pattern, case_insensitive)
    except ValueError as e:
        return str(e)
    return None


def _validators() -> dict | None:
    try:
        from addons import validators
    except ImportError:
        return None
    return getattr(validators, "REGISTRY", None)


def _resolve(rules_dir: Path, rel: str, problems: Problems, path: str, line: int, label: str) -> Path | None:
    if (rules_dir / "detectors").is_dir():  # given the rules root rather than rules/detectors
        rules_dir = rules_dir / "detectors"
    target = (rules_dir / rel).resolve()
    if Path(rel).is_absolute() or not target.is_relative_to(rules_dir.resolve()):
        problems.add(path, line, f"{label}: '{rel}' must be a path inside the detectors directory")
        return None
    if not target.is_file():
        problems.add(path, line, f"{label}: file '{rel}' not found (relative to {rules_dir})")
        return None
    if target.stat().st_size > MAX_WORD_FILE_BYTES:
        problems.add(path, line, f"{label}: '{rel}' is larger than {MAX_WORD_FILE_BYTES >> 20} MiB")
        return None
    return target


def _read_words(rules_dir: Path, rel: str, problems: Problems, path: str, line: int, label: str) -> tuple[str, ...]:
    target = _resolve(rules_dir, rel, problems, path, line, label)
    if target is None:
        return ()
    shown = f"{Path(path).parent.as_posix()}/{rel}"
    words: dict[str, None] = {}
    for n, raw in enumerate(target.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
        word = " ".join(raw.split("#", 1)[0].split()).lower()
        if not word:
            continue
        if len(word) < 3:
            problems.add(shown, n, f"{label}: word '{word}' is too short (at least 3 characters)")
            continue
        words[word] = None
    if not words:
        problems.add(path, line, f"{label}: word list '{rel}' holds no words")
    return tuple(words)


def _read_edm(rules_dir, rel, problems, path, line, label, fingerprinter) -> tuple[frozenset[str], str | None]:
    target = _resolve(rules_dir, rel, problems, path, line, label)
    if target is None:
        return frozenset(), None
    shown = f"{Path(path).parent.as_posix()}/{rel}"
    lines = target.read_text(encoding="utf-8", errors="replace").splitlines()
    head = EDM_HEADER_RE.match(lines[0]) if lines else None
    if head is None:
        problems.add(shown, 1, f"{label}: expected the header '# shadowgate-edm v1 key_id=<8 hex>' "
                     "(build the file with `shadowgate edm build`)")  # fmt: skip
        return frozenset(), None
    hashes = set()
    for n, raw in enumerate(lines[1:], 2):
        h = raw.strip()
        if h and not HEX64.match(h):
            problems.add(shown, n, f"{label}: expected one lower-case hex HMAC-SHA256 per line")
            return frozenset(), None
        if h:
            hashes.add(h)
    key_id = head.group(1)
    if fingerprinter is not None and fingerprinter.key_id != key_id:
        problems.add(shown, 1, f"{label}: EDM file was hashed with key {key_id}, but the fingerprint key is "
                     f"{fingerprinter.key_id}: rebuild it with `shadowgate edm build`")  # fmt: skip
    return frozenset(hashes), key_id
