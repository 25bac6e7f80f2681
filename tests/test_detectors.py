"""Loader errors: exact `file:line: message` from small fixtures."""

import textwrap

import pytest

from addons.detectors import build_scanner
from addons.detectors import main
from addons.ruleyaml import Problems
from addons.ruleyaml import read_rule_files

GOOD = """\
  - id: secret-demo-token
    name: Demo token
    category: secret
    severity: high
    keywords: [dmo_]
    pattern: '\\bdmo_[A-Za-z0-9]{24}\\b'
    examples:
      match: ['token = dmo_${gen:A-Za-z0-9:24}']
      no_match: ['dmo_short']
"""


def load(tmp_path, body, files=None):
    d = tmp_path / "detectors"
    d.mkdir(exist_ok=True)
    (d / "x.yaml").write_text("schema: 1\ndetectors:\n" + textwrap.dedent(body))
    for name, text in (files or {}).items():
        (d / name).parent.mkdir(parents=True, exist_ok=True)
        (d / name).write_text(text)
    problems = Problems()
    scanner = build_scanner(read_rule_files(d, "detectors", problems, "rules/detectors"), problems, rules_dir=d)
    return scanner, problems.items


def M(line: int) -> str:
    return f"rules/detectors/x.yaml:{line}: detectors[0] 'secret-demo-token': "


def with_line(line_no, old, new, body=GOOD):
    lines = body.splitlines(keepends=True)
    assert old in lines[line_no]
    lines[line_no] = lines[line_no].replace(old, new)
    return "".join(lines)


def test_good(tmp_path):
    scanner, problems = load(tmp_path, GOOD)
    assert problems == [] and scanner.detector_ids == {"secret-demo-token"}


# (body, expected problem); the record starts at line 3 of x.yaml
CASES = [
    (with_line(4, "keywords:", "keyword:"),
     M(7) + "unknown field 'keyword' (did you mean 'keywords'?)"),
    (with_line(2, "secret", "secrets"),
     M(5) + "field 'category' has 'secrets', expected one of: "
     "secret, financial, national-id, pii, contact, health, source-code, classification, custom (did you mean "
     "'secret'?)"),
    (with_line(3, "high", "urgent"),
     M(6) + "field 'severity' has 'urgent', expected one of: "
     "informational, low, medium, high, critical"),
    (with_line(4, "[dmo_]", "[DMO_]"),
     M(7) + "keyword 'DMO_' must be lower-case and not blank"),
    (with_line(5, "'\\bdmo_[A-Za-z0-9]{24}\\b'", "'dmo_(?=x)'"),
     M(8) + "pattern is not valid RE2: invalid perl operator: (?="),
    (with_line(5, "'\\bdmo_[A-Za-z0-9]{24}\\b'", "'(dmo_'"),
     M(8) + "pattern is not valid RE2: missing ): (dmo_"),
    (GOOD.replace("keywords: [dmo_]", "keywordless: true").replace("'\\bdmo_[A-Za-z0-9]{24}\\b'", "'dmo_\\C{24}'"),
     M(8) + "hyperscan rejects the pattern: "),
    (with_line(5, "'\\bdmo_[A-Za-z0-9]{24}\\b'", "'x*'"),
     M(8) + "pattern matches the empty string"),
    (GOOD + "    validator: luhnn\n",
     M(12) + "unknown validator 'luhnn'"),
    (GOOD + "    secret_group: 2\n",
     M(8) + "secret_group 2 but the pattern has 0 group(s)"),
    (GOOD + "    min_count: yes\n",
     M(12) + "field 'min_count' must be an integer, got the boolean true"),
    (GOOD + "    confidence: 1.5\n",
     M(12) + "confidence must be between 0 and 1, got 1.5"),
    (GOOD + "    context: {words: [x], windw: 3}\n",
     "rules/detectors/x.yaml:12: detectors[0] 'secret-demo-token' context: unknown field 'windw' (did you mean "
     "'window'?)"),
    (GOOD.replace("    keywords: [dmo_]\n", ""),
     M(7) + "a pattern detector needs 'keywords' (or "
     "'keywordless: true' when no literal anchor exists)"),
    (GOOD + "    words_file: w.txt\n",
     M(12) + "exactly one of 'pattern', 'words_file', "
     "'edm_file' is required (found pattern, words_file)"),
    (GOOD.replace("token = dmo_${gen:A-Za-z0-9:24}", "token = dmo_${gen:A-Za-z0-9:23}"),
     M(10) + "example match[0] was not found"),
    (GOOD.replace("'dmo_short'", "'dmo_abcdefghijklmnopqrstuvwx'"),
     M(11) + "example no_match[0] was found as 'dmo_…wx' "
     "(view raw)"),
    (GOOD + "    examples2: {}\n",
     M(12) + "unknown field 'examples2' (did you mean "
     "'examples'?)"),
    (GOOD.replace("      no_match: ['dmo_short']\n", ""),
     M(9) + "examples need at least one 'no_match' entry"),
    (with_line(4, "keywords: [dmo_]", "not_after: '(?<=x)y'\n    keywords: [dmo_]"),
     M(7) + "not_after is not valid RE2"),
    (with_line(4, "keywords: [dmo_]", "generic: 'yes'\n    keywords: [dmo_]"),
     M(7) + "field 'generic' must be true or false"),
    (GOOD + GOOD,
     "rules/detectors/x.yaml:12: duplicate detector id 'secret-demo-token' (first at rules/detectors/x.yaml:3)"),
    (GOOD.replace("secret-demo-token", "demo-token"),
     "rules/detectors/x.yaml:3: detectors[0] 'demo-token': id 'demo-token' must start with a family prefix"),
]


@pytest.mark.parametrize(("body", "expected"), CASES, ids=range(len(CASES)))
def test_problem_messages(tmp_path, body, expected):
    _, problems = load(tmp_path, body)
    assert any(p.startswith(expected) for p in problems), problems


def assignment(rid: str, category: str, flags: str = "") -> str:
    """A `token = <value>` detector record (the same shape in any category)."""
    return f"""\
  - id: {rid}
    name: Token assignment ({category})
    category: {category}
    severity: medium{flags}
    keywords: [token]
    pattern: 'token = ([A-Za-z0-9_]{{20,40}})'
    secret_group: 1
    examples:
      match: ['token = zz${{gen:A-Za-z0-9:24}}']
      no_match: ['token = short']
"""


GENERIC = assignment("secret-demo-assignment", "secret", "\n    generic: true") + assignment(
    "pii-demo-assignment", "pii")


def test_a_generic_detector_yields_to_a_specific_one_of_its_category_on_the_same_value(tmp_path):
    import secrets

    from addons.fingerprint import Fingerprinter
    from addons.model import Segment

    scanner, problems = load(tmp_path, GOOD + GENERIC)
    assert problems == []

    def found(text: str) -> list[tuple[str, int, int]]:
        report = scanner.scan([Segment("body", text)], fingerprinter=Fingerprinter.ephemeral())
        return sorted((f.detector_id, f.start, f.end) for f in report.findings)

    key = "dmo_" + secrets.token_hex(12)
    other = "zz" + secrets.token_hex(12)
    # the specific token wins over the generic assignment; the other category keeps its own finding
    assert found(f"token = {key}") == [("pii-demo-assignment", 8, 36), ("secret-demo-token", 8, 36)]
    # without a specific detector's finding, the generic one is reported
    assert found(f"token = {other}") == [("pii-demo-assignment", 8, 34), ("secret-demo-assignment", 8, 34)]
    # a specific finding elsewhere in the text does not hide the generic one
    assert [d for d, _, _ in found(f"token = {other} and {key}")] == [
        "pii-demo-assignment", "secret-demo-assignment", "secret-demo-token"]


def test_failing_detector_is_not_scanned(tmp_path):
    scanner, problems = load(tmp_path, GOOD.replace("'dmo_short'", "'dmo_abcdefghijklmnopqrstuvwx'"))
    assert problems and "secret-demo-token" not in scanner.detector_ids


def test_evasion_example_must_be_found(tmp_path):
    body = GOOD + "      evasions: ['dmo-${gen:A-Za-z0-9:24}']\n"
    _, problems = load(tmp_path, body)
    assert problems == [M(12) + "example evasions[0] was not found"]


WORDS = """\
  - id: custom-names
    name: Names
    category: custom
    severity: low
    words_file: {file}
    examples: {{match: ['the bluefalcon'], no_match: ['falcon']}}
"""


def test_word_list_problems(tmp_path):
    _, problems = load(tmp_path, WORDS.format(file="missing.txt"))
    assert problems[0].startswith("rules/detectors/x.yaml:7: detectors[0] 'custom-names': file 'missing.txt' not found")
    _, problems = load(tmp_path, WORDS.format(file="../../etc/passwd"))
    assert "must be a path inside the detectors directory" in problems[0]
    _, problems = load(tmp_path, WORDS.format(file="w/n.txt"), {"w/n.txt": "# c\nbluefalcon\nab\n"})
    assert problems == ["rules/detectors/w/n.txt:3: detectors[0] 'custom-names': word 'ab' is too short "
                        "(at least 3 characters)"]


def test_disabled_detector_is_validated_but_not_run(tmp_path):
    body = GOOD.replace("severity: high", "severity: high\n    enabled: false")
    scanner, problems = load(tmp_path, body)
    assert problems == [] and scanner.detector_ids == frozenset()
    assert scanner.detector("secret-demo-token").enabled is False
    _, problems = load(tmp_path, body.replace("{24}", "{24}(?=x)"))
    assert "pattern is not valid RE2" in problems[0]


def test_cli(tmp_path, capsys):
    load(tmp_path, GOOD)
    assert main([str(tmp_path)]) == 0
    assert "1 detectors loaded" in capsys.readouterr().out
    load(tmp_path, with_line(4, "keywords:", "keyword:"))
    assert main([str(tmp_path)]) == 1
    assert "unknown field 'keyword'" in capsys.readouterr().out


def test_short_keyword_inside_a_word_is_reported_with_the_reason(tmp_path):
    body = (GOOD.replace("keywords: [dmo_]", "keywords: [q~]")
            .replace("'\\bdmo_[A-Za-z0-9]{24}\\b'", "'[0-9]Q~[A-Za-z0-9]{24}'")
            .replace("token = dmo_${gen:A-Za-z0-9:24}", "secret=7Q~${gen:A-Za-z0-9:24}"))  # fmt: skip
    _, problems = load(tmp_path, body)
    assert problems == [M(10) + "example match[0] was not found (keyword 'q~' occurs only inside a word here, "
                        "and a keyword of at most 4 characters counts only at the start of a word: add a "
                        "longer keyword)"]
    _, problems = load(tmp_path, body.replace("secret=7Q~", "secret=7 Q~").replace("'[0-9]Q~", "'[0-9] Q~"))
    assert problems == []
