"""Tests for addons/validators.py: valid / invalid tables for every validator in REGISTRY.

Valid checksum values come from two sources: public specimen values (python-stdnum doctests, the
German ID-card specimen, ECBS IBAN examples, CMS MBI specimen) and values completed here by small
independent implementations of the published algorithms. Invalid values change one character.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from addons.validators import REGISTRY

ROOT = Path(__file__).resolve().parent.parent

# ---------------------------------------------------------------------------------------------
# Independent check-digit completion (written from the specifications, not from validators.py)


def luhn_complete(body: str) -> str:
    for c in "0123456789":
        digits = [int(d) for d in body + c][::-1]
        total = sum(d if i % 2 == 0 else (d * 2 - 9 if d * 2 > 9 else d * 2) for i, d in enumerate(digits))
        if total % 10 == 0:
            return body + c
    raise AssertionError(body)


def grouped(digits: str) -> str:
    return " ".join(digits[i:i + 4] for i in range(0, len(digits), 4))


def iban_complete(country: str, bban: str) -> str:
    numeric = "".join(str(int(c, 36)) for c in bban + country + "00")
    return f"{country}{98 - int(numeric) % 97:02d}{bban}"


_D = [[0, 1, 2, 3, 4, 5, 6, 7, 8, 9], [1, 2, 3, 4, 0, 6, 7, 8, 9, 5], [2, 3, 4, 0, 1, 7, 8, 9, 5, 6],
      [3, 4, 0, 1, 2, 8, 9, 5, 6, 7], [4, 0, 1, 2, 3, 9, 5, 6, 7, 8], [5, 9, 8, 7, 6, 0, 4, 3, 2, 1],
      [6, 5, 9, 8, 7, 1, 0, 4, 3, 2], [7, 6, 5, 9, 8, 2, 1, 0, 4, 3], [8, 7, 6, 5, 9, 3, 2, 1, 0, 4],
      [9, 8, 7, 6, 5, 4, 3, 2, 1, 0]]  # fmt: skip
_P = [[0, 1, 2, 3, 4, 5, 6, 7, 8, 9], [1, 5, 7, 6, 2, 8, 3, 0, 9, 4]]
for _ in range(6):
    _P.append([_P[1][x] for x in _P[-1]])
_INV = [0, 4, 3, 2, 1, 5, 6, 7, 8, 9]


def verhoeff_complete(body: str) -> str:
    c = 0
    for i, d in enumerate(reversed(body)):
        c = _D[c][_P[(i + 1) % 8][int(d)]]
    return body + str(_INV[c])


def mod11_complete(body: str, weights: list[int]) -> str | None:
    """NHS-style: check = 11 - (sum mod 11), 11 → 0, 10 → no valid number."""
    check = 11 - sum(int(d) * w for d, w in zip(body, weights, strict=True)) % 11
    return None if check == 10 else body + str(check % 11)


def iso7064_11_10_complete(body: str) -> str:
    product = 10
    for d in body:
        s = (int(d) + product) % 10 or 10
        product = s * 2 % 11
    return body + str((11 - product) % 10)


def dni_complete(number: str) -> str:
    return number + "TRWAGMYFPDXBNJZSQVHLCKE"[int(number) % 23]


def cpf_complete(body: str) -> str:
    for n in (10, 11):
        total = sum(int(d) * w for d, w in zip(body, range(n, 1, -1), strict=True))
        body += str(0 if total % 11 < 2 else 11 - total % 11)
    return body


def mod97_complete(body: str) -> str:
    return body + f"{97 - int(body) % 97:02d}"


# ---------------------------------------------------------------------------------------------
# Tables: (validator, value, index of the check character to alter for the invalid twin or None)

CHECKSUM_VALID: list[tuple[str, str, int | None]] = [
    # payment cards: fabricated bodies under real issuer prefixes, completed with Luhn, printed grouped
    ("luhn", grouped(luhn_complete("442180967929081")), -1),  # Visa 16
    ("luhn", grouped(luhn_complete("532180967929081")), -1),  # Mastercard
    ("luhn", grouped(luhn_complete("222174218096792")), -1),  # Mastercard 2-series
    ("luhn", "3717 421809 67927", -1),  # Amex 15 (4-6-5)
    ("luhn", grouped(luhn_complete("601121742180967")), -1),  # Discover
    ("luhn", grouped(luhn_complete("353074218096792")), -1),  # JCB
    ("luhn", "3621 742180 9672", -1),  # Diners 14 (4-6-4)
    ("luhn", grouped(luhn_complete("625421809679290")), -1),  # UnionPay
    ("luhn", grouped(luhn_complete("675942180967929081")), -1),  # Maestro 19
    ("luhn", "4421 8096 7929 0814", -1),
    ("luhn", "4421-8096-7929-0814", -1),
    ("luhn_plain", luhn_complete("49015420323751"), -1),  # IMEI-shaped
    ("iban", "GB82 WEST 1234 5698 7654 32", -1),  # ECBS example
    ("iban", "GR16 0110 1050 0000 1054 7023 795", -1),  # python-stdnum doctest
    ("iban", iban_complete("DE", "945807302157368193"), -1),
    ("iban", iban_complete("FR", "94580730215736819303642"), -1),
    ("iban", iban_complete("NL", "RABO9458073021"), -1),
    ("aba_routing", "111000025", -1),  # python-stdnum doctest
    ("aba_routing", "324580730", -1),
    ("mx_clabe", "032180000118359719", -1),  # python-stdnum doctest
    ("btc_address", "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2", None),  # bitcoin wiki example
    ("btc_address", "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq", None),
    ("us_npi", "1234567893", -1),  # CMS check-digit example
    ("us_npi", luhn_complete("80840" + "164262129")[5:], -1),
    ("dea_number", "AB1234563", -1),
    ("dea_number", "FX5807308", -1),
    ("uk_nhs", "943 476 5870", -1),  # python-stdnum doctest
    ("uk_nhs", mod11_complete("458073021", [10, 9, 8, 7, 6, 5, 4, 3, 2]) or "", -1),
    ("uk_utr", "1955839661", 0),  # python-stdnum doctest
    ("de_tax_id", "36 574 261 809", -1),  # python-stdnum doctest
    ("de_tax_id", "86095742719", -1),  # widely published sample Steuer-ID
    ("de_tax_id", iso7064_11_10_complete("2131087654"), -1),
    ("de_id_card", "T220001293", -1),  # Personalausweis specimen (Erika Mustermann)
    ("fr_nir", "2 95 10 99 126 111 93", -1),  # python-stdnum doctest
    ("fr_nir", mod97_complete("1680233303642"), -1),
    ("fr_nir", "2580" + "12A302157" + "51", -1),  # Corsica 2A: key computed with 19
    ("es_dni", "54362315-K", -1),  # python-stdnum doctest
    ("es_dni", dni_complete("94580730"), -1),
    ("es_nie", "X2482300W", -1),
    ("es_nie", "Z" + dni_complete("24580730")[1:], -1),
    ("it_codice_fiscale", "RCCMNL83S18D969H", -1),  # python-stdnum doctest
    ("it_codice_fiscale", "MRTMTT91D08F205J", -1),
    ("nl_bsn", "111222333", -1),  # python-stdnum doctest
    ("nl_bsn", "215736813", -1),
    ("pl_pesel", "44051401359", -1),  # python-stdnum doctest
    ("pl_pesel", "09252458072", -1),  # born 2009 (month + 20)
    ("pl_id_card", "ABA300000", 3),  # Wikipedia example
    ("be_national_number", "85.07.30-033 28", -1),  # python-stdnum doctest
    ("be_national_number", "17 07 30 033 84", -1),  # born 2017 ("2" prefix variant)
    ("se_personnummer", "880320-0016", -1),  # python-stdnum doctest
    ("se_personnummer", "19930825-3021", -1),
    ("fi_hetu", "131052-308T", -1),  # python-stdnum doctest
    ("fi_hetu", "261293-759X", -1),
    ("at_svnr", "1237 010180", 3),  # python-stdnum doctest
    ("pt_nif", "501964843", -1),  # python-stdnum doctest
    ("ie_pps", "6433435F", 7),  # python-stdnum doctest
    ("ie_pps", "6433435OA", 7),
    ("ie_pps", "6433435IH", 7),
    ("ca_sin", "123-456-782", -1),  # python-stdnum doctest
    ("ca_sin", luhn_complete("54580730"), -1),
    ("au_tfn", "123 456 782", -1),  # python-stdnum doctest
    ("au_medicare", "6458073071", 8),
    ("au_abn", "83 914 571 673", -1),  # python-stdnum doctest
    ("in_aadhaar", "234123412346", -1),  # python-stdnum doctest
    ("in_aadhaar", verhoeff_complete("65807302157"), -1),
    ("br_cpf", "390.533.447-05", -1),  # python-stdnum doctest
    ("br_cpf", cpf_complete("945807302"), -1),
    ("br_cnpj", "16.727.230/0001-97", -1),  # python-stdnum doctest
    ("br_cnpj", "12.ABC.345/01DE-35", -1),  # alphanumeric CNPJ (2026)
    ("mx_curp", "BOXW310820HNERXN09", -1),  # python-stdnum doctest
    ("jp_my_number", "6214 9832 0257", -1),  # python-stdnum doctest
    ("sg_nric", "S1234567D", -1),
    ("sg_nric", "T1234567J", -1),
    ("sg_nric", "F1234567N", -1),
    ("sg_nric", "G1234567X", -1),
    ("sg_nric", "M1234567K", -1),  # M series (2022+)
    ("hk_hkid", "G123456(A)", -2),
    ("hk_hkid", "AB987654(3)", -2),
    ("za_id", "7503305044089", -1),  # python-stdnum doctest
    ("nz_ird", "4909185-0", -1),  # python-stdnum doctest
    ("nz_ird", "49-098-576", -1),  # second-pass weights
]

STRUCTURE_ONLY: list[tuple[str, str]] = [  # well-formed, nothing to verify → None
    ("luhn", luhn_complete("442180967929081")),  # a bare run passes Luhn but stays "no opinion"
    ("luhn", luhn_complete("37174218096792")),
    ("swift_bic", "DEUTDEFF"),
    ("swift_bic", "COBADEFFXXX"),
    ("uk_sort_code_account", "20-45-77 41234567"),
    ("uk_sort_code_account", "20-45-77, account no. 41234567"),
    ("us_ssn", "536-22-1234"),
    ("us_ssn", "361955875"),
    ("us_itin", "912-70-1234"),
    ("us_itin", "994-90-8073"),
    ("us_ein", "84-3920175"),
    ("us_mbi", "1EG4-TE5-MK73"),  # CMS specimen
    ("uk_nino", "AB123456C"),
    ("uk_nino", "JM 48 21 07 C"),
    ("uk_driving_licence", "MORGA657054SM9IJ"),  # DVLA specimen
    ("de_id_card", "C01X00T47"),  # passport specimen: 9 characters, no check digit given
    ("fr_nir", "2951099126111"),  # 13 characters without the key
    ("dk_cpr", "211062-5629"),
    ("eu_vat_structure", "DE123456789"),
    ("in_pan", "AFZPK7190K"),
    ("icd10", "E11.9"),
    ("icd10", "C4A.1"),
    ("icd10", "S72.001A"),
    ("icd10", "I10"),
    ("date_plausible", "1984-03-12"),
    ("date_plausible", "04/11/1979"),
    ("date_plausible", "12 March 1984"),
    ("date_plausible", "Mar 12, 1984"),
    ("entropy", "kq3VzP0wX7nR2s"),
    ("password_literal", "VpPZkyWnVAMzhPRKKyEv"),
    ("phone", "020 7946 0018"),
    ("phone", "+855 12 345 678"),  # code outside the built-in table: no opinion
    ("email", "jane@firma.rs"),
]

TRUE_OTHER: list[tuple[str, str]] = [  # True without a check character to alter
    ("email", "priya.raman@northwind-foods.co.uk"),
    ("email", "m.okafor+billing@acmecorp.com"),
    ("phone", "+44 20 7946 0018"),
    ("phone", "+44 (0)20 7946 0018"),
    ("phone", "+1 (415) 555-0134"),
    ("phone", "0049 30 12345678"),
    ("phone", "+33 6 12 34 56 78"),
    ("phone", "(415) 555-0134"),
    ("phone", "+91 98765 43210"),
]

INVALID: list[tuple[str, str]] = [  # hand-picked near-misses → False
    ("luhn", "4111 1111 1111 1111"),  # public test number: all-same body
    ("luhn", "1234567812345670"),  # Luhn-valid, no issuer range starts with 1
    ("luhn", "4421809679290"),  # 13 digits: Visa length ok, Luhn fails
    ("luhn", "35693803564380"),  # 14 digits under JCB prefix
    ("luhn", "4421 8096 7929 08a4"),
    ("iban", "XX82WEST12345698765432"),  # unknown country
    ("iban", "GB82WEST1234569876543"),  # wrong length for GB
    ("iban", "DE00 0000 0000 0000 0000 00"),
    ("swift_bic", "DEUTQQFF"),  # QQ is not a country
    ("swift_bic", "DEUTDEF"),
    ("swift_bic", "DEUTDEFO"),
    ("aba_routing", "123456789"),
    ("aba_routing", "994580730"),  # prefix 99 is not a Federal Reserve district
    ("uk_sort_code_account", "00-00-00 00000000"),
    ("uk_sort_code_account", "20-45-77 4123"),
    ("us_ssn", "000-12-3456"),
    ("us_ssn", "666-12-3456"),
    ("us_ssn", "912-34-5678"),
    ("us_ssn", "123-00-4567"),
    ("us_ssn", "123-45-0000"),
    ("us_ssn", "078-05-1120"),  # Woolworth wallet card
    ("us_ssn", "219-09-9999"),  # Social Security Board pamphlet
    ("us_ssn", "987-65-4321"),
    ("us_ssn", "361-95 5875"),  # mixed separators
    ("us_itin", "912-40-1234"),
    ("us_itin", "812-70-1234"),
    ("us_ein", "07-3920175"),
    ("us_mbi", "1SG4-TE5-MK73"),
    ("us_mbi", "0EG4-TE5-MK73"),
    ("us_npi", "3234567893"),
    ("dea_number", "ZB1234563"),
    ("uk_nino", "QQ123456C"),
    ("uk_nino", "GB123456C"),
    ("uk_nino", "AB123456E"),
    ("uk_nino", "AO123456C"),
    ("uk_nhs", "0000000000"),
    ("uk_driving_licence", "MORGA613454SM9IJ"),  # month 13
    ("de_tax_id", "01234567890"),  # leading zero
    ("de_tax_id", "11111111116"),  # no digit may repeat like this
    ("de_tax_id", "12345678903"),  # every digit once: one must repeat
    ("de_id_card", "A220001293"),
    ("fr_nir", "5 95 10 99 126 111 93"),
    ("es_dni", "1234567Z"),
    ("es_nie", "W2482300W"),
    ("it_codice_fiscale", "RCCMNL83S18D969"),
    ("it_codice_fiscale", "RCCMNL83Z18D969H"),  # Z is not a month letter
    ("nl_bsn", "000000000"),
    ("pl_pesel", "44131401359"),  # month 13
    ("be_national_number", "85.13.30-033 28"),
    ("se_personnummer", "881320-0016"),
    ("dk_cpr", "310262-5629"),  # 31 February
    ("fi_hetu", "310252-308Y"),  # python-stdnum doctest: invalid date
    ("fi_hetu", "131052-001T"),  # individual numbers start at 002
    ("at_svnr", "0237 010180"),
    ("pt_nif", "001964843"),
    ("ie_pps", "6433435"),
    ("ca_sin", "046-454-286"),  # first digit 0
    ("au_tfn", "12345"),
    ("au_medicare", "1458073071"),  # first digit must be 2-6
    ("au_medicare", "6458073070"),  # issue number 0
    ("in_aadhaar", "123412341234"),  # first digit 0/1 not issued
    ("in_aadhaar", "234123321432"),  # palindrome
    ("in_pan", "AFZQK7190K"),  # Q is not a holder type
    ("in_pan", "AFZPK0000K"),
    ("br_cpf", "111.111.111-11"),
    ("br_cnpj", "11.111.111/1111-11"),
    ("mx_curp", "BOXW311320HNERXN09"),  # month 13
    ("mx_curp", "BOXW310820HZZRXN09"),  # ZZ is not a state
    ("jp_my_number", "6214 9832 025X"),
    ("sg_nric", "A1234567D"),
    ("hk_hkid", "G12345(A)"),
    ("za_id", "7513305044089"),
    ("nz_ird", "4909185-1"),
    ("nz_ird", "9125568"),
    ("btc_address", "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN3"),
    ("btc_address", "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdr"),
    ("btc_address", "0BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2"),
    ("mx_clabe", "032180000118359718"),
    ("luhn_plain", "0000000000"),
    ("luhn_plain", "49015420323750"),
    ("uk_utr", "0000000000"),
    ("uk_utr", "195583966"),
    ("au_abn", "03 914 571 673"),
    ("au_abn", "83 914 571 674"),
    ("pl_id_card", "AB1300000"),
    ("pl_id_card", "ABA400000"),
    ("eu_vat_structure", "US123456789"),
    ("email", "logo@2x.png"),
    ("email", "a..b@example.com"),
    ("email", "no-at-sign.example.com"),
    ("email", "x@localhost"),
    ("email", "x@domain.c0m"),
    ("phone", "+33 1 23"),
    ("phone", "+1 (415) 155-0134"),  # exchange cannot start with 1
    ("phone", "(911) 555-0134"),  # N11 area code
    ("phone", "+0 20 7946 0018"),
    ("phone", "0050118974000"),  # 00 + unknown code: a digit run
    ("phone", "12345"),
    ("phone", "+44 7777 777777"),  # 7 identical trailing digits
    ("icd10", "E1X.9"),
    ("icd10", "1E1.9"),
    ("icd10", "E11.12345"),
    ("date_plausible", "1984-13-12"),
    ("date_plausible", "31/02/1979"),
    ("date_plausible", "12/03/1850"),
    ("date_plausible", "not a date"),
    ("entropy", "aaaaaaaaaaaa"),
    ("password_literal", "credentials"),
    ("entropy", "short"),
]


def _alter(value: str, index: int) -> str:
    """Change one character: a digit to the next digit, a letter to the next letter."""
    ch = value[index]
    if ch.isdigit():
        new = str((int(ch) + 1) % 10)
    elif ch.isalpha():
        new = chr((ord(ch.upper()) - 65 + 1) % 26 + 65)
    else:
        raise AssertionError(f"cannot alter {ch!r}")
    i = index % len(value)
    return value[:i] + new + value[i + 1:]


@pytest.mark.parametrize(("name", "value", "index"), CHECKSUM_VALID, ids=lambda v: str(v))
def test_checksum_valid(name: str, value: str, index: int | None) -> None:
    assert REGISTRY[name](value) is True


@pytest.mark.parametrize(
    ("name", "value", "index"), [c for c in CHECKSUM_VALID if c[2] is not None], ids=lambda v: str(v)
)
def test_one_character_changed_is_invalid(name: str, value: str, index: int) -> None:
    assert REGISTRY[name](_alter(value, index)) is False


@pytest.mark.parametrize(("name", "value"), STRUCTURE_ONLY, ids=lambda v: str(v))
def test_structure_only_has_no_opinion(name: str, value: str) -> None:
    assert REGISTRY[name](value) is None


@pytest.mark.parametrize(("name", "value"), TRUE_OTHER, ids=lambda v: str(v))
def test_true(name: str, value: str) -> None:
    assert REGISTRY[name](value) is True


@pytest.mark.parametrize(("name", "value"), INVALID, ids=lambda v: str(v))
def test_invalid(name: str, value: str) -> None:
    assert REGISTRY[name](value) is False


def test_every_validator_has_cases() -> None:
    covered = {n for n, *_ in CHECKSUM_VALID} | {n for n, _ in STRUCTURE_ONLY + TRUE_OTHER}
    missing_valid = set(REGISTRY) - covered
    altered = {n for n, _, index in CHECKSUM_VALID if index is not None}
    missing_invalid = set(REGISTRY) - {n for n, _ in INVALID} - altered
    assert not missing_valid, f"no valid case for {sorted(missing_valid)}"
    assert not missing_invalid, f"no invalid case for {sorted(missing_invalid)}"


_ODD_INPUTS = ["", " ", "-", "0", "٤٤٢١", "４４２１", "A" * 200, "9" * 40, "@@", "+", "()", "\u200b", "2A",
               "é"]


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_never_raises(name: str) -> None:
    for value in _ODD_INPUTS:
        assert REGISTRY[name](value) in (True, False, None)


def test_non_ascii_digits_are_not_digits() -> None:
    # the engine folds ٤ → 4 in its normalised view before validating; validators see ASCII only
    assert REGISTRY["luhn"]("٤٤٢١٨٠٩٦٧٩٢٩٠٨١٤") is False


def test_detector_files_name_known_validators() -> None:
    names = set()
    for path in (ROOT / "rules" / "detectors").glob("*.yaml"):
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError:
            continue  # the rule loader reports syntax errors with file:line
        for det in data.get("detectors") or []:
            if isinstance(det, dict) and det.get("validator"):
                names.add(det["validator"])
    assert names <= set(REGISTRY), sorted(names - set(REGISTRY))


@pytest.mark.parametrize(("value", "verdict"), [
    ("credentials", False), ("Decrypt", False), ("HiddenText", False), ("_PasswordType", False),
    ("PassphraseCallableT", False), ("SecretBytes", False),
    ("VpPZkyWnVAMzhPRKKyEv", None), ("kxqzvbwmtlrp", None), ("hunter2!", None), ("Tr0ub4dor&3", None),
])
def test_password_literal_drops_words_and_type_names_only(value, verdict):
    assert REGISTRY["password_literal"](value) is verdict
