"""API keys: who is asking, and may they.

Admin keys open every route; public keys open ask/chat/search only and may be bound to
the browser origins allowed to use them (`key@https://a.example|https://b.example`), which
is what a chat widget embedded on a site uses. Keys are compared in constant time and
never logged: logs and rate-limit buckets see a short hash.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from typing import Literal

from pydantic import SecretStr

from service.config import ServiceSettings

PrincipalKind = Literal["admin", "public", "anonymous"]


def normalize_origin(origin: str) -> str:
    return origin.strip().rstrip("/").lower()


def key_id(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()[:12]


@dataclass(frozen=True)
class Principal:
    kind: PrincipalKind
    id: str = ""
    origins: frozenset[str] = frozenset()


@dataclass(frozen=True)
class _Key:
    digest: bytes  # SHA-256 of the key: what `identify` compares (see there why)
    kind: PrincipalKind
    origins: frozenset[str]


def _digest(key: str) -> bytes:
    return hashlib.sha256(key.encode()).digest()


def _split(value: SecretStr | None) -> list[str]:
    if value is None:
        return []
    return [part.strip() for part in value.get_secret_value().split(",") if part.strip()]


def _parse_public(entry: str) -> tuple[str, frozenset[str]]:
    key, sep, rest = entry.rpartition("@")
    if sep and key and rest.lower().startswith(("http://", "https://")):
        return key, frozenset(normalize_origin(o) for o in rest.split("|") if o.strip())
    return entry, frozenset()


class KeyRing:
    def __init__(self, settings: ServiceSettings) -> None:
        keys = [_Key(_digest(k), "admin", frozenset()) for k in _split(settings.admin_keys)]
        for entry in _split(settings.public_keys):
            key, origins = _parse_public(entry)
            keys.append(_Key(_digest(key), "public", origins))
        self._keys = keys

    @property
    def open(self) -> bool:
        """No key configured: every route is open (and `byline serve` stays on loopback)."""
        return not self._keys

    @property
    def has_admin(self) -> bool:
        return any(k.kind == "admin" for k in self._keys)

    @property
    def allowed_origins(self) -> list[str]:
        """Browser origins that get CORS headers: those bound to public keys."""
        return sorted({o for k in self._keys for o in k.origins})

    def identify(self, presented: str) -> Principal | None:
        """The configured key `presented` is, or None.

        Constant time in what an attacker can vary: every configured key is compared, with
        no early exit, so the time taken doesn't say which key (or whether any) matched;
        and the comparison is of SHA-256 digests, not of the keys, because
        `hmac.compare_digest` returns at once when the lengths differ — comparing raw keys
        would let a caller time its way to each key's length. Equal digests mean equal keys.
        """
        candidate = _digest(presented)
        found: _Key | None = None
        for key in self._keys:  # no early exit (see above)
            if hmac.compare_digest(candidate, key.digest) and found is None:
                found = key
        if found is None:
            return None
        return Principal(kind=found.kind, id=f"{found.kind}:{key_id(presented)}", origins=found.origins)
