import base64

import pytest

from addons.decode import decoded_views

SECRET = "4111 1111 1111 1111"


def names(text):
    return {v.name: v for v in decoded_views(text)}


@pytest.mark.parametrize(
    ("encoded", "name"),
    [
        (base64.b64encode(SECRET.encode()).decode(), "decoded:base64"),
        (base64.urlsafe_b64encode(b"AKIA??>>ABCDEFGHIJKLMNOP").decode().rstrip("="), "decoded:base64"),
        (SECRET.encode().hex(), "decoded:hex"),
        ("".join(f"\\x{b:02x}" for b in SECRET.encode()), "decoded:hex"),
        ("".join(f"%{b:02X}" for b in SECRET.encode()), "decoded:percent"),
        ("".join(f"\\u{ord(c):04x}" for c in SECRET), "decoded:unicode-escape"),
        ("".join(f"&#{ord(c)};" for c in SECRET), "decoded:html"),
        ("".join(f"&#x{ord(c):x};" for c in SECRET), "decoded:html"),
    ],
)
def test_each_decoder(encoded, name):
    text = f"value: {encoded} end"
    views = names(text)
    assert name in views
    v = views[name]
    assert v.text.startswith("value: ") and v.text.endswith(" end")
    # the decoded text maps back to the whole encoded run
    i = len("value: ")
    assert v.span(i, len(v.text) - len(" end")) == (i, i + len(encoded))


def test_decoded_text_keeps_context():
    b64 = base64.b64encode(SECRET.encode()).decode()
    v = names(f"card number {b64}")["decoded:base64"]
    assert v.text == f"card number {SECRET}"


def test_nested_decoding_depth_two():
    inner = "".join(f"%{b:02X}" for b in SECRET.encode())
    outer = base64.b64encode(inner.encode()).decode()
    views = names(f"x {outer}")
    assert views["decoded:base64+percent"].text == f"x {SECRET}"


def test_depth_is_bounded():
    text = SECRET
    for _ in range(4):
        text = base64.b64encode(text.encode()).decode()
    assert all(v.name.count("+") <= 1 for v in decoded_views(text))
    assert SECRET not in [v.text for v in decoded_views(text)]


@pytest.mark.parametrize(
    "text",
    [
        "configuration_manager_factory_builder",  # identifier: valid base64 alphabet, no text inside
        "d41d8cd98f00b204e9800998ecf8427e",  # md5: hex of binary
        base64.b64encode(bytes(range(256))[:48]).decode(),  # binary payload
        "no encodings here at all",
    ],
)
def test_binary_or_plain_text_gives_no_view(text):
    assert decoded_views(text) == []


def test_budget_bounds_work():
    blob = " ".join(base64.b64encode(f"secret number {i:06d}".encode()).decode() for i in range(5000))
    views = decoded_views(blob, budget=1000)
    assert views and sum(v.text.count("secret number") for v in views) < 100


def test_large_text_decodes_windows_only():
    b64 = base64.b64encode(SECRET.encode()).decode()
    text = "x" * 50_000 + " " + b64 + " " + "y" * 50_000
    (v,) = decoded_views(text)
    assert SECRET in v.text and len(v.text) < 1000
    i = v.text.index(SECRET)
    s, e = v.span(i, i + len(SECRET))
    assert text[s:e] == b64


def test_a_run_grows_to_the_whole_token_however_long():
    import random

    from addons.decode import _B64_CHARS
    from addons.decode import MAX_RUN
    from addons.decode import _extend

    rng = random.Random(5)
    for _ in range(200):
        size = rng.choice([1, 40, 300, 5000, 3 * MAX_RUN])
        space = rng.choice([0.0, 0.3])  # none: one token longer than MAX_RUN each way
        text = "".join(rng.choices(_B64_CHARS + " ", weights=[1.0] * len(_B64_CHARS) + [space], k=size))
        start = rng.randrange(size)
        end = min(size, start + rng.randint(0, 16))
        tail = rng.choice(["", "="])
        left = text[max(0, start - MAX_RUN):start]
        right = text[end:end + MAX_RUN]
        want_start = start - (len(left) - len(left.rstrip(_B64_CHARS)))
        want_end = end + (len(right) - len(right.lstrip(_B64_CHARS)))
        if tail:
            want_end += len(text[want_end:want_end + 2]) - len(text[want_end:want_end + 2].lstrip(tail))
        assert _extend(text, start, end, _B64_CHARS, tail) == (want_start, want_end)
