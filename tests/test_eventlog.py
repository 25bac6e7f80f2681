"""Tests for addons/eventlog.py: whole lines, rename rotation, permissions, repair, flush/close, drops."""

from __future__ import annotations

import json
import os
import stat
import threading

import pytest

from addons.eventlog import EventLog
from addons.events import config_event
from addons.events import dropped_events
from tests.ocsf import line_problems


def ev(i: int, pad: int = 0) -> dict:
    return {"time": 1795428902123 + i, "metadata": {"uid": f"id-{i:06d}"}, "n": i, "pad": "x" * pad}


def read_lines(path) -> list[bytes]:
    data = path.read_bytes()
    assert data == b"" or data.endswith(b"\n")
    return data.splitlines(keepends=True)


def all_files(path) -> list:
    """The active file and its backups, oldest first."""
    backups = sorted(path.parent.glob(path.name + ".*"), key=lambda p: -int(p.suffix[1:]))
    return backups + ([path] if path.exists() else [])


def test_writes_whole_lines_and_flushes(tmp_path):
    log = EventLog(tmp_path / "events.jsonl", flush_interval=10)
    for i in range(100):
        log.write(ev(i))
    assert log.flush(timeout=5)
    lines = read_lines(tmp_path / "events.jsonl")
    assert [json.loads(x)["n"] for x in lines] == list(range(100))
    assert log.written == 100 and log.dropped == 0
    log.close()


def test_concurrent_writers_never_interleave(tmp_path):
    path = tmp_path / "events.jsonl"
    log = EventLog(path, flush_interval=0.05)
    threads = [
        threading.Thread(target=lambda t=t: [log.write(ev(t * 10000 + i, pad=3000)) for i in range(500)])
        for t in range(8)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    log.close()
    lines = read_lines(path)
    assert len(lines) == 4000 - log.dropped and log.dropped == 0
    seen = {json.loads(x)["n"] for x in lines}  # every line parses: nothing interleaved
    assert len(seen) == 4000


def test_rotation_by_rename_keeps_every_line_once(tmp_path):
    path = tmp_path / "events.jsonl"
    log = EventLog(path, max_bytes=20_000, backups=50, flush_interval=0.05)
    for i in range(1000):
        log.write(ev(i, pad=100))
    log.close()
    files = all_files(path)
    assert len(files) > 5
    ns = [json.loads(x)["n"] for f in files for x in read_lines(f)]
    assert ns == list(range(1000))  # concatenation oldest→newest is every line exactly once, in order
    for f in files:
        assert f.stat().st_size <= 20_000
        assert stat.S_IMODE(f.stat().st_mode) == 0o640


def test_rotation_drops_oldest_beyond_backups(tmp_path):
    path = tmp_path / "events.jsonl"
    log = EventLog(path, max_bytes=2_000, backups=3, flush_interval=0.05)
    for i in range(500):
        log.write(ev(i, pad=100))
    log.close()
    files = all_files(path)
    assert [f.name for f in files] == ["events.jsonl.3", "events.jsonl.2", "events.jsonl.1", "events.jsonl"]
    ns = [json.loads(x)["n"] for f in files for x in read_lines(f)]
    assert ns == list(range(ns[0], 500))  # the newest lines, contiguous, none twice


def test_backups_zero_starts_fresh(tmp_path):
    path = tmp_path / "events.jsonl"
    log = EventLog(path, max_bytes=1_000, backups=0)
    for i in range(50):
        log.write(ev(i, pad=100))
    log.close()
    assert all_files(path) == [path]
    assert json.loads(read_lines(path)[-1])["n"] == 49


def test_oversized_line_gets_its_own_file(tmp_path):
    path = tmp_path / "events.jsonl"
    log = EventLog(path, max_bytes=500, backups=5)
    log.write_line(b"a" * 100 + b"\n")
    log.write_line(b"b" * 900 + b"\n")
    log.write_line(b"c" * 100 + b"\n")
    log.close()
    assert [f.read_bytes()[:1] for f in all_files(path)] == [b"a", b"b", b"c"]


def test_permissions_and_directory(tmp_path):
    old = os.umask(0o022)
    try:
        path = tmp_path / "new" / "dir" / "events.jsonl"
        log = EventLog(path)
        log.write(ev(1))
        log.close()
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o750


def test_repairs_missing_trailing_newline(tmp_path):
    path = tmp_path / "events.jsonl"
    path.write_bytes(b'{"time":1,"ok":true}\n{"time":2,"cut sho')
    log = EventLog(path)
    log.write(ev(3))
    log.close()
    lines = read_lines(path)
    assert lines[1] == b'{"time":2,"cut sho\n'
    assert json.loads(lines[2])["n"] == 3


def test_appends_to_existing_file(tmp_path):
    path = tmp_path / "events.jsonl"
    path.write_bytes(b'{"time":0}\n')
    log = EventLog(path)
    log.write(ev(1))
    log.close()
    assert len(read_lines(path)) == 2


def test_flush_syncs_before_returning(tmp_path, monkeypatch):
    import addons.eventlog as mod

    synced = []
    real = mod._fdatasync
    monkeypatch.setattr(mod, "_fdatasync", lambda fd: (synced.append(fd), real(fd)))
    log = EventLog(tmp_path / "e.jsonl", flush_interval=60)
    log.write(ev(1))
    assert log.flush(timeout=5)
    assert synced and len(read_lines(tmp_path / "e.jsonl")) == 1
    log.close()


def test_timer_syncs_without_flush(tmp_path, monkeypatch):
    import addons.eventlog as mod

    synced = threading.Event()
    real = mod._fdatasync
    monkeypatch.setattr(mod, "_fdatasync", lambda fd: (synced.set(), real(fd)))
    log = EventLog(tmp_path / "e.jsonl", flush_interval=0.05)
    log.write(ev(1))
    assert synced.wait(5)
    log.close()


def test_close_is_idempotent_and_later_writes_count_as_drops(tmp_path):
    log = EventLog(tmp_path / "e.jsonl")
    log.write(ev(1))
    log.close()
    log.close()
    log.write(ev(2))
    assert log.dropped == 1 and log.flush(timeout=1)
    assert len(read_lines(tmp_path / "e.jsonl")) == 1


def overfill_while_stalled(log: EventLog, monkeypatch) -> threading.Event:
    """Stall the writer on ev(0), then write ev(1..10) to a queue of 4: 6 are dropped. Set the returned
    gate to let the writer go on."""
    gate, entered = threading.Event(), threading.Event()
    real_emit = log._emit

    def slow_emit(batch):
        entered.set()
        gate.wait(10)
        real_emit(batch)

    monkeypatch.setattr(log, "_emit", slow_emit)
    log.write(ev(0))  # picked up by the writer, which then waits on the gate
    assert entered.wait(5)
    for i in range(1, 11):
        log.write(ev(i))  # 4 fit in the queue, 6 are dropped at once
    return gate


def test_full_queue_drops_and_counts_without_blocking(tmp_path, monkeypatch):
    log = EventLog(tmp_path / "e.jsonl", queue_size=4)
    gate = overfill_while_stalled(log, monkeypatch)
    assert log.dropped == 6
    gate.set()
    log.close()
    assert len(read_lines(tmp_path / "e.jsonl")) == 5


def test_drops_are_announced_with_a_6008_line_once_there_is_room(tmp_path, monkeypatch):
    log = EventLog(tmp_path / "e.jsonl", queue_size=4, on_drops=dropped_events)
    gate = overfill_while_stalled(log, monkeypatch)  # no room for the announcement either
    gate.set()
    assert log.flush(timeout=5)
    log.write(ev(11))  # room again: the line, then the announcement of the 6
    log.close()
    lines = read_lines(tmp_path / "e.jsonl")
    assert [json.loads(x).get("n") for x in lines[:6]] == [0, 1, 2, 3, 4, 11]
    health = lines[6]
    assert line_problems(health) == []
    event = json.loads(health)
    assert (event["class_uid"], event["status_code"]) == (6008, "E_EVENTS_DROPPED")
    assert event["unmapped"]["shadowgate"]["error"]["dropped_events"] == 6 == log.dropped
    assert len(lines) == 7


def test_follows_external_rename(tmp_path):
    path = tmp_path / "events.jsonl"
    log = EventLog(path)
    log.write(ev(1))
    log.flush(timeout=5)
    os.rename(path, tmp_path / "events.jsonl.rotated")  # logrotate without copytruncate
    log.write(ev(2))
    log.close()
    assert [json.loads(x)["n"] for x in read_lines(path)] == [2]
    assert [json.loads(x)["n"] for x in read_lines(tmp_path / "events.jsonl.rotated")] == [1]


def test_written_lines_are_valid_ocsf(tmp_path):
    path = tmp_path / "events.jsonl"
    log = EventLog(path)
    log.write(config_event(ok=False, rules_dir="rules", problems=["x:1: bad"], counts={}, activity="reload"))
    log.close()
    (line,) = read_lines(path)
    assert line_problems(line) == []


def test_unencodable_event_is_counted_not_raised(tmp_path, capsys):
    log = EventLog(tmp_path / "e.jsonl")
    log.write({"time": 1, "x": float("nan")})
    log.write({"time": 2, "x": object()})
    log.close()
    assert log.errors == 2 and read_lines(tmp_path / "e.jsonl") == []
    assert "event not logged" in capsys.readouterr().err


def test_rejects_bad_settings(tmp_path):
    with pytest.raises(ValueError):
        EventLog(tmp_path / "e.jsonl", max_bytes=0)
