"""loglane: non-blocking, loss-free logging for Python."""
