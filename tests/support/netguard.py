"""The network guard: Python's socket API made to record, and refuse, every connection,
DNS lookup or datagram to a non-loopback address; and `unshare -n`, a network namespace
with nothing but `lo`, which also covers native code.

The guard is source text, not a module, because it is also written out as a
`sitecustomize` so that `byline` subprocesses (the CLI, the installed wheel) run under it."""

from __future__ import annotations

import shutil
import subprocess
import types
from functools import cache
from pathlib import Path
from typing import Any

# Stdlib only: it is also written out as a sitecustomize for subprocesses.
GUARD_SOURCE = '''
import errno
import ipaddress
import socket

_LOOPBACK_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"}
_INET = {socket.AF_INET, getattr(socket, "AF_INET6", socket.AF_INET)}


def _text(host):
    if isinstance(host, bytes):
        host = host.decode(errors="replace")
    return str(host).strip("[]").split("%")[0].lower()


def _ip(host):
    try:
        return ipaddress.ip_address(_text(host))
    except ValueError:
        return None


def is_loopback(host):
    if _text(host) in _LOOPBACK_NAMES:
        return True
    ip = _ip(host)
    if ip is None:
        return False
    mapped = getattr(ip, "ipv4_mapped", None)
    return ip.is_loopback or (mapped is not None and mapped.is_loopback)


class Guard:
    """Records and refuses non-loopback connects, lookups and datagrams."""

    def __init__(self, log_path=None):
        self.attempts = []
        self.log_path = log_path
        self._saved = []

    def _refuse(self, what, target, exc_type=OSError):
        entry = f"{what} {target!r}"
        self.attempts.append(entry)
        if self.log_path:
            with open(self.log_path, "a", encoding="utf-8") as log:
                log.write(entry + "\\n")
        if exc_type is socket.gaierror:
            raise socket.gaierror(socket.EAI_NONAME, "name lookup forbidden in tests: " + entry)
        raise OSError(errno.ENETUNREACH, "network access forbidden in tests: " + entry)

    def _check(self, family, address, what):
        if family in _INET and isinstance(address, tuple) and not is_loopback(address[0]):
            self._refuse(what, address)

    def _patch(self, owner, name, replacement):
        self._saved.append((owner, name, getattr(owner, name)))
        setattr(owner, name, replacement)

    def install(self):
        guard = self
        connect, connect_ex = socket.socket.connect, socket.socket.connect_ex
        sendto, create_connection = socket.socket.sendto, socket.create_connection
        getaddrinfo = socket.getaddrinfo

        def guarded_connect(sock, address):
            guard._check(sock.family, address, "connect")
            return connect(sock, address)

        def guarded_connect_ex(sock, address):
            guard._check(sock.family, address, "connect_ex")
            return connect_ex(sock, address)

        def guarded_sendto(sock, data, *args):
            guard._check(sock.family, args[-1] if args else None, "sendto")
            return sendto(sock, data, *args)

        def guarded_create_connection(address, *args, **kwargs):
            if not is_loopback(address[0]):
                guard._refuse("create_connection", address)
            return create_connection(address, *args, **kwargs)

        def guarded_getaddrinfo(host, *args, **kwargs):
            # A name that is neither loopback nor an IP literal needs DNS: the network.
            if host is not None and not is_loopback(host) and _ip(host) is None:
                guard._refuse("getaddrinfo", host, socket.gaierror)
            return getaddrinfo(host, *args, **kwargs)

        self._patch(socket.socket, "connect", guarded_connect)
        self._patch(socket.socket, "connect_ex", guarded_connect_ex)
        self._patch(socket.socket, "sendto", guarded_sendto)
        self._patch(socket, "create_connection", guarded_create_connection)
        self._patch(socket, "getaddrinfo", guarded_getaddrinfo)
        return self

    def uninstall(self):
        while self._saved:
            owner, name, original = self._saved.pop()
            setattr(owner, name, original)
'''


def guard_module() -> Any:
    """GUARD_SOURCE as a module, for guarding this process: `guard_module().Guard().install()`."""
    module = types.ModuleType("byline_test_netguard")
    exec(compile(GUARD_SOURCE, "<byline network guard>", "exec"), module.__dict__)
    return module


def write_guard_sitecustomize(directory: Path) -> Path:
    """Writes a sitecustomize into `directory` that installs the guard in every Python
    process with `directory` on PYTHONPATH, logging refused attempts to
    $BYLINE_TEST_NET_LOG; returns `directory`, for that PYTHONPATH."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "sitecustomize.py").write_text(
        GUARD_SOURCE + "\nimport os\nGuard(os.environ['BYLINE_TEST_NET_LOG']).install()\n"
    )
    return directory


@cache
def unshare_prefix() -> list[str] | None:
    """A command prefix that runs a command in a new network namespace with only `lo` up,
    or None where this machine can't create one (needs root or user namespaces)."""
    if shutil.which("unshare") is None:
        return None
    probe = subprocess.run(["unshare", "-n", "true"], capture_output=True, timeout=30)
    if probe.returncode != 0:
        return None
    return ["unshare", "-n", "sh", "-c", 'ip link set lo up 2>/dev/null; exec "$@"', "sh"]
