"""ocsf.py: offline OCSF validation for tests (adapted from shared/reference/ocsf_validate.py).

The schema of each event is built from its class_uid, metadata.profiles and metadata.version with the
OCSF releases bundled in ocsf-json-schema, and checked with a JSON Schema 2020-12 validator.
"""

from __future__ import annotations

import json
from functools import cache

from jsonschema import Draft202012Validator
from ocsf_json_schema import OcsfJsonSchemaEmbedded
from ocsf_json_schema import get_ocsf_schema


@cache
def _validator(version: str, class_uid: int, profiles: tuple[str, ...]) -> Draft202012Validator:
    schema = OcsfJsonSchemaEmbedded(get_ocsf_schema(version=version))
    name = schema.lookup_class_name_from_uid(class_uid=class_uid)
    return Draft202012Validator(schema.get_class_schema(class_name=name, profiles=list(profiles)))


def problems(event: dict, version: str | None = None) -> list[str]:
    """Readable problems of one event; empty means valid."""
    meta = event.get("metadata", {})
    profiles = tuple(sorted(meta.get("profiles", [])))
    check = _validator(version or meta.get("version"), event["class_uid"], profiles)
    found = [f"{'/'.join(map(str, e.path)) or '<root>'}: {e.message}" for e in check.iter_errors(event)]
    if event.get("type_uid") != event["class_uid"] * 100 + event.get("activity_id", -1):
        found.append("type_uid is not class_uid*100 + activity_id")
    return found


def line_problems(line: bytes) -> list[str]:
    """Problems of one serialised JSONL line (framing, UTF-8, schema)."""
    found = [] if line.endswith(b"\n") else ["missing trailing newline"]
    if b"\n" in line[:-1]:
        found.append("newline inside the line")
    event = json.loads(line.decode("utf-8"))
    if next(iter(event)) != "time":
        found.append("time is not the first key")
    return found + problems(event)


def assert_valid(event_or_line: dict | bytes) -> dict:
    """Assert validity and return the event (parsed when given a line)."""
    if isinstance(event_or_line, bytes):
        found = line_problems(event_or_line)
        event = json.loads(event_or_line)
    else:
        event = event_or_line
        found = problems(event)
    assert not found, "\n".join(found)
    return event
