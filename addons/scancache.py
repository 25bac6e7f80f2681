"""scancache.py: what a scanner found in a segment it has scanned before (chat APIs resend the history).

Invariants: a segment's hits depend only on its text, whether it is a joined segment, the scanner
(one cache per Scanner: new rules, new cache) and the fingerprint key, so reusing them gives the
findings a full rescan gives; the cache never holds a matched value, only its keyed fingerprint and
masked preview (hits are sealed before they are stored); keys are keyed BLAKE2b digests; bounded in
entries and in hits held, least recently used out first; safe to share between threads.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
from collections import OrderedDict
from dataclasses import replace

from addons.findings import Hit
from addons.findings import mask
from addons.fingerprint import Fingerprinter
from addons.model import Segment

MIN_CHARS = 512  # shorter segments are rescanned: cheap, and their digests would stand for short values
MAX_ENTRIES = 8192
MAX_HITS = 100_000  # hits held in all (a few hundred bytes each): large finding-dense segments evict early


def seal(hit: Hit, fp: Fingerprinter) -> Hit:
    """The hit without its value: keyed by its fingerprint (the value's identity within a request), with
    the masked preview made now."""
    fingerprint = hit.fingerprint or fp.of_canonical(hit.canon)
    preview = mask(hit.value, hit.canon)
    return replace(hit, value="", canon="", key=fingerprint, fingerprint=fingerprint, preview=preview)


class SegmentCache:
    """Sealed hits per segment digest."""

    def __init__(self, max_entries: int = MAX_ENTRIES, max_hits: int = MAX_HITS) -> None:
        self._entries: OrderedDict[bytes, tuple[Hit, ...]] = OrderedDict()
        self._lock = threading.Lock()
        self._salt = secrets.token_bytes(32)
        self.max_entries, self.max_hits = max_entries, max_hits
        self.held = 0  # hits held in all entries
        self.hits = self.misses = 0

    def key(self, segment: Segment, key_id: str) -> bytes | None:
        """The cache key of a segment, or None when it is not worth caching."""
        if len(segment.text) < MIN_CHARS:
            return None
        digest = hashlib.blake2b(digest_size=20, key=self._salt, person=b"joined" if segment.joined else b"leaf")
        kid = key_id.encode()
        digest.update(len(kid).to_bytes(4, "big") + kid)
        digest.update(segment.text.encode("utf-8", "surrogatepass"))
        return digest.digest()

    def get(self, key: bytes) -> tuple[Hit, ...] | None:
        with self._lock:
            found = self._entries.get(key)
            if found is None:
                self.misses += 1
                return None
            self._entries.move_to_end(key)
            self.hits += 1
            return found

    def put(self, key: bytes, hits: tuple[Hit, ...]) -> None:
        if len(hits) > self.max_hits:
            return
        with self._lock:
            old = self._entries.pop(key, None)
            self.held += len(hits) - (len(old) if old is not None else 0)
            self._entries[key] = hits
            while len(self._entries) > self.max_entries or self.held > self.max_hits:
                _, dropped = self._entries.popitem(last=False)
                self.held -= len(dropped)

    def __len__(self) -> int:
        return len(self._entries)


def rebase(hits: tuple[Hit, ...], n: int, segment: Segment) -> list[Hit]:
    """Cached hits placed at segment index `n` of the current request."""
    return [replace(h, seg=n, where=segment.where, joined=segment.joined) for h in hits]
