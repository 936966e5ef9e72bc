"""Write the two access logs the project makes itself (tests/data/accesslog/generated_*).

    python tests/data/generate_accesslog.py [DIR]     # DIR: tests/data/accesslog by default

They replace real files whose licence is unclear (see tests/data/accesslog/SOURCES.md) and
exercise the same cases. The output is the same bytes on every run and every Python version:
the numbers come from splitmix64 below, not from `random` (whose methods may change), and
month names from a table, not from the locale. tests/data/test_accesslog_data.py checks that
the committed files are exactly what this script writes.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")
MASK = (1 << 64) - 1
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

CSV_NAME = "generated_csv_traffic.txt"
CLF_NAME = "generated_common_crlf.log"


class Rng:
    """splitmix64 (Steele, Lea, Flood 2014): small, fast, and fixed forever."""

    def __init__(self, seed: int) -> None:
        self.state = seed & MASK

    def next(self) -> int:
        self.state = (self.state + 0x9E3779B97F4A7C15) & MASK
        z = self.state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
        return z ^ (z >> 31)

    def below(self, n: int) -> int:
        return self.next() % n

    def pick(self, weighted: Sequence[tuple[T, int]]) -> T:
        roll = self.below(sum(w for _, w in weighted))
        for item, weight in weighted:
            if roll < weight:
                return item
            roll -= weight
        raise AssertionError("unreachable")


# --- the CSV take-home format: quoted fields, unix seconds, lines up to 2 s out of order -----

CSV_HEADER = '"remotehost","rfc931","authuser","date","request","status","bytes"\n'
CSV_START = 1_709_294_397  # 2024-03-01 11:59:57 UTC: the first 10 s interval is a partial one
# (seconds, mean requests per second): calm, a burst that raises the default alert (more than
# 10/s over 120 s), a lull that lets it recover, a stronger burst, and a tail that recovers.
CSV_PHASES = ((50, 8), (75, 16), (120, 3), (70, 22), (80, 2))
CSV_HOSTS = (("10.0.0.1", 3), ("10.0.0.2", 2), ("10.0.0.3", 1), ("10.0.0.4", 1), ("10.0.0.5", 2))
CSV_PATHS = (("/api/user", 62), ("/api/help", 19), ("/report", 19))
CSV_METHODS = (("GET", 3), ("POST", 1))
CSV_STATUSES = ((200, 8), (404, 1), (500, 1))
CSV_BYTES = ((1234, 4), (1136, 1), (1194, 1), (1261, 1), (1307, 1))


def csv_traffic() -> bytes:
    """Lines in the order a writer would emit them; 58% carry a time 1 or 2 s behind the
    second they are written in (the ordering a multi-threaded server gives)."""
    rng = Rng(20240301)
    out = [CSV_HEADER]
    t = CSV_START
    for seconds, mean in CSV_PHASES:
        for _ in range(seconds):
            spread = min(3, mean)
            for _ in range(mean + rng.below(2 * spread + 1) - spread):
                late = rng.below(2) + 1 if rng.below(100) < 58 else 0
                stamp = max(CSV_START, t - late)
                host = rng.pick(CSV_HOSTS)
                request = f"{rng.pick(CSV_METHODS)} {rng.pick(CSV_PATHS)} HTTP/1.0"
                status, size = rng.pick(CSV_STATUSES), rng.pick(CSV_BYTES)
                out.append(f'"{host}","-","apache",{stamp},"{request}",{status},{size}\n')
            t += 1
    return "".join(out).encode()


# --- NCSA common, CRLF line ends, a small wiki and mailing-list site -----------------------

CLF_ZONE = timezone(timedelta(hours=-8))
CLF_START = 1_709_597_100  # 2024-03-04 16:05:00 -0800
CLF_VISITS = 130
CLF_HOSTS = (
    ("192.0.2.10", 6),  # the site's own crawler: most of the traffic
    ("198.51.100.23", 2),
    ("203.0.113.7", 2),
    ("192.0.2.201", 1),
    ("dialup-17.pool.example.net", 2),
    ("lj1024.inktomisearch.example.com", 2),
    ("proxy-2.example.org", 1),
    ("cr020r01-3.sac.example.com", 1),
    ("host-81-144.dsl.example.net", 1),
    ("mail.example.org", 1),
)
CLF_TOPICS = ("WebHome", "TWikiUsers", "WebChanges", "ConfigurationVariables", "SpamAssassin")
CLF_WEBS = ("Main", "TWiki", "Sandbox")
CLF_LISTS = ("hsdivision", "techs", "administration", "webmaster")


def _clf_time(t: int) -> str:
    d = datetime.fromtimestamp(t, CLF_ZONE)
    return f"{d.day:02d}/{MONTHS[d.month - 1]}/{d.year}:{d:%H:%M:%S} -0800"


def _clf_request(rng: Rng) -> tuple[str, int, str]:
    """(request, status, bytes): the mix of a wiki behind basic auth, with its edge cases."""
    web, topic = rng.pick([(w, 1) for w in CLF_WEBS]), rng.pick([(t, 1) for t in CLF_TOPICS])
    kind = rng.pick(
        (("view", 30), ("edit", 9), ("rdiff", 8), ("static", 14), ("list", 10), ("post", 2),
         ("attach", 1), ("robots", 2), ("missing", 1), ("head", 1))
    )  # fmt: skip
    if kind == "view":
        if rng.below(6) == 0:  # a conditional GET: 304, no body, bytes "-"
            return f"GET /twiki/bin/view/{web}/{topic} HTTP/1.1", 304, "-"
        return f"GET /twiki/bin/view/{web}/{topic} HTTP/1.1", 200, str(3000 + rng.below(12000))
    if kind == "edit":  # behind basic auth: 401 with the error page
        other = rng.pick([(t, 1) for t in CLF_TOPICS])
        path = f"/twiki/bin/edit/{web}/{topic}?topicparent={web}.{other}"
        return f"GET {path} HTTP/1.1", 401, "12846"
    if kind == "rdiff":
        rev = 2 + rng.below(8)
        path = f"/twiki/bin/rdiff/{web}/{topic}?rev1=1.{rev}&rev2=1.{rev - 1}"
        return f"GET {path} HTTP/1.1", 200, str(4000 + rng.below(9000))
    if kind == "static":
        path = "/twiki/pub/TWiki/TWikiLogos/twikiRobot46x50.gif"
        if rng.below(3):
            return f"GET {path} HTTP/1.1", 304, "-"
        return f"GET {path} HTTP/1.1", 200, "2877"
    if kind == "list":
        name = rng.pick([(n, 1) for n in CLF_LISTS])
        return f"GET /mailman/listinfo/{name} HTTP/1.1", 200, str(5000 + rng.below(2000))
    if kind == "post":
        return "POST /mailman/admindb/hsdivision HTTP/1.1", 200, str(2000 + rng.below(800))
    if kind == "attach":  # TWiki answers an attach with a redirect
        return f"POST /twiki/bin/upload/{web}/{topic} HTTP/1.1", 302, "0"
    if kind == "robots":
        return "GET /robots.txt HTTP/1.0", 200, "68"
    if kind == "missing":
        return "GET /favicon.ico HTTP/1.1", 404, "209"
    return "HEAD /twiki/bin/view/Main/WebHome HTTP/1.0", 200, "-"


def common_crlf() -> bytes:
    """Visits of 1-6 requests, in time order, every line ending in CRLF; one visit is an
    `OPTIONS *` probe (bytes "-") and one a client that connected and never sent a request
    (`"-" 408 -`)."""
    rng = Rng(20040307)
    out = []
    t = CLF_START
    for visit in range(CLF_VISITS):
        host = rng.pick(CLF_HOSTS)
        if visit == 17:
            out.append(f'{host} - - [{_clf_time(t)}] "OPTIONS * HTTP/1.0" 200 -\r\n')
        elif visit == 71:
            out.append(f'{host} - - [{_clf_time(t)}] "-" 408 -\r\n')
        else:
            for _ in range(1 + rng.below(6)):
                request, status, size = _clf_request(rng)
                out.append(f'{host} - - [{_clf_time(t)}] "{request}" {status} {size}\r\n')
                t += 1 + rng.below(20)
        t += 60 + rng.below(1800)
    return "".join(out).encode()


GENERATED = {CSV_NAME: csv_traffic, CLF_NAME: common_crlf}


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    folder = Path(args[0]) if args else Path(__file__).with_name("accesslog")
    for name, make in GENERATED.items():
        (folder / name).write_bytes(make())
        print(f"wrote {folder / name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
