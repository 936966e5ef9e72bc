"""The wire protocol as pure code: bytes in, bytes out."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from loglane.daemon import protocol
from loglane.daemon.notify import address


def test_message_constants_match_offlog() -> None:
    assert protocol.OK == b"OK\0"
    assert protocol.BYE == b"BYE\0"
    assert protocol.ROTATED == b"ROTATED\0"
    assert protocol.ERR_NOT_ABSOLUTE == b"ValueError: not an absolute path\0"
    assert protocol.ERR_PATH_TOO_LONG == b"ValueError: path longer than PATH_MAX\0"


def test_parse_open_waits_for_nul() -> None:
    assert protocol.parse_open(b"/var/log/a") is None
    assert protocol.parse_open(b"/var/log/a\0") == protocol.Opened(b"/var/log/a", b"")


def test_parse_open_keeps_data_after_path() -> None:
    assert protocol.parse_open(b"/a\0line 1\nline") == protocol.Opened(b"/a", b"line 1\nline")


def test_parse_open_refuses_relative_and_empty() -> None:
    assert protocol.parse_open(b"a.log\0") == protocol.Refused(protocol.ERR_NOT_ABSOLUTE)
    assert protocol.parse_open(b"\0") == protocol.Refused(protocol.ERR_NOT_ABSOLUTE)


def test_parse_open_path_max() -> None:
    longest = b"/" + b"x" * (protocol.PATH_MAX - 1)
    assert protocol.parse_open(longest) is None
    assert protocol.parse_open(longest + b"\0") == protocol.Opened(longest, b"")
    assert protocol.parse_open(longest + b"y") == protocol.Refused(protocol.ERR_PATH_TOO_LONG)
    # A NUL beyond PATH_MAX does not make the path acceptable.
    assert protocol.parse_open(longest + b"y\0") == protocol.Refused(protocol.ERR_PATH_TOO_LONG)


def test_parse_open_non_utf8_path() -> None:
    assert protocol.parse_open(b"/tmp/\xff\xfe.log\0") == protocol.Opened(b"/tmp/\xff\xfe.log", b"")


def test_take_lines_cases() -> None:
    assert protocol.take_lines(b"", b"a\nb\n") == (b"a\nb\n", b"")
    assert protocol.take_lines(b"", b"a\nb") == (b"a\n", b"b")
    assert protocol.take_lines(b"b", b"c\nd") == (b"bc\n", b"d")
    assert protocol.take_lines(b"x", b"yz") == (b"", b"xyz")


def test_take_lines_releases_an_overlong_partial() -> None:
    big = b"x" * (protocol.MAX_PARTIAL + 1)
    assert protocol.take_lines(b"", big) == (big, b"")


@given(st.lists(st.binary(max_size=40), max_size=20))
def test_take_lines_loses_nothing_and_cuts_at_newlines(chunks: list[bytes]) -> None:
    partial = b""
    written = b""
    for chunk in chunks:
        lines, partial = protocol.take_lines(partial, chunk)
        assert lines == b"" or lines.endswith(b"\n")
        assert b"\n" not in partial
        written += lines
    assert written + partial == b"".join(chunks)


@given(st.lists(st.binary(max_size=30), max_size=10), st.integers(1, 7))
def test_replies_reassemble_messages_split_anywhere(messages: list[bytes], step: int) -> None:
    messages = [m.replace(b"\0", b"") for m in messages]
    stream = b"".join(m + b"\0" for m in messages)
    replies = protocol.Replies()
    got: list[bytes] = []
    for i in range(0, len(stream), step):
        got += replies.feed(stream[i : i + step])
    assert got == messages
    assert replies.pending == b""


def test_error_message_like_offlog() -> None:
    exc = PermissionError(13, "Permission denied")
    assert protocol.error_message(exc) == b"PermissionError: [Errno 13] Permission denied\0"
    assert b"\0" not in protocol.error_message(ValueError("a\0b"))[:-1]


def test_exception_for_maps_builtins() -> None:
    exc = protocol.exception_for(b"PermissionError: [Errno 13] Permission denied: '/x'")
    assert isinstance(exc, PermissionError)
    assert str(exc) == "[Errno 13] Permission denied: '/x'"
    assert isinstance(protocol.exception_for(b"ValueError: not an absolute path"), ValueError)
    assert isinstance(protocol.exception_for(b"NoSuchError: x"), OSError)
    assert isinstance(protocol.exception_for(b"garbage"), OSError)
    assert isinstance(protocol.exception_for(b"\xff\xfe: x"), OSError)


@pytest.mark.parametrize("unwritten", [0, 1, 12345])
def test_shutdown_message_round_trip(unwritten: int) -> None:
    message = protocol.shutdown_message(unwritten)
    assert message.startswith(b"OSError: loglane server exited")
    assert message.endswith(b"\0") and message.count(b"\0") == 1
    assert protocol.parse_shutdown(message[:-1]) == unwritten
    # An offlog client turns it into an OSError with a readable message.
    assert isinstance(protocol.exception_for(message[:-1]), OSError)


def test_parse_shutdown_rejects_other_messages() -> None:
    assert protocol.parse_shutdown(b"OSError: [Errno 28] No space left on device") is None
    assert protocol.parse_shutdown(b"OK") is None


def test_open_message() -> None:
    assert protocol.open_message(b"/a/b") == b"/a/b\0"
    with pytest.raises(ValueError):
        protocol.open_message(b"rel")
    with pytest.raises(ValueError):
        protocol.open_message(b"/a\0b")


def test_notify_addresses() -> None:
    assert address("/run/systemd/notify") == "/run/systemd/notify"
    assert address("@abstract/x") == b"\0abstract/x"
    assert address("") is None
    assert address("vsock:2:1") is None


def test_ack_marker_opt_in() -> None:
    marked = protocol.open_message(b"/a.log", acks=True)
    assert marked == protocol.ACK_MARKER + b"/a.log\0"
    assert protocol.parse_open(marked + b"x\n") == protocol.Opened(b"/a.log", b"x\n", True)
    assert protocol.parse_open(b"/a.log\0") == protocol.Opened(b"/a.log", b"", False)
    assert protocol.parse_open(protocol.ACK_MARKER + b"rel\0") == protocol.Refused(
        protocol.ERR_NOT_ABSOLUTE
    )


def test_ack_messages() -> None:
    assert protocol.ack_message(0) == b"ACK 0\0"
    assert protocol.parse_ack(protocol.ack_message(123456)[:-1]) == 123456
    assert protocol.parse_ack(b"ACK") is None
    assert protocol.parse_ack(b"ACK -1") is None
    assert protocol.parse_ack(b"OK") is None


def test_inflight_with_acks() -> None:
    from loglane.daemon.inflight import Inflight

    f = Inflight(acks=True)
    f.sent(bytearray(b"one\ntwo\nthr"), 8)
    f.sent(bytearray(b"ee\n"), 3)
    assert f.unconfirmed == 11
    assert f.ack(b"ACK 4") and f.unconfirmed == 7
    assert not f.ack(b"ROTATED")
    # Whatever ended the connection, what was not acknowledged goes again.
    assert f.to_resend(None) == b"two\nee\n"
    assert f.to_resend(3) == b"two\nee\n"


def test_inflight_without_acks_keeps_the_unfinished_line() -> None:
    from loglane.daemon.inflight import Inflight

    f = Inflight()
    f.sent(bytearray(b"one\ntw"), 6)
    f.sent(bytearray(b"o and"), 5)
    assert f.to_resend(None) == b""  # a crash: nothing can be known
    assert f.to_resend(3) == b"and"  # the server kept back 3 bytes of "two and"
    f.sent(bytearray(b" more\nx"), 7)
    assert f.to_resend(1) == b"x"


def test_drop_oldest_keeps_whole_lines() -> None:
    from loglane.daemon.direct import drop_oldest

    buf = bytearray(b"aaaa\nbbbb\ncccc\n")
    assert drop_oldest(buf, 100) == 0
    assert drop_oldest(buf, 12) == 5 and buf == b"bbbb\ncccc\n"
    assert drop_oldest(buf, 3) == 10 and buf == b""


def test_append_all_removes_what_it_wrote(tmp_path: object) -> None:
    import os

    from loglane.daemon.direct import append_all, open_direct

    path = os.path.join(str(tmp_path), "d.log").encode()
    fd = open_direct(path)
    buf = bytearray(b"one\ntwo\n")
    append_all(fd, buf)
    os.close(fd)
    assert buf == b""
    with open(path, "rb") as f:
        assert f.read() == b"one\ntwo\n"
    full = os.open("/dev/full", os.O_WRONLY)
    buf = bytearray(b"x\n")
    with pytest.raises(OSError):
        append_all(full, buf)
    os.close(full)
    assert buf == b"x\n"  # nothing was written, so nothing is removed
