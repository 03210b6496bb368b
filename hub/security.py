"""Password hashing (Argon2id) and API tokens (random, stored as SHA-256)."""

from __future__ import annotations

import hashlib
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

# OWASP minimum for Argon2id: m=19 MiB, t=2, p=1.
hasher = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)

# A hash to verify against when the user does not exist, so timing does not reveal usernames.
_DUMMY_HASH = hasher.hash("not-a-real-password")


def hash_password(password: str) -> str:
    return hasher.hash(password)


def verify_password(stored_hash: str | None, password: str) -> bool:
    """True if ``password`` matches; constant work whether or not the user exists."""
    try:
        return hasher.verify(stored_hash or _DUMMY_HASH, password) and stored_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str) -> bool:
    try:
        return hasher.check_needs_rehash(stored_hash)
    except InvalidHashError:
        return True


def password_problem(password: str) -> str | None:
    """A reason the password is too weak, or None."""
    if len(password) < 10:
        return "密码至少需要 10 个字符"
    if len(password) > 256:
        return "密码过长"
    return None


def new_api_token() -> tuple[str, str, str]:
    """Return (token, sha256 hex, display prefix)."""
    token = "hub_" + secrets.token_urlsafe(32)
    return token, token_digest(token), token[:10]


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()
