"""``loglane serve``: the offlog-compatible file-append daemon on a Unix domain socket.

One asyncio event loop, no threads. Clients' whole lines are queued per file as they are
read and written once per loop iteration (``os.write`` on O_APPEND descriptors, which also
flushes them); a client's error never reaches another client. SIGTERM/SIGINT drain: stop
accepting, read and write what clients already sent, answer them, remove the socket, exit 0.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import grp
import logging
import os
import signal
import socket
import stat
import sys
from collections.abc import Sequence

from loglane.daemon import notify
from loglane.daemon.files import FileTable, OpenFile
from loglane.daemon.session import Session

DEFAULT_SOCKET = "/tmp/loglane.sock"
#: how long a stopping server waits for clients to finish sending what they had sent
DRAIN_TIMEOUT = 10.0
#: connections waiting to be accepted; a full backlog makes Unix-socket clients fail (EAGAIN)
_BACKLOG = 1024

log = logging.getLogger("loglane.serve")


class StartupError(Exception):
    """The server cannot start (socket in use, bad root, ...); the message says why."""


class Server:
    def __init__(
        self,
        socket_path: str,
        *,
        mode: int = 0o600,
        group: int | None = None,
        root: str | None = None,
        rotate_check: float = 1.0,
        notify_systemd: bool = False,
    ) -> None:
        self.socket_path = socket_path
        self.mode = mode
        self.group = group
        self.root = os.fsencode(os.path.realpath(root)) if root is not None else None
        self.rotate_check = rotate_check
        self.notify_systemd = notify_systemd
        self.files = FileTable(self._inside_root if self.root is not None else None)
        self.sessions: set[Session] = set()
        self.stopping = False
        self._write_scheduled = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._listener: asyncio.AbstractServer | None = None
        self._socket_id: tuple[int, int] | None = None
        self._idle: asyncio.Event | None = None
        self._stop: asyncio.Event | None = None

    # ---- paths --------------------------------------------------------------------------

    def _inside_root(self, path: bytes) -> bytes:
        """The resolved path if it lies inside --root, else PermissionError.

        Symlinks and ``..`` are resolved first, so neither can lead outside; the file is then
        opened with O_NOFOLLOW so its last component cannot be swapped for a link meanwhile.
        """
        assert self.root is not None
        resolved = os.path.realpath(path)
        root = self.root
        if resolved != root and not resolved.startswith(root.rstrip(b"/") + b"/"):
            raise PermissionError(f"{os.fsdecode(path)!r} is outside the server's root")
        return resolved

    # ---- the write path -----------------------------------------------------------------

    def queue(self, entry: OpenFile, owner: Session, data: bytes) -> None:
        self.files.queue(entry, owner, data)
        if not self._write_scheduled and self._loop is not None:
            self._write_scheduled = True
            # call_soon runs after every read callback of this loop iteration: one write
            # per file per iteration, however many clients' reads it combines.
            self._loop.call_soon(self.write_now)

    def write_now(self) -> None:
        self._write_scheduled = False
        self.files.write_dirty()

    def release(self, entry: OpenFile) -> None:
        self.files.release(entry)

    def session_closed(self) -> None:
        if self._idle is not None and not self.sessions:
            self._idle.set()

    # ---- socket -------------------------------------------------------------------------

    def bind(self) -> socket.socket:
        """Bind the listening socket, refusing a live one and replacing a stale one."""
        path = self.socket_path
        try:
            st = os.lstat(path)
        except FileNotFoundError:
            st = None
        if st is not None:
            if not stat.S_ISSOCK(st.st_mode):
                raise StartupError(f"{path} exists and is not a socket; not touching it")
            probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            probe.settimeout(1.0)
            try:
                probe.connect(path)
            except OSError:
                os.unlink(path)  # nobody listens: a stale socket from a server that died
                log.info("removed stale socket %s", path)
            else:
                raise StartupError(f"another server is already listening on {path}")
            finally:
                probe.close()
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        # Bind under a strict umask so the socket is never, even briefly, more open than asked.
        old = os.umask(0o177)
        try:
            sock.bind(path)
        except OSError as exc:
            sock.close()
            raise StartupError(f"cannot bind {path}: {exc}") from None
        finally:
            os.umask(old)
        try:
            if self.group is not None:
                os.chown(path, -1, self.group)
            os.chmod(path, self.mode)
        except OSError as exc:
            sock.close()
            os.unlink(path)
            raise StartupError(f"cannot set owner/mode of {path}: {exc}") from None
        st = os.stat(path)
        self._socket_id = (st.st_dev, st.st_ino)
        sock.listen(_BACKLOG)
        sock.setblocking(False)
        return sock

    def _remove_socket(self) -> None:
        # Only remove the socket if it is still ours (a successor may have replaced it).
        try:
            st = os.stat(self.socket_path)
            if (st.st_dev, st.st_ino) == self._socket_id:
                os.unlink(self.socket_path)
        except OSError:
            pass

    # ---- running ------------------------------------------------------------------------

    async def run(self, sock: socket.socket) -> None:
        loop = self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        self._idle = asyncio.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self._stop.set)
        loop.add_signal_handler(signal.SIGHUP, _reopen_log)
        self._listener = await loop.create_unix_server(
            lambda: Session(self), sock=sock, backlog=_BACKLOG
        )
        log.info("listening on %s (pid %d)", self.socket_path, os.getpid())
        if self.notify_systemd:
            notify.notify(f"READY=1\nMAINPID={os.getpid()}\nSTATUS=listening")
        checker = loop.create_task(self._check_rotation())
        await self._stop.wait()
        checker.cancel()
        await self._drain()

    async def _drain(self) -> None:
        log.info("stopping: %d client(s) connected", len(self.sessions))
        if self.notify_systemd:
            notify.notify("STOPPING=1")
        self.stopping = True
        assert self._listener is not None and self._idle is not None
        self._listener.close()
        self._remove_socket()
        for session in list(self.sessions):
            session.begin_drain()
        if self.sessions:
            self._idle.clear()
            try:
                await asyncio.wait_for(self._idle.wait(), DRAIN_TIMEOUT)
            except TimeoutError:
                log.warning(
                    "%d client(s) still open after %.0f s", len(self.sessions), DRAIN_TIMEOUT
                )
        self.write_now()
        # Let transports flush their final messages before the loop ends.
        await asyncio.sleep(0)
        self.files.close_all()
        log.info("stopped")

    async def _check_rotation(self) -> None:
        while True:
            await asyncio.sleep(self.rotate_check)
            for entry in self.files.files():
                if entry.rotated or not entry.is_rotated():
                    continue
                self.files.retire(entry)
                for session in list(self.sessions):
                    if session.file is entry:
                        session.rotated()


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        # One clear line, not argparse's usage dump; exit 2 as for any bad flag.
        self.exit(2, f"loglane serve: {message}\n")


def _octal_mode(text: str) -> int:
    try:
        mode = int(text, 8)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an octal mode: {text!r}") from None
    if not 0 <= mode <= 0o777:
        raise argparse.ArgumentTypeError(f"mode out of range: {text!r}")
    return mode


def _group_id(text: str) -> int:
    if text.isdigit():
        return int(text)
    try:
        return grp.getgrnam(text).gr_gid
    except KeyError:
        raise argparse.ArgumentTypeError(f"no such group: {text!r}") from None


def _positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be positive: {text!r}")
    return value


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="loglane serve", description="The offlog-compatible file-append daemon.")
    p.add_argument(
        "--socket", default=DEFAULT_SOCKET, help=f"socket path (default {DEFAULT_SOCKET})"
    )
    p.add_argument(
        "--socket-mode",
        type=_octal_mode,
        default=0o600,
        metavar="MODE",
        help="permissions of the socket, octal (default 0600)",
    )
    p.add_argument(
        "--group",
        type=_group_id,
        default=None,
        metavar="G",
        help="group owning the socket (name or gid), e.g. with --socket-mode 0660",
    )
    p.add_argument(
        "--root",
        default=None,
        metavar="DIR",
        help="refuse files outside DIR (after resolving symlinks and '..')",
    )
    p.add_argument(
        "--notify",
        action="store_true",
        help="tell systemd READY=1/STOPPING=1 via $NOTIFY_SOCKET (Type=notify)",
    )
    p.add_argument(
        "--log", default=None, metavar="FILE", help="the server's own log (default stderr)"
    )
    p.add_argument(
        "--rotate-check",
        type=_positive,
        default=1.0,
        metavar="SECONDS",
        help="how often to look for renamed or deleted files (default 1)",
    )
    p.add_argument("-v", "--verbose", action="store_true", help="log every connection")
    return p


def _setup_logging(path: str | None, verbose: bool) -> None:
    # backslashreplace: a non-UTF-8 path in a message must not break the log line.
    handler: logging.Handler = (
        logging.FileHandler(path, errors="backslashreplace") if path else logging.StreamHandler()
    )
    handler.setFormatter(logging.Formatter("%(asctime)s loglane serve %(levelname)s %(message)s"))
    # asyncio reports a failing protocol callback on its own logger: same destination.
    for logger in (log, logging.getLogger("asyncio")):
        logger.handlers[:] = [handler]
        logger.propagate = False
    log.setLevel(logging.DEBUG if verbose else logging.INFO)


def _reopen_log() -> None:
    """SIGHUP: reopen --log, so logrotate can move it away (a no-op for stderr)."""
    for handler in log.handlers:
        if isinstance(handler, logging.FileHandler):
            handler.acquire()
            try:
                handler.close()  # the next record reopens the file at its path
            finally:
                handler.release()
    log.info("log reopened")


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(sys.argv[1:] if argv is None else list(argv))
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else 2
    if args.root is not None and not os.path.isdir(args.root):
        print(f"loglane serve: --root {args.root!r} is not a directory", file=sys.stderr)
        return 2
    try:
        _setup_logging(args.log, args.verbose)
    except OSError as exc:
        print(f"loglane serve: cannot open --log {args.log!r}: {exc}", file=sys.stderr)
        return 2
    server = Server(
        args.socket,
        mode=args.socket_mode,
        group=args.group,
        root=args.root,
        rotate_check=args.rotate_check,
        notify_systemd=args.notify,
    )
    try:
        sock = server.bind()
    except StartupError as exc:
        print(f"loglane serve: {exc}", file=sys.stderr)
        return 1
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(server.run(sock))
    return 0


if __name__ == "__main__":
    sys.exit(main())
