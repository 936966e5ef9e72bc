"""The append daemon (``loglane serve``) and its clients."""

from loglane.daemon.client import ProxyFile
from loglane.daemon.sink import DaemonSink

__all__ = ["DaemonSink", "ProxyFile"]
