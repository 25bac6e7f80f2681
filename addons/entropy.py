"""entropy.py: Shannon entropy of a string, and the floor check the detectors, validators and log masking use.

Invariant: `at_least(text, floor) == (bits_per_char(text) >= floor)` for every text and floor; the bounds
only save the counting.
"""

from __future__ import annotations

import math

_TABLE = 4096  # texts up to this length use the tables below
_CLOG = [0.0] + [c * math.log2(c) for c in range(1, _TABLE + 1)]
_LOG2 = [0.0] + [math.log2(c) for c in range(1, _TABLE + 1)]
_TIE = 1e-9  # a bound this close to the floor decides nothing: the exact sum is computed


def bits_per_char(text: str) -> float:
    """Shannon entropy of the text's characters, in bits per character."""
    n = len(text)
    if not n:
        return 0.0
    if n > _TABLE:
        return -sum(c / n * math.log2(c / n) for c in map(text.count, set(text)))
    return _LOG2[n] - sum(map(_CLOG.__getitem__, map(text.count, set(text)))) / n


def at_least(text: str, floor: float) -> bool:
    """Whether `bits_per_char(text) >= floor`, mostly without counting characters.

    With n characters of which d are distinct, the entropy lies between log2 d and that of one
    character taking all the repeats, log2 n - (n-d+1)·log2(n-d+1)/n. Counting costs a pass over the
    text per distinct character; most secrets are long and varied and settle on the lower bound."""
    n = len(text)
    if not n or n > _TABLE:
        return bits_per_char(text) >= floor
    d = len(set(text))
    if _LOG2[d] < floor - _TIE:
        return False
    if _LOG2[n] - _CLOG[n - d + 1] / n >= floor + _TIE:
        return True
    return bits_per_char(text) >= floor
