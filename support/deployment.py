"""Deployment helpers: what a server under test keeps on disk, and a loopback host that
counts who knocks.

Deployment tools write certificates, private keys, installers and documents into the
server's own HOME (and working directory). The suite never deploys anything; it asks for
things that must be refused, so it checks that a refusal left the SUT's sandbox
(``SutSession.home`` and ``.cwd``) exactly as it was, and that a push of agents to a host
reached nobody. The host is a socket listening on 127.0.0.1 owned by this process: a
connection would wait in its backlog, never reach a real service, and is counted.
"""
from __future__ import annotations

import errno
import socket
from pathlib import Path
from typing import Iterable

#: One file of a snapshot: its size and modification time (nanoseconds).
Stamp = tuple[int, int]


def disk_state(roots: Iterable[Path]) -> dict[str, Stamp]:
    """Every file under ``roots`` (path relative to the roots' parent) → (size, mtime_ns)."""
    state: dict[str, Stamp] = {}
    for root in roots:
        root = Path(root)
        if not root.is_dir():
            continue
        for path in sorted(root.rglob("*")):
            try:
                if path.is_file() or path.is_symlink():
                    st = path.lstat()
                    state[str(path.relative_to(root.parent))] = (st.st_size, st.st_mtime_ns)
            except FileNotFoundError:
                continue  # removed while we walked
    return state


def sut_disk_state(session) -> dict[str, Stamp]:
    """The files in a SUT's private HOME and working directory."""
    return disk_state([session.home, session.cwd])


def changes(before: dict[str, Stamp], after: dict[str, Stamp]) -> list[str]:
    """What differs between two snapshots, one line per file: '+ new', '- gone', '~ changed'."""
    out = [f"+ {p}" for p in sorted(after.keys() - before.keys())]
    out += [f"- {p}" for p in sorted(before.keys() - after.keys())]
    out += [f"~ {p}" for p in sorted(before.keys() & after.keys()) if before[p] != after[p]]
    return out


class WatchedHost:
    """A TCP listener on 127.0.0.1 at a port the kernel picks; counts connections made to it.

    Nothing ever answers: an SSH or WinRM client that connects waits for a banner that never
    comes (bounded by the SUT call's deadline), so no agent can be installed through it.
    """

    address = "127.0.0.1"

    def __init__(self) -> None:
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.bind((self.address, 0))
        self._sock.listen(16)
        self._sock.setblocking(False)
        self.port: int = self._sock.getsockname()[1]
        self.seen: list[str] = []

    def connections(self) -> list[str]:
        """Peers that have connected so far (accepted and closed at once)."""
        while True:
            try:
                conn, peer = self._sock.accept()
            except OSError as exc:
                if exc.errno in (errno.EAGAIN, errno.EWOULDBLOCK):
                    return list(self.seen)
                raise
            self.seen.append(f"{peer[0]}:{peer[1]}")
            conn.close()

    def close(self) -> None:
        self._sock.close()

    def __repr__(self) -> str:
        return f"<watched host {self.address}:{self.port}>"
