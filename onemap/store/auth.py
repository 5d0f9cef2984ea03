"""User tokens: shown once, stored as a salted scrypt hash, compared in constant time.

A token reads ``om_<token id>_<secret>``. The token id (public, 12 hex digits) finds the user's
row without trying every hash; the secret (32 random bytes, URL-safe base64) is hashed with
:func:`hashlib.scrypt` and a per-user 16-byte salt, and the hash is compared with
:func:`hmac.compare_digest`. The database holds neither the token nor the secret.

scrypt is deliberately slow (tens of ms): a process remembers tokens it has verified under a
keyed digest (never the token itself), so a web worker pays the cost once per token.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading

TOKEN_PREFIX = "om"
SCRYPT_N, SCRYPT_R, SCRYPT_P, SCRYPT_DKLEN = 2**14, 8, 1, 32
KDF = f"scrypt:n={SCRYPT_N},r={SCRYPT_R},p={SCRYPT_P},dklen={SCRYPT_DKLEN}"
SALT_BYTES = 16


def new_token() -> tuple[str, str, str]:
    """A fresh ``(token, token_id, secret)``."""
    token_id = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    return f"{TOKEN_PREFIX}_{token_id}_{secret}", token_id, secret


def split_token(token: str) -> tuple[str, str] | None:
    """``(token_id, secret)`` of a well-formed token, else None."""
    parts = token.split("_", 2) if isinstance(token, str) else []
    if len(parts) != 3 or parts[0] != TOKEN_PREFIX or len(parts[1]) != 12 or not parts[2]:
        return None
    return parts[1], parts[2]


def _params(kdf: str) -> dict[str, int]:
    name, _, args = kdf.partition(":")
    if name != "scrypt":
        raise ValueError(f"unknown token KDF '{kdf}'")
    return {k: int(v) for k, v in (a.split("=") for a in args.split(","))}


def hash_secret(secret: str, salt: bytes, kdf: str) -> bytes:
    """The scrypt hash of a token secret with the user's salt."""
    p = _params(kdf)
    return hashlib.scrypt(
        secret.encode(), salt=salt, n=p["n"], r=p["r"], p=p["p"], dklen=p["dklen"], maxmem=2**26
    )


def new_credentials(kdf: str = "") -> tuple[str, str, bytes, bytes]:
    """``(token, token_id, salt, hash)`` for a new user (``kdf`` default: :data:`KDF`)."""
    token, token_id, secret = new_token()
    salt = secrets.token_bytes(SALT_BYTES)
    return token, token_id, salt, hash_secret(secret, salt, kdf or KDF)


def verify(secret: str, salt: bytes, stored: bytes, kdf: str) -> bool:
    """Whether a secret matches the stored hash (constant-time comparison)."""
    return hmac.compare_digest(hash_secret(secret, bytes(salt), kdf), bytes(stored))


class VerifiedCache:
    """Tokens this process has verified, keyed by a per-process HMAC of the token."""

    def __init__(self, size: int = 4096) -> None:
        self._key = secrets.token_bytes(32)
        self._seen: dict[bytes, bytes] = {}
        self._size = size
        self._lock = threading.Lock()

    def _digest(self, token: str) -> bytes:
        return hmac.new(self._key, token.encode(), hashlib.sha256).digest()

    def get(self, token: str) -> bytes | None:
        """The stored hash a token was verified against, if it was."""
        with self._lock:
            return self._seen.get(self._digest(token))

    def drop(self, token: str) -> None:
        """Forget a token (its user's stored hash is no longer the one it was verified with)."""
        with self._lock:
            self._seen.pop(self._digest(token), None)

    def put(self, token: str, stored: bytes) -> None:
        with self._lock:
            if len(self._seen) >= self._size:
                self._seen.clear()
            self._seen[self._digest(token)] = bytes(stored)
