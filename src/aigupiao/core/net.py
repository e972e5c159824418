"""Listening sockets for the servers."""

from __future__ import annotations

import socket


def listen(host: str, port: int, backlog: int = 128) -> socket.socket:
    """A bound, listening, non-blocking TCP socket.

    Created with ``IPPROTO_TCP`` so asyncio turns on ``TCP_NODELAY`` for every accepted
    connection (it only does so for sockets that say they are TCP). Without it the
    response headers and body go out as two small segments and Nagle's algorithm waits
    for the client's delayed ACK: 40 ms on every request.

    Raises:
        OSError: the address is taken or cannot be bound.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.bind((host, port))
        sock.listen(backlog)
        sock.setblocking(False)
    except OSError:
        sock.close()
        raise
    return sock
