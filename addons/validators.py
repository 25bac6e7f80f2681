"""validators.py: pure checks named by detectors' `validator:` field; no I/O, no state, no mitmproxy.

Every validator takes the candidate text (the detector's secret group), strips its own separators and
answers tri-state: True (checksum or strong structure holds: maximum confidence), False (cannot be a
real value: drop the candidate), None (well-formed, but nothing to verify: keep the base confidence).
"""

from __future__ import annotations

import calendar
import datetime
import re
from collections import Counter
from collections.abc import Callable

from addons import entropy as entropy_floor

type Validator = Callable[[str], bool | None]

_SEPARATORS = re.compile(r"[\s\-./_|:,\u00b7\u2010-\u2015\u2212]")


def _compact(value: str) -> str:
    """Upper-cased, without separators: spaces, dashes (also Unicode), dots, slashes, _ | : and commas."""
    return _SEPARATORS.sub("", value).upper()


def _digits(value: str) -> str | None:
    """The value without separators when it is all ASCII digits, else None."""
    out = _compact(value)
    return out if out.isascii() and out.isdigit() else None


def _same_digits(value: str) -> bool:
    return len(set(value)) == 1


def _valid_date(year: int, month: int, day: int) -> bool:
    try:
        datetime.date(year, month, day)
    except ValueError:
        return False
    return True


def _luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


# ---------------------------------------------------------------------------------------------
# Financial

# (prefix low, prefix high, allowed lengths); prefixes compared on the same number of leading digits.
_CARD_RANGES: tuple[tuple[str, str, frozenset[int]], ...] = (
    ("4", "4", frozenset({13, 16, 19})),  # Visa
    ("51", "55", frozenset({16})),  # Mastercard
    ("2221", "2720", frozenset({16})),  # Mastercard 2-series
    ("2200", "2204", frozenset(range(16, 20))),  # Mir
    ("34", "34", frozenset({15})),  # American Express
    ("37", "37", frozenset({15})),
    ("6011", "6011", frozenset(range(16, 20))),  # Discover
    ("644", "649", frozenset(range(16, 20))),
    ("65", "65", frozenset(range(16, 20))),
    ("622126", "622925", frozenset(range(16, 20))),  # Discover / UnionPay co-brand
    ("3528", "3589", frozenset(range(16, 20))),  # JCB
    ("300", "305", frozenset(range(14, 20))),  # Diners Club
    ("3095", "3095", frozenset(range(14, 20))),
    ("36", "36", frozenset(range(14, 20))),
    ("38", "39", frozenset(range(16, 20))),
    ("62", "62", frozenset(range(16, 20))),  # UnionPay
    ("81", "81", frozenset({16})),  # UnionPay / RuPay 8-series
    ("50", "50", frozenset(range(12, 20))),  # Maestro
    ("56", "69", frozenset(range(12, 20))),  # Maestro / others
)


def card_brand(digits: str) -> str | None:
    """A payment card's issuer range (None when the prefix belongs to no scheme we know)."""
    names = (
        "visa mastercard mastercard mir amex amex discover discover discover discover jcb diners diners "
        "diners diners unionpay unionpay maestro maestro"
    ).split()
    for (low, high, lengths), name in zip(_CARD_RANGES, names, strict=True):
        head = digits[: len(low)]
        if low <= head <= high and len(digits) in lengths:
            return name
    return None


def luhn(value: str) -> bool | None:
    """Payment card number: 12-19 digits, a known issuer range for that length, Luhn check.

    True for a number written in groups (spaces, dashes …), the way cards are printed and typed.
    A bare digit run that passes gives None, not True: one random order number or amount in ten
    passes Luhn, so a bare run keeps the detector's base confidence and needs context to rise.
    """
    digits = _digits(value)
    if digits is None or not 12 <= len(digits) <= 19 or _same_digits(digits[1:]):
        return False
    if card_brand(digits) is None or not _luhn_ok(digits):
        return False
    return True if len(value.strip()) > len(digits) else None


def luhn_plain(value: str) -> bool | None:
    """Any Luhn-protected number (IMEI, loyalty cards): digits only, Luhn check, no issuer rules."""
    digits = _digits(value)
    if digits is None or len(digits) < 2 or _same_digits(digits):
        return False
    return _luhn_ok(digits)


IBAN_LENGTHS: dict[str, int] = {
    "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22, "BH": 22,
    "BI": 27, "BR": 29, "BY": 28, "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22, "DJ": 27,
    "DK": 18, "DO": 28, "EE": 20, "EG": 29, "ES": 24, "FI": 18, "FK": 18, "FO": 18, "FR": 27,
    "GB": 22, "GE": 22, "GI": 23, "GL": 18, "GR": 27, "GT": 28, "HN": 28, "HR": 21, "HU": 28,
    "IE": 22, "IL": 23, "IQ": 23, "IS": 26, "IT": 27, "JO": 30, "KW": 30, "KZ": 20, "LB": 28,
    "LC": 32, "LI": 21, "LT": 20, "LU": 20, "LV": 21, "LY": 25, "MC": 27, "MD": 24, "ME": 22,
    "MK": 19, "MN": 20, "MR": 27, "MT": 31, "MU": 30, "NI": 28, "NL": 18, "NO": 15, "OM": 23,
    "PK": 24, "PL": 28, "PS": 29, "PT": 25, "QA": 29, "RO": 24, "RS": 22, "RU": 33, "SA": 24,
    "SC": 31, "SD": 18, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "SO": 23, "ST": 25, "SV": 28,
    "TL": 23, "TN": 24, "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20, "YE": 30,
}  # fmt: skip


def _alnum_to_int(text: str) -> int:
    """ISO 7064 letters-to-digits (A=10 … Z=35) as used by IBAN and ISO 11649."""
    return int("".join(str(int(ch, 36)) for ch in text))


def iban(value: str) -> bool | None:
    """IBAN: known country, that country's length, mod-97 == 1."""
    text = _compact(value)
    if not re.fullmatch(r"[A-Z]{2}[0-9]{2}[A-Z0-9]{11,30}", text):
        return False
    if IBAN_LENGTHS.get(text[:2]) != len(text) or text[2:4] in ("00", "01", "99"):
        return False
    return _alnum_to_int(text[4:] + text[:4]) % 97 == 1


ISO_COUNTRIES = frozenset(
    """AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR
    BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC
    EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK
    HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB
    LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ
    NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU
    RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN
    TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS XK YE YT ZA ZM ZW""".split()
)


def swift_bic(value: str) -> bool | None:
    """SWIFT/BIC: 4-letter bank, ISO country, 2-char location, optional 3-char branch (no checksum)."""
    text = _compact(value)
    if not re.fullmatch(r"[A-Z]{4}[A-Z]{2}[A-Z0-9]{2}(?:[A-Z0-9]{3})?", text):
        return False
    if text[4:6] not in ISO_COUNTRIES:
        return False
    if text[7] == "O":  # location's second character: letter O is not used (0 marks a test BIC)
        return False
    return None


def aba_routing(value: str) -> bool | None:
    """US ABA routing number: Federal Reserve prefix and the 3-7-1 weighted mod-10 checksum."""
    digits = _digits(value)
    if digits is None or len(digits) != 9 or _same_digits(digits):
        return False
    prefix = int(digits[:2])
    if not (0 <= prefix <= 12 or 21 <= prefix <= 32 or 61 <= prefix <= 72 or prefix == 80):
        return False
    d = [int(c) for c in digits]
    total = 3 * (d[0] + d[3] + d[6]) + 7 * (d[1] + d[4] + d[7]) + d[2] + d[5] + d[8]
    return total % 10 == 0


def uk_sort_code_account(value: str) -> bool | None:
    """UK sort code + account: 6 + 8 digits (7-digit accounts are zero-padded); structure only.

    The candidate may hold a label between the two ("20-45-77 account no. 41234567"): only digits count.
    """
    digits = re.sub(r"[^0-9]", "", value)
    if len(digits) not in (13, 14):
        return False
    sort_code, account = digits[:6], digits[6:]
    if int(sort_code) == 0 or int(account) == 0 or _same_digits(digits):
        return False
    return None


def mx_clabe(value: str) -> bool | None:
    """Mexican CLABE: 18 digits, weights 3-7-1 mod 10 check digit."""
    digits = _digits(value)
    if digits is None or len(digits) != 18 or _same_digits(digits):
        return False
    weights = (3, 7, 1) * 6
    total = sum((int(c) * w) % 10 for c, w in zip(digits[:17], weights, strict=False))
    return (10 - total % 10) % 10 == int(digits[17])


_B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_B58_VALUE = {c: i for i, c in enumerate(_B58)}


def btc_address(value: str) -> bool | None:
    """Bitcoin address: base58check (P2PKH/P2SH, double SHA-256) or bech32/bech32m (bc1…)."""
    import hashlib

    text = value.strip()
    if text[:3].lower() == "bc1":
        return _bech32_ok(text.lower()) if text in (text.lower(), text.upper()) else False
    if not 25 <= len(text) <= 35 or text[0] not in "13":
        return False
    num = 0
    for c in text:
        digit = _B58_VALUE.get(c)
        if digit is None:
            return False
        num = num * 58 + digit
    raw = num.to_bytes(25, "big") if num.bit_length() <= 200 else b""
    if len(raw) != 25:
        return False
    check = hashlib.sha256(hashlib.sha256(raw[:21]).digest()).digest()[:4]
    return check == raw[21:]


_BECH32 = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
_BECH32_VALUE = {c: i for i, c in enumerate(_BECH32)}
_BECH32_GEN = (0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3)


def _bech32_xor(top: int) -> int:
    """What the BIP-173 checksum step XORs in for the five bits shifted out (`top`)."""
    out = 0
    for i, gen in enumerate(_BECH32_GEN):
        if top >> i & 1:
            out ^= gen
    return out


_BECH32_STEP = tuple(_bech32_xor(top) for top in range(32))  # one lookup per character


def _bech32_ok(text: str) -> bool:
    hrp, _, data = text.rpartition("1")
    if hrp != "bc" or not 6 <= len(data) <= 87 or any(c not in _BECH32_VALUE for c in data):
        return False
    chk = 1
    step = _BECH32_STEP
    for v in [ord(x) >> 5 for x in hrp] + [0] + [ord(x) & 31 for x in hrp] + [_BECH32_VALUE[c] for c in data]:
        chk = ((chk & 0x1FFFFFF) << 5 ^ v) ^ step[chk >> 25]
    return chk in (1, 0x2BC830A3)  # bech32, bech32m


# ---------------------------------------------------------------------------------------------
# United States

_SSN_ADVERTISING = frozenset({"078051120", "219099999", "123456789", "987654320"})


def us_ssn(value: str) -> bool | None:
    """US SSN: no area 000/666/9xx, group 00, serial 0000, famous advertising numbers, mixed separators."""
    seps = set(re.findall(r"[^0-9]", value.strip()))
    if len(seps) > 1:
        return False
    digits = _digits(value)
    if digits is None or len(digits) != 9:
        return False
    area, group, serial = digits[:3], digits[3:5], digits[5:]
    if area in ("000", "666") or area[0] == "9" or group == "00" or serial == "0000":
        return False
    if digits in _SSN_ADVERTISING or digits.startswith("98765432") or _same_digits(digits):
        return False
    return None


def us_itin(value: str) -> bool | None:
    """US ITIN: 9xx-GG-xxxx with group 50-65, 70-88, 90-92 or 94-99."""
    digits = _digits(value)
    if digits is None or len(digits) != 9 or digits[0] != "9":
        return False
    group = int(digits[3:5])
    if not (50 <= group <= 65 or 70 <= group <= 88 or 90 <= group <= 92 or 94 <= group <= 99):
        return False
    return None


_EIN_PREFIXES = frozenset(
    "01 02 03 04 05 06 10 11 12 13 14 15 16 20 21 22 23 24 25 26 27 30 31 32 33 34 35 36 37 38 39 "
    "40 41 42 43 44 45 46 47 48 50 51 52 53 54 55 56 57 58 59 60 61 62 63 64 65 66 67 68 71 72 73 "
    "74 75 76 77 80 81 82 83 84 85 86 87 88 90 91 92 93 94 95 98 99".split()
)


def us_ein(value: str) -> bool | None:
    """US EIN: 9 digits with an IRS campus prefix (no checksum)."""
    digits = _digits(value)
    if digits is None or len(digits) != 9 or _same_digits(digits):
        return False
    return None if digits[:2] in _EIN_PREFIXES else False


def us_mbi(value: str) -> bool | None:
    """US Medicare Beneficiary Identifier: 11 characters, CMS position rules, letters without SLOIBZ."""
    text = _compact(value)
    letter = "[AC-HJKMNP-RT-Y]"
    alnum = "[0-9AC-HJKMNP-RT-Y]"
    shape = f"[1-9]{letter}{alnum}[0-9]{letter}{alnum}[0-9]{letter}{letter}[0-9][0-9]"
    return None if re.fullmatch(shape, text) else False


def us_npi(value: str) -> bool | None:
    """US National Provider Identifier: 10 digits starting 1 or 2, Luhn over '80840' + NPI."""
    digits = _digits(value)
    if digits is None or len(digits) != 10 or digits[0] not in "12":
        return False
    return _luhn_ok("80840" + digits)


def dea_number(value: str) -> bool | None:
    """DEA registration: registrant letter, name letter (or 9), 7 digits with (odd + 2*even) check."""
    text = _compact(value)
    if not re.fullmatch(r"[ABCDEFGHJKLMPRSTUX][A-Z9][0-9]{7}", text):
        return False
    d = [int(c) for c in text[2:]]
    total = d[0] + d[2] + d[4] + 2 * (d[1] + d[3] + d[5])
    return total % 10 == d[6]


# ---------------------------------------------------------------------------------------------
# United Kingdom

_NINO_BAD_PREFIX = frozenset({"BG", "GB", "KN", "NK", "NT", "TN", "ZZ"})


def uk_nino(value: str) -> bool | None:
    """UK National Insurance number: prefix rules (no D F I Q U V, second letter not O), suffix A-D."""
    text = _compact(value)
    if not re.fullmatch(r"[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z][0-9]{6}[A-D]?", text):
        return False
    if text[:2] in _NINO_BAD_PREFIX or _same_digits(text[2:8]):
        return False
    return None


def _mod11_weighted(digits: str, weights: tuple[int, ...]) -> int:
    return sum(int(c) * w for c, w in zip(digits, weights, strict=False)) % 11


def uk_nhs(value: str) -> bool | None:
    """NHS number (England, Wales, IoM) / CHI: 10 digits, weights 10..2 mod 11."""
    digits = _digits(value)
    if digits is None or len(digits) != 10 or _same_digits(digits):
        return False
    check = 11 - _mod11_weighted(digits[:9], (10, 9, 8, 7, 6, 5, 4, 3, 2))
    if check == 11:
        check = 0
    return check != 10 and check == int(digits[9])


def uk_utr(value: str) -> bool | None:
    """HMRC Unique Taxpayer Reference: 10 digits, first digit is the weighted mod-11 check."""
    digits = _digits(value)
    if digits is None or len(digits) != 10 or _same_digits(digits):
        return False
    remainder = _mod11_weighted(digits[1:], (6, 7, 8, 9, 10, 5, 4, 3, 2))
    return "21987654321"[remainder] == digits[0]


def uk_driving_licence(value: str) -> bool | None:
    """DVLA licence number: surname(5) decade month(+50 female) day year initials(2) 9 check(2) [issue(2)].

    The two check characters are not public, so a well-formed number with a real date gives None.
    """
    text = _compact(value)
    shape = r"[A-Z9]{5}([0-9])([0-9]{2})([0-9]{2})([0-9])[A-Z9]{2}[0-9][A-Z0-9]{2}(?:[0-9]{2})?"
    m = re.fullmatch(shape, text)
    if not m or text[0] == "9":
        return False
    month = int(m[2]) - (50 if int(m[2]) > 50 else 0)
    if not _valid_date(2000, month, int(m[3])):
        return False
    return None


# ---------------------------------------------------------------------------------------------
# European Union / EEA


def de_tax_id(value: str) -> bool | None:
    """German Steuer-IdNr: 11 digits, no leading 0, one digit repeated 2-3x, ISO 7064 MOD 11,10."""
    digits = _digits(value)
    if digits is None or len(digits) != 11 or digits[0] == "0":
        return False
    counts = Counter(digits[:10])
    repeated = [n for n in counts.values() if n > 1]
    if len(repeated) != 1 or repeated[0] > 3:
        return False
    if repeated[0] == 3 and any(digits[i] == digits[i + 1] == digits[i + 2] for i in range(8)):
        return False
    return _iso7064_mod11_10(digits[:10]) == int(digits[10])


def _iso7064_mod11_10(digits: str) -> int:
    product = 10
    for ch in digits:
        total = (int(ch) + product) % 10 or 10
        product = (total * 2) % 11
    check = 11 - product
    return 0 if check == 10 else check


def _icao_check(text: str) -> int:
    """ICAO 9303 check digit: weights 7-3-1, letters A=10 … Z=35, '<' = 0."""
    total = 0
    for i, ch in enumerate(text):
        v = 0 if ch == "<" else int(ch, 36)
        total += v * (7, 3, 1)[i % 3]
    return total % 10


def de_id_card(value: str) -> bool | None:
    """German Personalausweis (since 2010): 9 chars from [CFGHJKLMNPRTVWXYZ0-9] + optional ICAO check."""
    text = _compact(value)
    if not re.fullmatch(r"[CFGHJKLMNPRTVWXYZ][CFGHJKLMNPRTVWXYZ0-9]{8}[0-9]?", text):
        return False
    if len(text) == 9:
        return None
    return _icao_check(text[:9]) == int(text[9])


def fr_nir(value: str) -> bool | None:
    """French NIR (numéro de sécurité sociale): 13 chars + key = 97 - n mod 97; Corsica 2A→19, 2B→18."""
    text = _compact(value)
    shape = r"[1-478][0-9]{2}(?:0[1-9]|1[0-2]|[2-9][0-9])(?:[0-9]{2}|2[AB])[0-9]{6}(?:[0-9]{2})?"
    if not re.fullmatch(shape, text):
        return False
    if len(text) == 13:
        return None
    body = text[:5] + {"2A": "19", "2B": "18"}.get(text[5:7], text[5:7]) + text[7:13]
    key = int(text[13:])
    return 97 - int(body) % 97 == key


_DNI_LETTERS = "TRWAGMYFPDXBNJZSQVHLCKE"


def es_dni(value: str) -> bool | None:
    """Spanish DNI: 8 digits + mod-23 letter."""
    text = _compact(value)
    if not re.fullmatch(r"[0-9]{8}[A-Z]", text) or _same_digits(text[:8]):
        return False
    return _DNI_LETTERS[int(text[:8]) % 23] == text[8]


def es_nie(value: str) -> bool | None:
    """Spanish NIE: X/Y/Z (→ 0/1/2) + 7 digits + mod-23 letter."""
    text = _compact(value)
    if not re.fullmatch(r"[XYZ][0-9]{7}[A-Z]", text):
        return False
    number = "XYZ".index(text[0]) * 10_000_000 + int(text[1:8])
    return _DNI_LETTERS[number % 23] == text[8]


_CF_ODD = {
    **dict(zip("0123456789", (1, 0, 5, 7, 9, 13, 15, 17, 19, 21), strict=True)),
    **dict(
        zip(
            "ABCDEFGHIJKLMNOPQRSTUVWXYZ",
            (1, 0, 5, 7, 9, 13, 15, 17, 19, 21, 2, 4, 18, 20, 11, 3, 6, 8, 12, 14, 16, 10, 22, 25, 24, 23),
            strict=True,
        )
    ),
}


def it_codice_fiscale(value: str) -> bool | None:
    """Italian codice fiscale: 16 chars (omocodia letters allowed for digits), odd/even check letter."""
    text = _compact(value)
    d = "[0-9LMNPQRSTUV]"
    if not re.fullmatch(f"[A-Z]{{6}}{d}{{2}}[ABCDEHLMPRST]{d}{{2}}[A-Z]{d}{{3}}[A-Z]", text):
        return False
    total = 0
    for i, ch in enumerate(text[:15]):
        if i % 2 == 0:  # 1st, 3rd … (odd positions, 1-based)
            total += _CF_ODD[ch]
        else:
            total += int(ch) if ch.isdigit() else ord(ch) - 65
    return chr(65 + total % 26) == text[15]


def nl_bsn(value: str) -> bool | None:
    """Dutch BSN: 9 digits (8 = leading zero dropped), 11-proof with weight -1 on the last digit."""
    digits = _digits(value)
    if digits is None or len(digits) not in (8, 9):
        return False
    digits = digits.zfill(9)
    if _same_digits(digits) or int(digits) < 10_000_000:
        return False
    total = sum(int(c) * w for c, w in zip(digits, (9, 8, 7, 6, 5, 4, 3, 2, -1), strict=True))
    return total % 11 == 0


def pl_pesel(value: str) -> bool | None:
    """Polish PESEL: 11 digits, birth date with century in the month, weights 1-3-7-9 mod 10."""
    digits = _digits(value)
    if digits is None or len(digits) != 11 or _same_digits(digits):
        return False
    year, month, day = int(digits[:2]), int(digits[2:4]), int(digits[4:6])
    century = {0: 1900, 1: 2000, 2: 2100, 3: 2200, 4: 1800}[month // 20]
    if not _valid_date(century + year, month % 20, day):
        return False
    total = sum(int(c) * w for c, w in zip(digits[:10], (1, 3, 7, 9, 1, 3, 7, 9, 1, 3), strict=True))
    return (10 - total % 10) % 10 == int(digits[10])


def be_national_number(value: str) -> bool | None:
    """Belgian Rijksregisternummer: YYMMDD + 3-digit counter + 97-mod check (a '2' prefix after 2000)."""
    digits = _digits(value)
    if digits is None or len(digits) != 11 or _same_digits(digits):
        return False
    month = int(digits[2:4]) % 20  # bis numbers add 20 or 40 to the month
    day = int(digits[4:6])
    if month > 12 or day > 31:
        return False
    check = int(digits[9:])
    body = int(digits[:9])
    return 97 - body % 97 == check or 97 - (2_000_000_000 + body) % 97 == check


def se_personnummer(value: str) -> bool | None:
    """Swedish personnummer / samordningsnummer: (YY)YYMMDD[-+]NNNC, valid date (day+60 allowed), Luhn."""
    text = value.strip()
    if not re.fullmatch(r"(?:[0-9]{2})?[0-9]{6}[-+ ]?[0-9]{4}", text):
        return False
    digits = re.sub(r"[^0-9]", "", text)
    if len(digits) == 12:
        if digits[:2] not in ("18", "19", "20"):
            return False
        digits = digits[2:]
    month, day = int(digits[2:4]), int(digits[4:6])
    if day > 60:
        day -= 60
    if not (1 <= month <= 12 and 1 <= day <= calendar.monthrange(2000, month)[1]):
        return False
    return _luhn_ok(digits)


def dk_cpr(value: str) -> bool | None:
    """Danish CPR: DDMMYY-SSSS with a valid date. Modulus 11 was dropped in 2007, so no checksum."""
    digits = _digits(value)
    if digits is None or len(digits) != 10:
        return False
    day, month = int(digits[:2]), int(digits[2:4])
    if not _valid_date(2000, month, day):  # leap-year tolerant
        return False
    return None


def fi_hetu(value: str) -> bool | None:
    """Finnish henkilötunnus: DDMMYY, century sign (+ - A or the 2023 signs), NNN, mod-31 check char."""
    text = value.strip().upper()
    m = re.fullmatch(r"([0-9]{2})([0-9]{2})([0-9]{2})([-+A-FU-Y])([0-9]{3})([0-9A-FHJ-NPR-Y])", text)
    if not m:
        return False
    day, month, year = int(m[1]), int(m[2]), int(m[3])
    century = 1800 if m[4] == "+" else 1900 if m[4] in "-UVWXY" else 2000
    if not _valid_date(century + year, month, day) or int(m[5]) < 2:
        return False
    return "0123456789ABCDEFHJKLMNPRSTUVWXY"[int(m[1] + m[2] + m[3] + m[5]) % 31] == m[6]


def at_svnr(value: str) -> bool | None:
    """Austrian Sozialversicherungsnummer: NNN C DDMMYY, check = weighted sum mod 11 (10 never issued)."""
    digits = _digits(value)
    if digits is None or len(digits) != 10 or digits[0] == "0":
        return False
    weights = (3, 7, 9, 0, 5, 8, 4, 2, 1, 6)
    check = sum(int(c) * w for c, w in zip(digits, weights, strict=True)) % 11
    return check != 10 and check == int(digits[3])


def pt_nif(value: str) -> bool | None:
    """Portuguese NIF: 9 digits, first digit 1-3 or 5-9 (45 non-resident), mod-11 check digit."""
    digits = _digits(value)
    if digits is None or len(digits) != 9 or digits[0] == "0" or (digits[0] == "4" and digits[1] != "5"):
        return False
    remainder = sum(int(c) * w for c, w in zip(digits[:8], range(9, 1, -1), strict=True)) % 11
    return (0 if remainder < 2 else 11 - remainder) == int(digits[8])


_PPS_ALPHABET = "WABCDEFGHIJKLMNOPQRSTUV"


def ie_pps(value: str) -> bool | None:
    """Irish PPS number: 7 digits + mod-23 check letter + optional A/B/H (weight 9) or legacy W/T/X."""
    text = _compact(value)
    if not re.fullmatch(r"[0-9]{7}[A-W][ABHWTX]?", text) or _same_digits(text[:7]):
        return False
    total = sum(int(c) * (8 - i) for i, c in enumerate(text[:7]))
    if len(text) == 9 and text[8] in "ABH":
        total += 9 * _PPS_ALPHABET.index(text[8])
    return _PPS_ALPHABET[total % 23] == text[7]


def eu_vat_structure(value: str) -> bool | None:
    """EU VAT number prefix is an EU country code (EL for Greece, XI for Northern Ireland); structure only."""
    text = _compact(value)
    eu = {"AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "EL", "ES", "FI", "FR", "HR", "HU", "IE", "IT",
          "LT", "LU", "LV", "MT", "NL", "PL", "PT", "RO", "SE", "SI", "SK", "XI"}  # fmt: skip
    if len(text) < 8 or text[:2] not in eu or not text[2:].isalnum():
        return False
    return None


def pl_id_card(value: str) -> bool | None:
    """Polish dowód osobisty: 3 letters + check digit + 5 digits, weights 7-3-1-9-7-3-1-7-3."""
    text = _compact(value)
    if not re.fullmatch(r"[A-Z]{3}[0-9]{6}", text):
        return False
    weights = (7, 3, 1, 0, 7, 3, 1, 7, 3)
    total = sum(int(c, 36) * w for c, w in zip(text, weights, strict=True))
    return total % 10 == int(text[3])


# ---------------------------------------------------------------------------------------------
# Rest of the world


def ca_sin(value: str) -> bool | None:
    """Canadian SIN: 9 digits, first digit not 0 or 8, Luhn."""
    digits = _digits(value)
    if digits is None or len(digits) != 9 or digits[0] in "08" or _same_digits(digits):
        return False
    return _luhn_ok(digits)


def au_tfn(value: str) -> bool | None:
    """Australian TFN: 9 digits (weights 1 4 3 7 5 8 6 9 10) or legacy 8 digits, sum mod 11 == 0."""
    digits = _digits(value)
    if digits is None or _same_digits(digits):
        return False
    if len(digits) == 9:
        weights: tuple[int, ...] = (1, 4, 3, 7, 5, 8, 6, 9, 10)
    elif len(digits) == 8:
        weights = (10, 7, 8, 4, 6, 3, 5, 1)
    else:
        return False
    return sum(int(c) * w for c, w in zip(digits, weights, strict=True)) % 11 == 0


def au_medicare(value: str) -> bool | None:
    """Australian Medicare card: 10 digits (+ optional IRN), first 2-6, weights 1-3-7-9 check, issue ≠ 0."""
    digits = _digits(value)
    if digits is None or len(digits) not in (10, 11) or digits[0] not in "23456" or digits[9] == "0":
        return False
    total = sum(int(c) * w for c, w in zip(digits[:8], (1, 3, 7, 9, 1, 3, 7, 9), strict=True))
    return total % 10 == int(digits[8])


def au_abn(value: str) -> bool | None:
    """Australian Business Number: 11 digits, subtract 1 from the first, weights, sum mod 89 == 0."""
    digits = _digits(value)
    if digits is None or len(digits) != 11 or digits[0] == "0":
        return False
    weights = (10, 1, 3, 5, 7, 9, 11, 13, 15, 17, 19)
    values = [int(digits[0]) - 1] + [int(c) for c in digits[1:]]
    return sum(v * w for v, w in zip(values, weights, strict=True)) % 89 == 0


_VERHOEFF_D = (
    (0, 1, 2, 3, 4, 5, 6, 7, 8, 9),
    (1, 2, 3, 4, 0, 6, 7, 8, 9, 5),
    (2, 3, 4, 0, 1, 7, 8, 9, 5, 6),
    (3, 4, 0, 1, 2, 8, 9, 5, 6, 7),
    (4, 0, 1, 2, 3, 9, 5, 6, 7, 8),
    (5, 9, 8, 7, 6, 0, 4, 3, 2, 1),
    (6, 5, 9, 8, 7, 1, 0, 4, 3, 2),
    (7, 6, 5, 9, 8, 2, 1, 0, 4, 3),
    (8, 7, 6, 5, 9, 3, 2, 1, 0, 4),
    (9, 8, 7, 6, 5, 4, 3, 2, 1, 0),
)
_VERHOEFF_P = (
    (0, 1, 2, 3, 4, 5, 6, 7, 8, 9),
    (1, 5, 7, 6, 2, 8, 3, 0, 9, 4),
    (5, 8, 0, 3, 7, 9, 6, 1, 4, 2),
    (8, 9, 1, 6, 0, 4, 3, 5, 2, 7),
    (9, 4, 5, 3, 1, 2, 6, 8, 7, 0),
    (4, 2, 8, 6, 5, 7, 3, 9, 0, 1),
    (2, 7, 9, 3, 8, 0, 6, 4, 1, 5),
    (7, 0, 4, 6, 9, 1, 3, 2, 5, 8),
)


def verhoeff_ok(digits: str) -> bool:
    c = 0
    for i, ch in enumerate(reversed(digits)):
        c = _VERHOEFF_D[c][_VERHOEFF_P[i % 8][int(ch)]]
    return c == 0


def in_aadhaar(value: str) -> bool | None:
    """Indian Aadhaar: 12 digits, first digit 2-9, not a palindrome, Verhoeff check."""
    digits = _digits(value)
    if digits is None or len(digits) != 12 or digits[0] in "01" or digits == digits[::-1]:
        return False
    return verhoeff_ok(digits)


def in_pan(value: str) -> bool | None:
    """Indian PAN: AAAAA9999A with a holder-type 4th letter (P C H F A T B L J G); no public checksum."""
    text = _compact(value)
    if not re.fullmatch(r"[A-Z]{3}[ABCFGHJLPT][A-Z][0-9]{4}[A-Z]", text) or text[5:9] == "0000":
        return False
    return None


def _br_check(digits: str, start_weight: int) -> int:
    total = sum(int(c) * w for c, w in zip(digits, range(start_weight, 1, -1), strict=False))
    remainder = total % 11
    return 0 if remainder < 2 else 11 - remainder


def br_cpf(value: str) -> bool | None:
    """Brazilian CPF: 11 digits, two mod-11 check digits, not all the same digit."""
    digits = _digits(value)
    if digits is None or len(digits) != 11 or _same_digits(digits):
        return False
    return _br_check(digits[:9], 10) == int(digits[9]) and _br_check(digits[:10], 11) == int(digits[10])


def br_cnpj(value: str) -> bool | None:
    """Brazilian CNPJ: 14 chars (alphanumeric root allowed from 2026), two mod-11 check digits."""
    text = _compact(value)
    if not re.fullmatch(r"[0-9A-Z]{12}[0-9]{2}", text) or _same_digits(text):
        return False
    values = [ord(c) - 48 for c in text]

    def check(n: int) -> int:
        weights = [*range(n - 7, 1, -1), *range(9, 1, -1)]
        total = sum(v * w for v, w in zip(values[:n], weights, strict=True))
        return 0 if total % 11 < 2 else 11 - total % 11

    return check(12) == values[12] and check(13) == values[13]


_CURP_STATES = frozenset(
    "AS BC BS CC CL CM CS CH DF DG GT GR HG JC MC MN MS NT NL OC PL QT QR SP SL SR TC TS TL VZ YN ZS NE"
    .split()
)
_CURP_ALPHABET = "0123456789ABCDEFGHIJKLMN&OPQRSTUVWXYZ"


def mx_curp(value: str) -> bool | None:
    """Mexican CURP: 18 chars, birth date, sex H/M/X, state code, check digit (weights 18..2 mod 10)."""
    text = _compact(value).replace("Ñ", "&")
    m = re.fullmatch(r"[A-Z&]{4}([0-9]{2})([0-9]{2})([0-9]{2})[HMX]([A-Z]{2})[A-Z&]{3}[0-9A-Z][0-9]", text)
    if not m or m[4] not in _CURP_STATES:
        return False
    century = 2000 if text[16].isalpha() else 1900
    if not _valid_date(century + int(m[1]), int(m[2]), int(m[3])):
        return False
    total = sum(_CURP_ALPHABET.index(c) * (18 - i) for i, c in enumerate(text[:17]))
    return (10 - total % 10) % 10 == int(text[17])


def jp_my_number(value: str) -> bool | None:
    """Japanese Individual Number (My Number): 12 digits, weights 6 5 4 3 2 7 6 5 4 3 2, mod 11."""
    digits = _digits(value)
    if digits is None or len(digits) != 12 or _same_digits(digits):
        return False
    total = sum(int(c) * w for c, w in zip(digits[:11], (6, 5, 4, 3, 2, 7, 6, 5, 4, 3, 2), strict=True))
    return (-total % 11) % 10 == int(digits[11])


def sg_nric(value: str) -> bool | None:
    """Singapore NRIC/FIN: S/T/F/G/M + 7 digits + check letter (weights 2 7 6 5 4 3 2)."""
    text = _compact(value)
    if not re.fullmatch(r"[STFGM][0-9]{7}[A-Z]", text):
        return False
    total = sum(int(c) * w for c, w in zip(text[1:8], (2, 7, 6, 5, 4, 3, 2), strict=True))
    total += {"S": 0, "T": 4, "F": 0, "G": 4, "M": 3}[text[0]]
    if text[0] == "M":  # M series (2022+): table indexed by 10 - remainder (ICA / opengovsg)
        return "KLJNPQRTUWX"[10 - total % 11] == text[8]
    table = {"S": "JZIHGFEDCBA", "T": "JZIHGFEDCBA", "F": "XWUTRQPNMLK", "G": "XWUTRQPNMLK"}
    return table[text[0]][total % 11] == text[8]


def hk_hkid(value: str) -> bool | None:
    """Hong Kong identity card: 1-2 letters + 6 digits + check digit or A (weights 9..2 mod 11)."""
    text = re.sub(r"[\s()\-]", "", value).upper()
    if not re.fullmatch(r"[A-Z]{1,2}[0-9]{6}[0-9A]", text):
        return False
    body = text[:-1].rjust(8, " ")
    values = [36 if c == " " else int(c, 36) for c in body]
    total = sum(v * w for v, w in zip(values, range(9, 1, -1), strict=True))
    check = (11 - total % 11) % 11
    return ("A" if check == 10 else str(check)) == text[-1]


def za_id(value: str) -> bool | None:
    """South African ID: YYMMDD SSSS C A Z, valid date, citizenship 0-2, Luhn."""
    digits = _digits(value)
    if digits is None or len(digits) != 13 or digits[10] not in "012":
        return False
    if not _valid_date(2000, int(digits[2:4]), int(digits[4:6])):
        return False
    return _luhn_ok(digits)


def nz_ird(value: str) -> bool | None:
    """New Zealand IRD number: 8-9 digits in 10,000,000-150,000,000, two-pass weighted mod-11 check."""
    digits = _digits(value)
    if digits is None or len(digits) not in (8, 9):
        return False
    if not 10_000_000 < int(digits) < 150_000_000:
        return False
    body = digits[:-1].zfill(8)
    for weights in ((3, 2, 7, 6, 5, 4, 3, 2), (7, 4, 3, 2, 5, 2, 7, 6)):
        remainder = sum(int(c) * w for c, w in zip(body, weights, strict=True)) % 11
        check = 0 if remainder == 0 else 11 - remainder
        if check != 10:
            return check == int(digits[-1])
    return False


# ---------------------------------------------------------------------------------------------
# Contact, health, generic

_COMMON_TLDS = frozenset(
    """com org net edu gov mil int io co ai dev app info biz me us uk de fr es it nl be ch at se no dk fi
    pl pt ie cz sk hu ro bg gr tr ru ua ca au nz in jp cn kr sg hk tw br mx ar cl za ng ke eg il ae sa
    online site tech cloud email mail xyz""".split()
)
_FILE_EXTENSIONS = frozenset(
    """png jpg jpeg gif svg webp bmp ico js mjs ts tsx jsx css scss json yaml yml xml html htm txt
    py rb go java kt swift c h cpp hpp cs php sh zip gz tar pdf doc docx xls xlsx csv lock map
    woff woff2 ttf eot mp3 mp4 mov wav""".split()
)


def email(value: str) -> bool | None:
    """E-mail address: RFC 5321 lengths, dot-atom local part, LDH domain labels, alphabetic TLD.

    True for a common TLD, None for another plausible TLD, False for file names such as `logo@2x.png`.
    """
    text = value.strip()
    local, at, domain = text.rpartition("@")
    if not at or not local or len(local) > 64 or len(text) > 254:
        return False
    if local[0] == "." or local[-1] == "." or ".." in local:
        return False
    if not re.fullmatch(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]{1,64}", local):
        return False
    labels = domain.lower().split(".")
    if len(labels) < 2 or any(not re.fullmatch(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?", lb) for lb in labels):
        return False
    tld = labels[-1]
    if tld in _FILE_EXTENSIONS and len(labels) == 2:
        return False
    if not (re.fullmatch(r"[a-z]{2,24}", tld) or re.fullmatch(r"xn--[a-z0-9-]{2,59}", tld)):
        return False
    return True if tld in _COMMON_TLDS else None


# Country calling code -> (min, max) national significant number length (ITU-T E.164 national plans).
PHONE_LENGTHS: dict[str, tuple[int, int]] = {
    "1": (10, 10), "7": (10, 10), "20": (8, 10), "27": (9, 9), "30": (10, 10), "31": (9, 9),
    "32": (8, 9), "33": (9, 9), "34": (9, 9), "36": (8, 9), "39": (6, 11), "40": (9, 9),
    "41": (9, 9), "43": (4, 13), "44": (9, 10), "45": (8, 8), "46": (7, 10), "47": (8, 8),
    "48": (9, 9), "49": (6, 13), "51": (8, 9), "52": (10, 10), "54": (10, 11), "55": (10, 11),
    "56": (9, 9), "57": (8, 10), "58": (10, 10), "60": (8, 10), "61": (9, 9), "62": (8, 12),
    "63": (8, 10), "64": (8, 10), "65": (8, 8), "66": (8, 9), "81": (9, 10), "82": (8, 10),
    "84": (9, 10), "86": (9, 11), "90": (10, 10), "91": (10, 10), "92": (9, 10), "94": (9, 9),
    "98": (10, 10), "212": (9, 9), "213": (8, 9), "216": (8, 8), "234": (8, 10), "254": (9, 9),
    "351": (9, 9), "352": (4, 11), "353": (7, 9), "354": (7, 9), "356": (8, 8), "357": (8, 8),
    "358": (5, 12), "359": (8, 9), "370": (8, 8), "371": (8, 8), "372": (7, 8), "380": (9, 9),
    "385": (8, 9), "386": (8, 8), "420": (9, 9), "421": (9, 9), "852": (8, 8), "853": (8, 8),
    "880": (10, 10), "886": (8, 9), "961": (7, 8), "962": (8, 9), "965": (8, 8), "966": (9, 9),
    "971": (8, 9), "972": (8, 9), "974": (8, 8),
}  # fmt: skip


def _nanp_ok(nsn: str) -> bool:
    """NANP: NXX area code (not N11, not 37X/96X reserved), NXX exchange (not N11)."""
    area, exchange = nsn[:3], nsn[3:6]
    if area[0] in "01" or exchange[0] in "01":
        return False
    return area[1:] != "11" and exchange[1:] != "11"


def phone(value: str) -> bool | None:
    """Phone number by country calling code and national number length (built-in table, main regions).

    International form (`+CC …` or `00CC …`): True when the code is in the table and the national
    number length fits (NANP also checks area/exchange codes), False when the length does not fit,
    None for a `+` code outside the table (False for `00` + unknown code: usually a digit run).
    National form: 10-digit NANP → True/False by NANP rules, a trunk-prefix `0` number of 9-11
    digits → None, anything else → False.
    """
    text = value.strip()
    digits = re.sub(r"[\s\-./()\u00a0]", "", text)
    plus = digits.startswith("+")
    if plus:
        digits = digits[1:]
        international = True
    elif digits.startswith("00"):
        digits = digits[2:]
        international = True
    else:
        international = False
    if not digits.isascii() or not digits.isdigit() or not 6 <= len(digits) <= 15:
        return False
    if _same_digits(digits[-7:]):
        return False
    if international:
        if digits[0] == "0":
            return False
        for size in (1, 2, 3):
            code = digits[:size]
            if code in PHONE_LENGTHS:
                nsn = digits[size:]
                if code in ("44", "49", "39", "43", "33", "34", "41", "31", "32") and nsn.startswith("0"):
                    nsn = nsn[1:]  # "+44 (0)20 …": the trunk zero written in brackets
                low, high = PHONE_LENGTHS[code]
                if not low <= len(nsn) <= high:
                    return False
                if code == "1":
                    return _nanp_ok(nsn)
                return True
        return None if plus else False  # "00" + unknown code is more often a number run than a phone
    if len(digits) == 11 and digits[0] == "1":
        digits = digits[1:]
    if len(digits) == 10 and digits[0] != "0":
        return _nanp_ok(digits)
    if digits[0] == "0" and 9 <= len(digits) <= 11 and digits[1] != "0":
        return None
    return False


def icd10(value: str) -> bool | None:
    """ICD-10 / ICD-10-CM code structure: letter, 2 digits (or digit+A), optional . and 1-4 chars."""
    text = value.strip().upper()
    if not re.fullmatch(r"[A-Z][0-9][0-9A-Z](?:\.?[0-9A-Z]{1,4})?", text):
        return False
    if text[2].isalpha() and text[2] != "A":
        return False
    return None


_MONTHS = {m.lower(): i for i, m in enumerate(calendar.month_abbr) if m}


def date_plausible(value: str) -> bool | None:
    """A calendar date in 1900-2100 (ISO, D/M/Y, M/D/Y, D.M.Y, '12 Mar 1984'); None when plausible."""
    text = value.strip()
    m = re.fullmatch(r"([0-9]{4})[-/.]([0-9]{1,2})[-/.]([0-9]{1,2})", text)
    if m:
        return None if 1900 <= int(m[1]) <= 2100 and _valid_date(int(m[1]), int(m[2]), int(m[3])) else False
    m = re.fullmatch(r"([0-9]{1,2})[-/. ]([0-9]{1,2})[-/. ]([0-9]{2}|[0-9]{4})", text)
    if m:
        a, b, y = int(m[1]), int(m[2]), int(m[3])
        if len(m[3]) == 2:
            y += 1900 if y > 30 else 2000
        if not 1900 <= y <= 2100:
            return False
        return None if _valid_date(y, b, a) or _valid_date(y, a, b) else False
    m = re.fullmatch(r"([0-9]{1,2})[ -]?([A-Za-z]{3})[A-Za-z]*\.?[ ,-]*([0-9]{4})", text)
    if m and m[2].lower() in _MONTHS:
        return None if _valid_date(int(m[3]), _MONTHS[m[2].lower()], int(m[1])) else False
    m = re.fullmatch(r"([A-Za-z]{3})[A-Za-z]*\.? ([0-9]{1,2}),? ([0-9]{4})", text)
    if m and m[1].lower() in _MONTHS:
        return None if _valid_date(int(m[3]), _MONTHS[m[1].lower()], int(m[2])) else False
    return False


def entropy(value: str) -> bool | None:
    """Random-looking token: False below 3.0 bits/char, for short values or runs; None otherwise."""
    text = value.strip()
    if len(text) < 8 or not entropy_floor.at_least(text, 3.0):
        return False
    return None


_CAMEL_TYPE = re.compile(r"_?(?:[A-Z][a-z]{2,})+[A-Z]?")  # SecretBytes, HiddenText, PassphraseCallableT
_WORD = re.compile(r"[A-Z]?[a-z]{2,16}")
_CONSONANT_RUN = re.compile(r"[^aeiouy]{4,}")


def password_literal(value: str) -> bool | None:
    """A password assignment's value: False for what reads as code or prose rather than a literal, a
    type name (`password: HiddenText | None`) or a word (`self.password = credentials`, `password:
    Decrypt the file`); None otherwise. A letters-only value that does not read as a word or a type
    name (random letters) stays a candidate."""
    text = value.strip()
    if _CAMEL_TYPE.fullmatch(text):
        return False
    if _WORD.fullmatch(text):
        low = text.lower()
        vowels = sum(c in "aeiouy" for c in low)
        if vowels * 10 >= len(low) * 3 and not _CONSONANT_RUN.search(low):
            return False
    return None


REGISTRY: dict[str, Validator] = {
    # financial
    "luhn": luhn,
    "luhn_plain": luhn_plain,
    "iban": iban,
    "swift_bic": swift_bic,
    "aba_routing": aba_routing,
    "uk_sort_code_account": uk_sort_code_account,
    "mx_clabe": mx_clabe,
    "btc_address": btc_address,
    # United States
    "us_ssn": us_ssn,
    "us_itin": us_itin,
    "us_ein": us_ein,
    "us_mbi": us_mbi,
    "us_npi": us_npi,
    "dea_number": dea_number,
    # United Kingdom
    "uk_nino": uk_nino,
    "uk_nhs": uk_nhs,
    "uk_utr": uk_utr,
    "uk_driving_licence": uk_driving_licence,
    # Europe
    "de_tax_id": de_tax_id,
    "de_id_card": de_id_card,
    "fr_nir": fr_nir,
    "es_dni": es_dni,
    "es_nie": es_nie,
    "it_codice_fiscale": it_codice_fiscale,
    "nl_bsn": nl_bsn,
    "pl_pesel": pl_pesel,
    "pl_id_card": pl_id_card,
    "be_national_number": be_national_number,
    "se_personnummer": se_personnummer,
    "dk_cpr": dk_cpr,
    "fi_hetu": fi_hetu,
    "at_svnr": at_svnr,
    "pt_nif": pt_nif,
    "ie_pps": ie_pps,
    "eu_vat_structure": eu_vat_structure,
    # rest of the world
    "ca_sin": ca_sin,
    "au_tfn": au_tfn,
    "au_medicare": au_medicare,
    "au_abn": au_abn,
    "in_aadhaar": in_aadhaar,
    "in_pan": in_pan,
    "br_cpf": br_cpf,
    "br_cnpj": br_cnpj,
    "mx_curp": mx_curp,
    "jp_my_number": jp_my_number,
    "sg_nric": sg_nric,
    "hk_hkid": hk_hkid,
    "za_id": za_id,
    "nz_ird": nz_ird,
    # contact, health, generic
    "email": email,
    "phone": phone,
    "icd10": icd10,
    "date_plausible": date_plausible,
    "entropy": entropy,
    "password_literal": password_literal,
}
