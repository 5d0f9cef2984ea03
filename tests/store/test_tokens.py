"""Users and tokens: a token is shown once and stored only as a salted scrypt hash."""

from __future__ import annotations

from pathlib import Path

import pytest

from onemap.errors import OnemapInputError
from onemap.store import auth


def test_tokens_stored_hashed(store, store_url, real_kdf):
    _, token = store.add_user("王审核", "reviewer")
    _, other_token = store.add_user("ann", "applicant")
    assert token != other_token and token.startswith("om_")
    secret = token.split("_", 2)[2]
    with store.backend.transaction(write=False) as conn:
        rows = store.backend.execute(
            conn, "SELECT token_id, token_salt, token_hash, token_kdf FROM users ORDER BY id"
        ).fetchall()
    assert rows[0][3] == real_kdf == auth.KDF and real_kdf.startswith("scrypt:n=16384")
    assert bytes(rows[0][1]) != bytes(rows[1][1])  # per-user salt
    assert bytes(rows[0][2]) == auth.hash_secret(secret, bytes(rows[0][1]), rows[0][3])
    for row in rows:
        for value in row:
            data = bytes(value) if isinstance(value, bytes | memoryview) else str(value).encode()
            assert secret.encode() not in data and token.encode() not in data
    if store.backend.name == "sqlite":  # nor anywhere in the files (database and WAL)
        store.close()
        base = store_url.removeprefix("sqlite:///")
        for suffix in ("", "-wal"):
            path = Path(base + suffix)
            if not path.exists():
                continue
            data = path.read_bytes()
            assert secret.encode() not in data and token.encode() not in data


def test_authenticate(store):
    user, token = store.add_user("rex", "reviewer")
    assert store.authenticate(token) == user
    assert store.authenticate(token) == user  # a second time (remembered, still checked)
    token_id = token.split("_")[1]
    assert store.authenticate(f"om_{token_id}_wrong") is None
    assert store.authenticate(token[:-1] + ("A" if token[-1] != "A" else "B")) is None
    for bad in (None, "", "Bearer x", "om_short_x", "om__", token + "_"):
        assert store.authenticate(bad) is None
    with store.backend.transaction() as conn:  # a deactivated user's token stops working
        store.backend.execute(conn, "UPDATE users SET active = 0")
    assert store.authenticate(token) is None


def test_users(store):
    store.add_user("ann", "applicant")
    with pytest.raises(OnemapInputError) as err:
        store.add_user("ann", "reviewer")
    assert err.value.field == "name"
    with pytest.raises(OnemapInputError) as err:
        store.add_user("bob", "boss")
    assert err.value.field == "role"
    with pytest.raises(OnemapInputError):
        store.add_user("  ", "admin")
    assert [u.name for u in store.users()] == ["ann"]
    assert store.user("ann").role == "applicant"


def test_a_remembered_token_is_checked_against_the_stored_hash(store):
    # The process remembers tokens it verified (scrypt once per token), but every call reads
    # the user's row again: a token whose stored hash changed (re-issued) or whose user was
    # deactivated is refused at once, however recently it was verified.
    user, token = store.add_user("rex", "reviewer")
    assert store.authenticate(token) == user and store.verified_before(token)
    _, salt, digest = auth.new_credentials(auth.KDF)[1:]
    with store.backend.transaction() as conn:
        store.backend.execute(
            conn, "UPDATE users SET token_salt = ?, token_hash = ?", (salt, digest)
        )
    assert store.authenticate(token) is None
    # Forgotten: a server sends it through a worker thread again (scrypt), not its event loop.
    assert not store.verified_before(token)
    assert store.authenticate(token) is None
    # A wrong secret under the same token id is never taken for the remembered one.
    token_id = token.split("_")[1]
    assert not store.verified_before(f"om_{token_id}_{'x' * 43}")
