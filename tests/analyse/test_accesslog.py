"""Parsing: every request line of the real data parses, totals equal GoAccess's, garbage is
counted and never fatal, and the bulk (findall) and line-by-line paths agree."""

from __future__ import annotations

import random
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from loglane.analyse.accesslog import (
    FORMATS,
    detect_format,
    get_format,
    parse_line,
    parse_time,
    section_of,
)
from loglane.analyse.aggregate import Aggregator, Block, aggregate


def totals(block: Block) -> dict[str, object]:
    statuses: Counter[int] = Counter()
    hosts: set[str] = set()
    for d in block.details.values():
        statuses.update(d.statuses)
        hosts.update(d.hosts)
    return {
        "lines": block.lines,
        "requests": block.requests,
        "unparsed": block.unparsed,
        "bytes": sum(d.bytes for d in block.details.values()),
        "hosts": len(hosts),
        "statuses": dict(statuses),
    }


def run(path: Path, fmt: str) -> dict[str, object]:
    return totals(aggregate(get_format(fmt), [path.read_bytes()]))


# The GoAccess numbers below come from GoAccess 1.7 (Debian bookworm package 1:1.7-1), run on
# the files in tests/data/accesslog (trimmed or generated: see SOURCES.md there) as
#   goaccess FILE --log-format=FMT --no-global-config --no-ip-validation -o out.json
# and read from out.json: general.total_requests / valid_requests / failed_requests /
# bandwidth, hosts.metadata.data.total (distinct hosts) and the status_codes panel.
# --no-ip-validation is needed because GoAccess otherwise rejects hostnames in %h (the NASA
# and the generated CRLF logs have many); elastic and the vhost file give the same totals
# without it.
GOACCESS = {
    # file: (FMT, total, valid, failed, bandwidth, distinct hosts, status codes)
    "elastic_apache_logs.log": (
        "COMBINED", 1403, 1403, 0, 287528410, 303,
        {200: 1277, 206: 17, 301: 58, 304: 26, 404: 25},
    ),
    "nasa_aug95_excerpt.log": (
        "COMMON", 5239, 5239, 0, 89193789, 469,
        {200: 4663, 302: 75, 304: 388, 403: 1, 404: 112},
    ),
    "generated_common_crlf.log": (
        "COMMON", 446, 446, 0, 2824951, 10,
        {200: 291, 302: 5, 304: 84, 401: 57, 404: 8, 408: 1},
    ),
    "beats_nginx_access.log": (
        "COMBINED", 13, 13, 0, 7653453, 3, {200: 2, 206: 1, 304: 2, 404: 8},
    ),
    "beats_nginx_test.log": ("COMBINED", 7, 7, 0, 36403, 6, {200: 4, 400: 1, 404: 2}),
    "apachelogs_vhost_combined.log": ("VCOMBINED", 7, 6, 1, 3517, 1, {301: 6}),
    # goaccess generated_csv_traffic.txt --log-format='"%h","%^","%^",%x,"%r",%s,%b' \
    #   --datetime-format=%s --no-global-config -o out.json
    "generated_csv_traffic.txt": ("custom", 3681, 3680, 1, 4524344, 5, {200: 2971, 404: 347, 500: 362}),  # noqa: E501
}  # fmt: skip

OUR_FORMAT = {
    "elastic_apache_logs.log": "combined",
    "nasa_aug95_excerpt.log": "common",
    "generated_common_crlf.log": "common",
    "beats_nginx_access.log": "nginx",
    "beats_nginx_test.log": "nginx",
    "apachelogs_vhost_combined.log": "vhost_combined",
    "generated_csv_traffic.txt": "csv",
}


@pytest.mark.parametrize("name", sorted(GOACCESS))
def test_totals_equal_goaccess(name: str, accesslog: Path) -> None:
    _, total, valid, failed, bandwidth, hosts, codes = GOACCESS[name]
    got = run(accesslog / name, OUR_FORMAT[name])
    assert got["requests"] == valid
    assert got["statuses"] == codes
    assert got["bytes"] == bandwidth
    if name == "generated_csv_traffic.txt":
        # GoAccess counts the CSV header as a failed request; loglane knows it is a header
        # and counts it neither as a line of traffic nor as unparsed.
        assert (got["lines"], got["unparsed"]) == (total - 1, failed - 1)
    else:
        assert (got["lines"], got["unparsed"]) == (total, failed)
    if name == "beats_nginx_test.log":
        # GoAccess's %h takes the first space-separated token, so "10.0.0.2," (with the
        # comma) and '"10.5.102.222,' become hosts; loglane takes the address just before
        # ident/authuser ($remote_addr), giving 127.0.0.1, 172.17.0.1, 85.181.35.98,
        # 10.2.1.185, 10.2.2.121: 5 hosts, not 6.
        assert hosts == 6 and got["hosts"] == 5
    else:
        # beats_nginx_access.log: GoAccess counts "lessons.example.com" (the vhost) as the host
        # of its last line and loglane 192.168.0.1; both are one new host, so both say 3.
        assert got["hosts"] == hosts


def test_every_request_line_of_every_file_parses(accesslog_file: Path) -> None:
    path = accesslog_file
    block = aggregate(detect_format(path.read_bytes().splitlines()[:50]), [path.read_bytes()])
    expected_unparsed = [b"Bad line"] if path.name == "apachelogs_vhost_combined.log" else []
    assert block.unparsed_lines == expected_unparsed, path.name
    assert block.requests == block.lines - len(expected_unparsed)


def test_auto_detection_picks_csv_and_clf(accesslog: Path) -> None:
    csv = (accesslog / "generated_csv_traffic.txt").read_bytes().splitlines()[:10]
    assert detect_format(csv).name == "csv"
    clf = (accesslog / "generated_common_crlf.log").read_bytes().splitlines()[:10]
    assert detect_format(clf).name == "combined"


def test_nasa_tsv_through_a_regex_format(accesslog: Path) -> None:
    fmt = get_format(
        r"regex:^(?P<host>[^\t]+)\t[^\t]*\t(?P<time>\d+)\t(?P<method>\S+)\t(?P<path>[^\t?]*)"
        r"[^\t]*\t(?P<status>\d+)\t(?P<bytes>\d+)"
    )
    got = totals(aggregate(fmt, [(accesslog / "nasa_19950701_sample.tsv").read_bytes()]))
    assert got["requests"] == 1000  # every row after the header
    assert got["unparsed"] == 1  # the header row of the TSV is an ordinary unparsed line here


def test_messy_real_lines() -> None:
    clf = FORMATS["combined"]
    cases = {
        # no protocol, hostname instead of an IP
        b'pipe1.nyc.pipeline.com - - [01/Aug/1995:00:12:37 -0400] "GET /history/apollo/a.gif" 200 12859':  # noqa: E501
            ("pipe1.nyc.pipeline.com", 807250357, "/history/apollo/a.gif", "/history", 200, 12859),
        # several spaces before the protocol
        b'ccn.cs.dal.ca - - [01/Aug/1995:06:32:06 -0400] "GET /shuttle/m.txt   HTTP/1.0" 200 859736':  # noqa: E501
            ("ccn.cs.dal.ca", 807273126, "/shuttle/m.txt", "/shuttle", 200, 859736),
        # the client never sent a request; bytes "-"; CRLF
        b'h194.telia.com - - [09/Mar/2004:13:49:05 -0800] "-" 408 -\r\n':
            ("h194.telia.com", 1078868945, "", "-", 408, 0),
        b'10.0.0.1 - - [07/Mar/2004:16:05:49 -0800] "OPTIONS * HTTP/1.0" 200 -':
            ("10.0.0.1", 1078704349, "*", "*", 200, 0),
        # IPv6 and an X-Forwarded-For list before $remote_addr; empty request
        b'2a03:0:10ff::8000, 10.225.192.17 10.2.2.121 - - [30/Dec/2016:06:47:09 +0000] "GET /t.html HTTP/1.1" 404 8571 "-" "x"':  # noqa: E501
            ("10.2.2.121", 1483080429, "/t.html", "/t.html", 404, 8571),
        b'::1 - - [12/Apr/2018:09:48:40 +0200] "" 400 0 "-" "-"':
            ("::1", 1523519320, "", "-", 400, 0),
        # query strings are not part of the path
        b'1.2.3.4 - bob [10/Oct/2000:13:55:36 -0700] "GET /api/user?id=7 HTTP/1.0" 200 2326':
            ("1.2.3.4", 971211336, "/api/user", "/api", 200, 2326),
    }  # fmt: skip
    for line, expected in cases.items():
        req = parse_line(clf, line)
        assert req is not None, line
        assert tuple(req) == expected, line


def test_time_zones_are_normalised() -> None:
    a = parse_time(b"10/Oct/2000:13:55:36 -0700")
    b = parse_time(b"10/Oct/2000:22:55:36 +0200")
    assert a == b == 971211336
    assert parse_time(b"1549573860") == 1549573860
    assert parse_time(b"2000-10-10T20:55:36Z") == 971211336
    for bad in (b"31/Feb/2020:00:00:00 +0000", b"10/Foo/2000:13:55:36 -0700", b"yesterday"):
        with pytest.raises(ValueError):
            parse_time(bad)


def test_sections() -> None:
    assert section_of("/api/user") == "/api"
    assert section_of("/api") == "/api"
    assert section_of("/") == "/"
    assert section_of("*") == "*"
    assert section_of("") == "-"
    assert section_of("http://example.com/a/b") == "/a"
    assert section_of("http://example.com") == "/"


def test_bad_format_specs() -> None:
    with pytest.raises(ValueError, match="unknown format"):
        get_format("apache")
    with pytest.raises(ValueError, match="bad regex"):
        get_format("regex:(")
    with pytest.raises(ValueError, match="time"):
        get_format("regex:(?P<host>\\S+)")


def test_bulk_and_line_paths_agree_on_real_data(accesslog: Path) -> None:
    """The fast path (one findall per chunk) and the slow path (line by line, taken when any
    line fails) must give the same aggregate; force the slow path with one garbage line."""
    data = (accesslog / "elastic_apache_logs.log").read_bytes()
    fmt = FORMATS["combined"]
    fast = Aggregator(fmt, 10).aggregate(data)
    slow = Aggregator(fmt, 10).aggregate(data + b"garbage\n")
    assert slow.unparsed == 1 and fast.unparsed == 0
    assert fast.per_second == slow.per_second
    assert fast.details == slow.details
    assert fast.paths == slow.paths


def test_garbage_is_counted_never_fatal() -> None:
    rng = random.Random(7)
    good = b'1.2.3.4 - - [10/Oct/2000:13:55:36 -0700] "GET /a HTTP/1.0" 200 1\n'
    junk = [
        bytes(rng.randrange(256) for _ in range(rng.randrange(1, 300))).replace(b"\n", b"") + b"\n"
        for _ in range(200)
    ]
    huge = b"x" * (5 << 20) + b"\n"  # a 5 MB line
    binary = b"\x00\xff\xfe" * 1000 + b"\n"
    block = aggregate(FORMATS["combined"], [good + b"".join(junk) + huge + binary + good])
    assert block.requests == 2
    blank = sum(1 for j in junk if not j.strip())
    assert block.unparsed == len(junk) - blank + 2


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=2000))
def test_random_bytes_never_raise(data: bytes) -> None:
    for fmt in FORMATS.values():
        block = Aggregator(fmt, 10).aggregate(data)
        assert block.requests + block.unparsed == block.lines


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["1.2.3.4", "::1", "host.example.org"]),
            st.integers(0, 3000),
            st.sampled_from(["/", "/a", "/a/b", "/b/c?x=1", "*"]),
            st.sampled_from([200, 301, 404, 500]),
            st.one_of(st.just("-"), st.integers(0, 10**6).map(str)),
        ),
        max_size=60,
    )
)
def test_generated_clf_round_trips(rows: list[tuple[str, int, str, int, str]]) -> None:
    from datetime import UTC, datetime

    lines = []
    for host, offset, path, status, size in rows:
        t = datetime.fromtimestamp(1_700_000_000 + offset, UTC).strftime("%d/%b/%Y:%H:%M:%S +0000")
        lines.append(f'{host} - - [{t}] "GET {path} HTTP/1.1" {status} {size}\n'.encode())
    block = aggregate(FORMATS["combined"], [b"".join(lines)])
    assert block.requests == len(rows) and block.unparsed == 0
    assert sum(block.per_second.values()) == len(rows)
    assert Counter(1_700_000_000 + r[1] for r in rows) == Counter(block.per_second)
    assert sum(d.bytes for d in block.details.values()) == sum(
        0 if r[4] == "-" else int(r[4]) for r in rows
    )
