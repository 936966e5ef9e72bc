"""systemd's sd_notify, spoken directly: one datagram to $NOTIFY_SOCKET, no libsystemd.

The variable holds a filesystem path, or an abstract socket name written with a leading
``@`` (which stands for the NUL byte that starts abstract addresses on Linux).
"""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping


def address(value: str) -> str | bytes | None:
    """The socket address for a $NOTIFY_SOCKET value, or None when it is not a Unix socket."""
    if value.startswith("@"):
        return b"\0" + os.fsencode(value[1:])
    if value.startswith("/"):
        return value
    return None  # e.g. "vsock:..." which this daemon does not need


def notify(state: str, environ: Mapping[str, str] | None = None) -> bool:
    """Send ``state`` (e.g. ``READY=1``); False when not under systemd or sending failed."""
    env = os.environ if environ is None else environ
    addr = address(env.get("NOTIFY_SOCKET", ""))
    if addr is None:
        return False
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
            sock.sendto(state.encode(), addr)
    except OSError:
        return False
    return True
