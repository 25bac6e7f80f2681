"""eventlog.py: the durable JSONL writer behind the audit log.

Invariant: only whole lines reach the file (one writer thread, O_APPEND, a line never split across
files); rotation renames and reopens, never truncates; `write` never blocks the event loop (a full
queue counts a drop instead); a crash loses at most the lines of the last flush interval.
"""

from __future__ import annotations

import os
import queue
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

from addons.events import to_line

_fdatasync = getattr(os, "fdatasync", os.fsync)


class _Barrier:
    """A queue marker: the writer sets `done` once everything before it is written and synced."""

    def __init__(self, close: bool = False) -> None:
        self.close = close
        self.done = threading.Event()


class EventLog:
    """Append OCSF lines to `path`, rotating to path.1 … path.<backups> at `max_bytes`."""

    def __init__(self, path: str | os.PathLike[str], *, max_bytes: int = 256 * 1024 * 1024, backups: int = 10,
                 flush_interval: float = 0.5, queue_size: int = 65536,
                 on_drops: Callable[[int], dict] | None = None) -> None:  # fmt: skip
        """`on_drops(n)` builds the event written once there is room again after `n` lines were dropped."""
        if max_bytes <= 0 or backups < 0 or flush_interval <= 0:
            raise ValueError("max_bytes and flush_interval must be positive, backups not negative")
        self.path = Path(path)
        self.max_bytes, self.backups, self.flush_interval = max_bytes, backups, flush_interval
        self.written = 0  # lines written
        self.errors = 0  # lines lost to encoding or I/O errors
        self._dropped = 0
        self._unreported = 0  # drops not yet announced with an on_drops event
        self.on_drops = on_drops
        self._lock = threading.Lock()
        self._closed = False
        self._queue: queue.Queue[bytes | _Barrier] = queue.Queue(queue_size)
        if not self.path.parent.exists():
            self.path.parent.mkdir(mode=0o750, parents=True, exist_ok=True)
            os.chmod(self.path.parent, 0o750)
        self._fd, self._size, self._ident = self._open()
        self._thread = threading.Thread(target=self._run, name="sg-eventlog", daemon=True)
        self._thread.start()

    @property
    def dropped(self) -> int:
        """Lines dropped because the queue was full or the log closed."""
        return self._dropped

    def write(self, event: dict) -> None:
        """Encode and enqueue one event; never blocks (drops and counts when full) and never raises."""
        try:
            line = to_line(event)
        except (TypeError, ValueError) as exc:  # an unserialisable event is a bug: count it, keep proxying
            with self._lock:
                self.errors += 1
            print(f"shadowgate: event not logged ({exc})", file=sys.stderr)
            return
        self.write_line(line)

    def write_line(self, line: bytes) -> None:
        if self._closed:
            self._count_drop()
            return
        try:
            self._queue.put_nowait(line)
        except queue.Full:
            self._count_drop()
            return
        if self._unreported and self.on_drops is not None:
            self._report_drops()

    def _report_drops(self) -> None:
        with self._lock:
            count, self._unreported = self._unreported, 0
        if not count:
            return
        try:
            self._queue.put_nowait(to_line(self.on_drops(count)))  # type: ignore[misc]
        except queue.Full:  # still no room: announce them with the next line
            with self._lock:
                self._unreported += count
        except (TypeError, ValueError):
            with self._lock:
                self.errors += 1

    def flush(self, timeout: float | None = None) -> bool:
        """Block until every line queued before this call is written and synced."""
        if self._closed:
            return not self._thread.is_alive()
        return self._barrier(_Barrier(), timeout)

    def close(self, timeout: float | None = None) -> None:
        """Write what is queued, sync, close the file and stop the writer thread. Idempotent."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        if self._thread.is_alive():
            self._barrier(_Barrier(close=True), timeout)
            self._thread.join(timeout)

    def _barrier(self, marker: _Barrier, timeout: float | None) -> bool:
        self._queue.put(marker, timeout=timeout)  # may wait for room: flush/close are allowed to block
        return marker.done.wait(timeout)

    def _count_drop(self) -> None:
        with self._lock:
            self._dropped += 1
            self._unreported += 1

    # ------------------------------------------------------------ writer thread only

    def _open(self) -> tuple[int, int, tuple[int, int]]:
        created = not self.path.exists()
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o640)
        if created:
            os.fchmod(fd, 0o640)
        st = os.fstat(fd)
        size = st.st_size
        if size and not self._ends_with_newline():
            self._write_all(fd, b"\n")  # isolate a line cut short by a crash or a full disk
            size += 1
        return fd, size, (st.st_dev, st.st_ino)

    def _ends_with_newline(self) -> bool:
        with open(self.path, "rb") as fh:
            fh.seek(-1, os.SEEK_END)
            return fh.read(1) == b"\n"

    @staticmethod
    def _write_all(fd: int, data: bytes) -> None:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]

    def _reopen_if_moved(self) -> None:
        """Reopen after a failure or an external rename (logrotate without copytruncate)."""
        try:
            st = os.stat(self.path)
            if self._fd >= 0 and (st.st_dev, st.st_ino) == self._ident:
                return
        except FileNotFoundError:
            pass
        self._sync_close()
        self._fd, self._size, self._ident = self._open()

    def _sync_close(self) -> None:
        fd, self._fd = self._fd, -1
        if fd >= 0:
            try:
                _fdatasync(fd)
            finally:
                os.close(fd)

    def _rotate(self) -> None:
        self._sync_close()
        if self.backups == 0:
            self.path.unlink(missing_ok=True)
        else:
            for i in range(self.backups - 1, 0, -1):
                older = self.path.with_name(f"{self.path.name}.{i}")
                if older.exists():
                    os.replace(older, self.path.with_name(f"{self.path.name}.{i + 1}"))
            os.replace(self.path, self.path.with_name(f"{self.path.name}.1"))
        self._fd, self._size, self._ident = self._open()

    def _emit(self, batch: list[bytes]) -> None:
        """Write a batch of whole lines, rotating before a line that would cross max_bytes."""
        self._reopen_if_moved()
        chunk: list[bytes] = []
        pending = 0
        for line in batch:
            if self._size + pending + len(line) > self.max_bytes and self._size + pending > 0:
                if chunk:
                    self._write_all(self._fd, b"".join(chunk))
                    self._size, pending, chunk = self._size + pending, 0, []
                self._rotate()
            chunk.append(line)
            pending += len(line)
        if chunk:
            self._write_all(self._fd, b"".join(chunk))
            self._size += pending
        self.written += len(batch)

    def _run(self) -> None:
        dirty, next_sync = False, time.monotonic() + self.flush_interval
        while True:
            try:
                item = self._queue.get(timeout=max(0.0, next_sync - time.monotonic()) if dirty else None)
            except queue.Empty:
                item = None
            batch: list[bytes] = []
            markers: list[_Barrier] = []
            while item is not None:
                if isinstance(item, _Barrier):
                    markers.append(item)
                    break  # lines queued after a barrier wait for the next round
                batch.append(item)
                if len(batch) >= 1024:
                    break
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    item = None
            if batch:
                try:
                    self._emit(batch)
                    dirty = True
                except Exception as exc:  # the writer thread must outlive any error
                    with self._lock:
                        self.errors += len(batch)
                    print(f"shadowgate: event log write failed ({exc}); {len(batch)} line(s) lost",
                          file=sys.stderr)
            if dirty and (markers or time.monotonic() >= next_sync):
                try:
                    _fdatasync(self._fd)
                except Exception as exc:
                    print(f"shadowgate: event log sync failed ({exc})", file=sys.stderr)
                dirty, next_sync = False, time.monotonic() + self.flush_interval
            for marker in markers:
                if marker.close:
                    try:
                        self._sync_close()
                    finally:
                        marker.done.set()
                    return
                marker.done.set()
