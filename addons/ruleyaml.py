"""ruleyaml.py: strict YAML reading and field checking for every rule kind, with file:line problems.

Invariant: nothing here raises on bad input except `Problems.raise_if_any`; every problem is
collected as `file:line: message` so the security team sees all of them at once.
"""

from __future__ import annotations

import difflib
import random
import re
import string
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

MAX_PROBLEMS_SHOWN = 40


class RuleError(Exception):
    """Rules that cannot be loaded; `problems` holds one `file:line: message` per problem."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        shown = problems[:MAX_PROBLEMS_SHOWN]
        more = len(problems) - len(shown)
        text = "\n".join(shown) + (f"\n… and {more} more problems" if more > 0 else "")
        super().__init__(text)


class Problems:
    """Collects problems across files; raise once at the end."""

    def __init__(self) -> None:
        self.items: list[str] = []

    def add(self, path: Path | str, line: int, message: str) -> None:
        self.items.append(f"{path}:{line}: {message}")

    def __bool__(self) -> bool:
        return bool(self.items)

    def __len__(self) -> int:
        return len(self.items)

    def raise_if_any(self) -> None:
        if self.items:
            raise RuleError(list(self.items))


class LineDict(dict):
    """A mapping that remembers the line of itself and of each key."""

    line: int = 0
    key_lines: dict[str, int]


class LineList(list):
    """A sequence that remembers its line and each item's line."""

    line: int = 0
    item_lines: list[int]


_BaseLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when present: ~10x faster


class _StrictLoader(_BaseLoader):  # type: ignore[misc, valid-type]
    """SafeLoader that records lines and reports duplicate keys instead of silently keeping the last."""

    def __init__(self, stream: str, path: Path, problems: Problems):
        super().__init__(stream)
        self.sg_path = path
        self.sg_problems = problems


def _construct_mapping(loader: _StrictLoader, node: yaml.MappingNode) -> LineDict:
    loader.flatten_mapping(node)
    result = LineDict()
    result.line = node.start_mark.line + 1
    result.key_lines = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if not isinstance(key, str):
            # YAML 1.1 turns `no:`/`yes:`/`on:` keys into booleans and `1:` into ints.
            loader.sg_problems.add(
                loader.sg_path,
                key_node.start_mark.line + 1,
                f"key {key!r} is not a string (quote it: YAML reads unquoted yes/no/on/off as booleans)",
            )
            key = str(key)
        line = key_node.start_mark.line + 1
        if key in result:
            loader.sg_problems.add(
                loader.sg_path,
                line,
                f"duplicate key '{key}' (first at line {result.key_lines[key]})",
            )
            continue
        result[key] = loader.construct_object(value_node, deep=True)
        result.key_lines[key] = line
    return result


def _construct_sequence(loader: _StrictLoader, node: yaml.SequenceNode) -> LineList:
    result = LineList(loader.construct_object(child, deep=True) for child in node.value)
    result.line = node.start_mark.line + 1
    result.item_lines = [child.start_mark.line + 1 for child in node.value]
    return result


def _construct_timestamp(loader: _StrictLoader, node: yaml.ScalarNode) -> Any:
    try:
        return yaml.SafeLoader.construct_yaml_timestamp(loader, node)
    except ValueError as e:  # e.g. 2025-11-52: report it where it is instead of crashing the loader
        loader.sg_problems.add(
            loader.sg_path, node.start_mark.line + 1, f"'{node.value}' is not a valid date ({e}); quote it"
        )
        return node.value


_StrictLoader.add_constructor("tag:yaml.org,2002:timestamp", _construct_timestamp)
_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _construct_sequence)


def read_yaml(path: Path, problems: Problems, display: str | None = None) -> Any:
    """Parse one YAML file strictly; returns None (and records a problem) when it cannot be read."""
    shown = display or str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        problems.add(shown, 1, f"cannot read file: {e}")
        return None
    loader = _StrictLoader(text, Path(shown), problems)
    try:
        return loader.get_single_data()
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        line = mark.line + 1 if mark else 1
        problems.add(shown, line, f"YAML syntax error: {e.problem or e}")
        return None
    except yaml.YAMLError as e:
        problems.add(shown, 1, f"YAML error: {e}")
        return None
    except (ValueError, TypeError, OverflowError) as e:  # e.g. an impossible date such as 2025-11-52
        line = loader.line + 1 if hasattr(loader, "line") else 1
        problems.add(shown, line, f"invalid value: {e} (quote it if it is meant as text)")
        return None
    finally:
        loader.dispose()


@dataclass(frozen=True, slots=True)
class RuleFile:
    """One rule file: its list of records, each a LineDict with `.line`."""

    path: str  # as shown in problems
    records: list[LineDict]
    top: LineDict


def read_rule_files(directory: Path, list_key: str, problems: Problems, shown_root: str) -> list[RuleFile]:
    """Read every *.yaml/*.yml under `directory` that must hold `schema: 1` and `list_key:`."""
    files: list[RuleFile] = []
    if not directory.is_dir():
        return files
    for path in sorted([*directory.rglob("*.yaml"), *directory.rglob("*.yml")]):
        shown = f"{shown_root}/{path.relative_to(directory).as_posix()}"
        before = len(problems)
        data = read_yaml(path, problems, shown)
        if data is None:
            if len(problems) == before:
                problems.add(shown, 1, f"file is empty: expected 'schema: 1' and '{list_key}:'")
            continue
        if not isinstance(data, LineDict):
            problems.add(shown, 1, f"expected a mapping with 'schema: 1' and '{list_key}:'")
            continue
        if data.get("schema") != 1:
            problems.add(shown, data.key_lines.get("schema", 1), "'schema: 1' is required at the top")
        records = data.get(list_key)
        if records is None:
            problems.add(shown, data.line, f"missing list key '{list_key}:'")
            records = LineList()
        elif not isinstance(records, list):
            problems.add(shown, data.key_lines[list_key], f"'{list_key}' must be a list")
            records = LineList()
        good: list[LineDict] = []
        for index, record in enumerate(records):
            line = records.item_lines[index] if isinstance(records, LineList) else data.line
            if not isinstance(record, LineDict):
                problems.add(shown, line, f"{list_key}[{index}] must be a mapping")
                continue
            good.append(record)
        files.append(RuleFile(shown, good, data))
    return files


# ---------------------------------------------------------------------------------------------
# Field checking


@dataclass(frozen=True, slots=True)
class Field:
    """Expected type of one record field. kind: str int number bool str_list list map any."""

    kind: str
    required: bool = False
    choices: tuple[str, ...] | None = None


_KIND_NAMES = {
    "str": "a string",
    "int": "an integer",
    "number": "a number",
    "bool": "true or false",
    "str_list": "a list of strings",
    "list": "a list",
    "map": "a mapping",
}


def _kind_ok(kind: str, value: Any) -> bool:
    match kind:
        case "str":
            return isinstance(value, str)
        case "int":
            return isinstance(value, int) and not isinstance(value, bool)
        case "number":
            return isinstance(value, int | float) and not isinstance(value, bool)
        case "bool":
            return isinstance(value, bool)
        case "str_list":
            return isinstance(value, list) and all(isinstance(v, str) for v in value)
        case "list":
            return isinstance(value, list)
        case "map":
            return isinstance(value, dict)
        case _:
            return True


def _describe(value: Any) -> str:
    if isinstance(value, list):
        odd = [v for v in value if not isinstance(v, str)]
        return f"a list containing {yaml.safe_dump(odd[0]).splitlines()[0]}" if odd else "a list"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if value is None:
        return "nothing (empty value)"
    return f"{type(value).__name__} {value!r}"


def _bool_hint(kind: str, value: Any) -> str:
    if kind in ("str", "str_list") and (
        isinstance(value, bool) or (isinstance(value, list) and any(isinstance(v, bool) for v in value))
    ):
        return " (YAML reads unquoted yes/no/on/off/true/false as booleans: quote the value)"
    if kind in ("str", "str_list") and (
        isinstance(value, int | float) or (isinstance(value, list) and any(isinstance(v, int | float) for v in value))
    ):
        return " (quote numbers that are meant as text)"
    return ""


def check_fields(
    record: LineDict,
    fields: dict[str, Field],
    problems: Problems,
    path: str,
    label: str,
) -> bool:
    """Check one record's fields; record problems; return True when it is usable."""
    ok = True
    for key, value in record.items():
        line = record.key_lines.get(key, record.line)
        spec = fields.get(key)
        if spec is None:
            close = difflib.get_close_matches(key, list(fields), n=1, cutoff=0.6)
            hint = f" (did you mean '{close[0]}'?)" if close else f" (known fields: {', '.join(sorted(fields))})"
            problems.add(path, line, f"{label}: unknown field '{key}'{hint}")
            ok = False
            continue
        if not _kind_ok(spec.kind, value):
            problems.add(
                path,
                line,
                f"{label}: field '{key}' must be {_KIND_NAMES.get(spec.kind, spec.kind)}, "
                f"got {_describe(value)}{_bool_hint(spec.kind, value)}",
            )
            ok = False
            continue
        if spec.choices is not None:
            values = value if isinstance(value, list) else [value]
            for v in values:
                if v not in spec.choices:
                    close = difflib.get_close_matches(str(v), list(spec.choices), n=1, cutoff=0.6)
                    hint = f" (did you mean '{close[0]}'?)" if close else ""
                    problems.add(
                        path,
                        line,
                        f"{label}: field '{key}' has '{v}', expected one of: {', '.join(spec.choices)}{hint}",
                    )
                    ok = False
    for key, spec in fields.items():
        if spec.required and key not in record:
            problems.add(path, record.line, f"{label}: missing required field '{key}'")
            ok = False
    return ok


def record_label(kind: str, index: int, record: LineDict) -> str:
    rid = record.get("id")
    return f"{kind}[{index}] '{rid}'" if isinstance(rid, str) else f"{kind}[{index}]"


def key_line(record: LineDict, key: str) -> int:
    return record.key_lines.get(key, record.line)


def items_with_lines(mapping: LineDict, key: str) -> list[tuple[Any, int]]:
    """(item, line) for each item of the list under `key` (the key's line when items have none)."""
    value = mapping.get(key) or []
    return list(zip(value, getattr(value, "item_lines", [key_line(mapping, key)] * len(value)), strict=True))


def check_unique_ids(
    entries: Iterable[tuple[str, int, str]], problems: Problems, what: str
) -> None:
    """entries: (id, line, path). Report every id seen twice."""
    seen: dict[str, tuple[str, int]] = {}
    for rid, line, path in entries:
        if rid in seen:
            first_path, first_line = seen[rid]
            problems.add(path, line, f"duplicate {what} id '{rid}' (first at {first_path}:{first_line})")
        else:
            seen[rid] = (path, line)


ID_RE = re.compile(r"^[a-z0-9]+(?:[-.][a-z0-9]+)*$")


# ---------------------------------------------------------------------------------------------
# Fake values for rule examples: `${gen:CHARS:N}` expands to N random characters from CHARS
# (a character-class body such as `A-Z2-7` or `a-f0-9`), so rule files never hold a real-looking
# secret that would trip a secret scanner. Seeded: the same file always expands the same way.

_GEN_RE = re.compile(r"\$\{gen:([^:}]+):(\d{1,4})(?::([^}]{1,4}))?\}")


def _expand_class(spec: str) -> str:
    chars: list[str] = []
    i = 0
    while i < len(spec):
        if i + 2 < len(spec) and spec[i + 1] == "-":
            chars.extend(chr(c) for c in range(ord(spec[i]), ord(spec[i + 2]) + 1))
            i += 3
        else:
            chars.append(spec[i])
            i += 1
    return "".join(dict.fromkeys(chars)) or string.ascii_letters


def expand_fakes(text: str, seed: str) -> str:
    """Replace every `${gen:CHARS:N}` in `text` with seeded random characters (`${gen:CHARS:N:SEP}`: with
    SEP between them, e.g. a space for a spaced-out evasion)."""
    if "${gen:" not in text:
        return text
    rng = random.Random(seed)

    def one(m: re.Match[str]) -> str:
        alphabet = _expand_class(m.group(1))
        return (m.group(3) or "").join(rng.choice(alphabet) for _ in range(int(m.group(2))))

    return _GEN_RE.sub(one, text)
