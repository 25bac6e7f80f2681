import pytest

from addons.normalize import build_views
from addons.normalize import despace
from addons.normalize import fold
from addons.normalize import spell_digits


def view(text, name):
    return next((v for v in build_views(text) if v.name == name), None)


def test_ascii_text_has_only_the_raw_view():
    assert [v.name for v in build_views("plain ascii text, 4111 1111")] == ["raw"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("AKIA\u200bABCD", "AKIAABCD"),  # zero-width space
        ("a\u00adb\u2060c\ufeffd\u200ee", "abcde"),  # soft hyphen, word joiner, BOM, bidi mark
        ("AKIA\U000e0041\U000e0042X", "AKIAX"),  # tag characters
        ("４１１１", "4111"),  # fullwidth
        ("𝟒𝟏𝟏𝟏", "4111"),  # mathematical bold
        ("④①①①", "4111"),  # circled
        ("٤١١١", "4111"),  # Arabic-Indic
        ("४१११", "4111"),  # Devanagari
        ("АКІА", "AKIA"),  # Cyrillic look-alikes
        ("ΑΚΙΑ", "AKIA"),  # Greek look-alikes
        ("s\u0336k\u0336-", "sk-"),  # combining marks
        ("4111\n1111\r\n1111\t1111", "4111111111111111"),  # line breaks inside a digit run
        ("4111\u20281111", "41111111"),  # line separator
        ("4111\u00a01111", "4111 1111"),  # NBSP becomes a plain space
    ],
)
def test_fold(text, expected):
    folded = fold(text)
    assert folded is not None
    assert folded[0] == expected


def test_fold_returns_none_when_nothing_changes():
    assert fold("hello world") is None
    assert fold("line one\nline two") is None


def test_offsets_map_back_to_original():
    text = "key: АКІА\u200bXYZ end"
    v = view(text, "normalized")
    start = v.text.index("AKIAXYZ")
    s, e = v.span(start, start + len("AKIAXYZ"))
    assert text[s:e] == "АКІА\u200bXYZ"


@pytest.mark.parametrize(
    ("text", "digits"),
    [
        ("four one one one one one", "411111"),
        ("Four-One-One-One", "4111"),
        ("call oh seven double seven, nine", "07779"),
        ("triple zero one", "0001"),
        ("4 one 1 one", "4111"),
    ],
)
def test_spelled_digits(text, digits):
    out = spell_digits(text)
    assert out is not None and digits in out[0]


@pytest.mark.parametrize("text", ["one or two apples", "I have one dog and two cats", "oh oh oh no", "zero"])
def test_plain_prose_with_number_words_is_not_converted(text):
    assert spell_digits(text) is None


def test_spelled_digit_offsets():
    text = "my card is four one one one one one one one"
    v = view(text, "spelled-digits")
    i = v.text.index("41111111")
    s, e = v.span(i, i + 8)
    assert text[s:e] == "four one one one one one one one"


def test_views_compose_normalized_then_spelled():
    text = "ｆｏｕｒ one one one"
    names = [v.name for v in build_views(text)]
    assert names == ["raw", "normalized", "spelled-digits"]
    v = view(text, "spelled-digits")
    assert v.text == "4111" and v.span(0, 4) == (0, len(text))


def test_dense_text_folds_whole_with_exact_offsets():
    # same-length folds (ü → u, Cyrillic а → a) keep a 1:1 map; vanishing characters (zero-width) shift it
    text = ("Grüße аus Zürich\u200b! " * 600) + "key"
    folded, omap = fold(text)
    assert folded == ("Gruße aus Zurich! " * 600) + "key"
    start = folded.index("key")
    assert text[slice(*omap.span(start, start + 3))] == "key"
    z = folded.index("Zurich", 1000)
    assert text[slice(*omap.span(z, z + 6))] == "Zürich"


def test_text_whose_non_ascii_characters_stay_has_no_normalized_view():
    assert fold("数据保护 ß שלום " * 500) is None


@pytest.mark.parametrize(("text", "view", "runs"), [
    ("pin: 1 2 3 4 5 6 7 8 ok", "pin: 12345678 ok", ((5, 20),)),
    ("t\na\nb\nc\nd\ne\nf\ng\nh end", "tabcdefgh end", ((0, 17),)),  # one character per line
    ("x  y  z  a  b  c  d  e", "xyzabcde", ((0, 22),)),
    ("a b c d e f g hh and i j k l m n o p", "a b c d e f g hh and ijklmnop", ((21, 36),)),
])
def test_despace_joins_runs_of_single_characters(text, view, runs):
    out = despace(text)
    assert out is not None
    got, omap, got_runs = out
    assert (got, got_runs) == (view, runs)
    [(s, e)] = runs
    joined = "".join(text[s:e].split())
    k = got.index(joined)
    assert omap.span(k, k + len(joined)) == (s, e)  # the joined run maps back to the spaced one


@pytest.mark.parametrize("text", ["a b c d e f g", "I am a b c", "ab cd ef gh ij kl mn op", "4111 1111 1111 1111",
                                  "x=1 y=2 z=3"])
def test_despace_leaves_ordinary_text_alone(text):
    assert despace(text) is None


def test_despace_in_a_large_text_works_in_windows_around_the_hits():
    run = " ".join("98765432")
    text = "word " * 50_000 + run + " word" * 50_000
    at = text.index(run)
    got, omap, runs = despace(text, [at + len(run)])
    assert runs == ((at, at + len(run)),)
    assert len(got) < 10_000 and "98765432" in got
    k = got.index("98765432")
    assert omap.span(k, k + 8) == (at, at + len(run))
    assert despace(text, [10]) is None  # a hit far from any run finds nothing
