"""JUnit XML is found from the document and parsed within bounds; files not understood are said."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from loglane.accumulate import cli, results_cli
from loglane.accumulate.junit import MAX_DEPTH, is_junit
from loglane.accumulate.parsers import Status, parse_text
from loglane.accumulate.store import Store
from loglane.accumulate.summary import load

P, F, S = Status.PASS, Status.FAIL, Status.SKIP
SUITE = (
    '<testsuite name="s"><testcase classname="k" name="a"/>'
    '<testcase classname="k" name="b"><failure message="x"/></testcase>'
    '<testcase name="c"><skipped/></testcase></testsuite>\n'
)
WANT = [("k.a", P), ("k.b", F), ("c", S)]


@pytest.mark.parametrize("length", [1_999, 2_000, 2_001, 5_000, 1_000_000])
def test_a_comment_of_any_length_before_the_root_is_skipped(length: int) -> None:
    text = '<?xml version="1.0"?>\n<!--' + "licence " * (length // 8) + "-->\n" + SUITE
    p = parse_text(text, whole=True, source="j.xml")
    assert p.outcomes == WANT and p.anomalies == 0


def test_prolog_with_bom_pi_doctype_and_internal_subset() -> None:
    text = (
        '\ufeff<?xml version="1.0" encoding="UTF-8"?>\n<?xml-stylesheet href="x.xsl"?>\n'
        "<!DOCTYPE testsuite [ <!ELEMENT testsuite ANY> ]>\n<!-- a > b -->\n" + SUITE
    )
    assert parse_text(text, whole=True).outcomes == WANT


def test_namespaced_root_and_testsuites_wrapper() -> None:
    text = (
        f'<j:testsuites xmlns:j="urn:x">{SUITE.replace("testsuite", "j:testsuite")}</j:testsuites>'
    )
    assert parse_text(text, whole=True).outcomes == [("k.a", P), ("k.b", F), ("c", S)]


def test_other_xml_and_text_starting_with_a_tag_are_not_junit() -> None:
    assert not is_junit("<html><testsuite/></html>")
    assert not is_junit("<!-- unterminated comment <testsuite>")
    assert not is_junit("<info> Test: a")
    p = parse_text("<info> Test: a\n<info> Result: PASS\n", whole=True)
    assert p.outcomes == [("a", P)]  # a log whose lines start with a tag is read as lines


# XML's characters (no control characters), without the ones that would end the construct
xml_chars = st.characters(min_codepoint=0x20, max_codepoint=0xD7FF)
comments = st.text(xml_chars.filter(lambda c: c != "-"), max_size=3000).map(lambda t: f"<!--{t}-->")
pis = st.text(xml_chars.filter(lambda c: c != "?"), max_size=300).map(lambda t: f"<?pi {t}?>")
spaces = st.sampled_from(["", " ", "\n", "\r\n", "\t"])


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(spaces, st.one_of(comments, pis)), max_size=6), spaces)
def test_any_prolog_of_comments_and_instructions_is_skipped(
    prolog: list[tuple[str, str]], tail: str
) -> None:
    text = "".join(a + b for a, b in prolog) + tail + SUITE
    p = parse_text(text, whole=True)
    assert p.outcomes == WANT and p.anomalies == 0


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=500))
def test_arbitrary_text_never_raises(text: str) -> None:
    for t in (text, "<" + text, "<testsuite>" + text, "<!--" + text):
        p = parse_text(t, whole=True, source="x")
        assert p.recognised <= p.lines
        is_junit(t)


def test_deep_nesting_is_an_anomaly_within_a_memory_bound(tmp_path: Path) -> None:
    """A 14 MB document nested 2 million deep took 554 MB more memory (ElementTree); expat
    without a depth bound still took 375 MB. Measured in a child process, peak RSS."""
    script = tmp_path / "deep.py"
    script.write_text(
        "import resource\n"
        "from loglane.accumulate.parsers import parse_text\n"
        "n = 2_000_000\n"
        "text = '<testsuite>' + '<a>' * n + '</a>' * n + '</testsuite>'\n"
        "before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "p = parse_text(text, whole=True, source='deep.xml')\n"
        "grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before\n"
        "print(grown // 1024, p.anomalies, len(p.outcomes))\n"
    )
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    grown_mb, anomalies, outcomes = map(int, out.stdout.split())
    assert anomalies == 1 and outcomes == 0
    assert grown_mb < 50, f"parsing grew the process by {grown_mb} MB"


def test_nesting_up_to_the_bound_is_parsed() -> None:
    depth = MAX_DEPTH - 4  # testsuite, x, testcase and failure make MAX_DEPTH
    text = (
        "<testsuite>"
        + "<g>" * depth
        + SUITE.replace("<testsuite", "<x").replace("</testsuite>", "</x>").replace("\n", "")
        + "</g>" * depth
        + "</testsuite>"
    )
    assert parse_text(text, whole=True).outcomes == WANT
    deeper = text.replace("<testsuite>", "<testsuite><g>", 1).replace(
        "</testsuite>", "</g></testsuite>"
    )
    p = parse_text(deeper, whole=True)
    assert p.outcomes == [] and p.anomalies == 1


LAUGHS = (
    '<?xml version="1.0"?>\n<!DOCTYPE testsuite [\n <!ENTITY lol "lol">\n'
    + "".join(
        f' <!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">\n'
        for i in range(1, 10)
    )
    + ']>\n<testsuite><testcase name="&lol9;"/></testsuite>\n'
)


def test_billion_laughs_is_an_anomaly_quickly() -> None:
    started = time.perf_counter()
    p = parse_text(LAUGHS, whole=True)
    assert p.outcomes == [] and p.anomalies == 1
    assert time.perf_counter() - started < 1.0


def test_any_entity_declaration_is_refused() -> None:
    """As defusedxml does: a harmless-looking internal entity, and an external one (XXE)."""
    internal = '<!DOCTYPE testsuite [<!ENTITY n "x">]><testsuite><testcase name="&n;"/></testsuite>'
    external = (
        '<!DOCTYPE testsuite [<!ENTITY n SYSTEM "file:///etc/hostname">]>'
        '<testsuite><testcase name="a">&n;</testcase></testsuite>'
    )
    for text in (internal, external):
        p = parse_text(text, whole=True)
        assert p.outcomes == [] and p.anomalies == 1, text


def test_a_file_not_understood_is_counted_and_said(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "good.log").write_text("Test: a\nResult: PASS\n")
    (tmp_path / "notes.txt").write_text("nothing here\nlooks like a test\n")
    (tmp_path / "other.xml").write_text("<html><body>hi</body></html>\n")
    (tmp_path / "empty.log").write_text("")
    store = str(tmp_path / "r.db")
    assert (
        cli.main(
            [str(tmp_path / n) for n in ("good.log", "notes.txt", "other.xml", "empty.log")]
            + ["--store", store]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "2 files not understood" in out and "notes.txt" in out and "other.xml" in out
    with Store(store) as st_:
        s = load(st_)
    assert {r.source.rsplit("/", 1)[1] for r in s.not_understood()} == {"notes.txt", "other.xml"}
    assert sum(r.anomalies for r in s.sources.values()) == 2
    assert results_cli.main(["--store", store]) == 0
    assert "not understood (nothing recognised): 2" in capsys.readouterr().out
    assert results_cli.main(["--store", store, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["totals"]["sources_not_understood"] == 2
