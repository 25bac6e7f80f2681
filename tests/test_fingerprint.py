import stat

import pytest

from addons.fingerprint import Fingerprinter
from addons.fingerprint import canonical
from addons.fingerprint import key_id_of
from addons.fingerprint import load_or_create_key

KEY = bytes(range(32))


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("4111 1111 1111 1111", "4111111111111111"),
        ("4111-1111-1111-1111", "4111111111111111"),
        ("４１１１\u200b１１１１１１１１１１１１", "4111111111111111"),
        ("AKIAABCDEFGHIJKLMNOP", "AKIAABCDEFGHIJKLMNOP"),
        ("Ab Cd", "AbCd"),
        ("12-34", "12-34"),  # short digit strings keep their separators
    ],
)
def test_canonical(value, expected):
    assert canonical(value) == expected


def test_fingerprint_is_keyed_hmac_over_canonical_value():
    fp = Fingerprinter(KEY)
    assert fp.fingerprint("4111 1111 1111 1111") == fp.fingerprint("4111111111111111")
    assert len(fp.fingerprint("x")) == 64
    assert Fingerprinter(bytes(32)).fingerprint("x") != fp.fingerprint("x")
    assert fp.key_id == key_id_of(KEY) and len(fp.key_id) == 8
    assert "key" not in repr(fp).replace("key_id", "")


def test_folded_variant_ignores_case():
    fp = Fingerprinter(KEY)
    assert fp.fingerprint_folded("CUS-1") == fp.fingerprint_folded("cus-1")
    assert fp.fingerprint("CUS-1") != fp.fingerprint("cus-1")


def test_short_key_rejected():
    with pytest.raises(ValueError):
        Fingerprinter(b"short")


def test_load_or_create_key(tmp_path):
    path = tmp_path / "sub" / "fp.key"
    first = load_or_create_key(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    again = load_or_create_key(path)
    assert first.key_id == again.key_id
    assert first.fingerprint("v") == again.fingerprint("v")
    raw = tmp_path / "raw.key"
    raw.write_bytes(KEY)
    assert load_or_create_key(raw).key_id == key_id_of(KEY)
