"""Whether the address `imprint serve` will listen on is free, asked before anything is created."""

from __future__ import annotations

import socket


def port_problem(host: str, port: int) -> str | None:
    """None when host:port can be bound now (as uvicorn binds it: SO_REUSEADDR), else why not."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        return f"cannot listen on {host}: {exc.strerror}"
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(address)
        except OSError as exc:
            return f"cannot listen on {host}:{port}: {exc.strerror}"
    return None
