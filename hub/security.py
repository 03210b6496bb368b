"""Password hashing (Argon2id) and API tokens (random, stored as SHA-256)."""

from __future__ import annotations

import hashlib
import secrets
from functools import cache
from pathlib import Path

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
        # An empty hash (a user who has not set a password yet) never matches.
        return hasher.verify(stored_hash or _DUMMY_HASH, password) and bool(stored_hash)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str) -> bool:
    try:
        return hasher.check_needs_rehash(stored_hash)
    except InvalidHashError:
        return True


MIN_PASSWORD_LENGTH = 10
_COMMON_FILE = Path(__file__).resolve().parent / "data" / "common-passwords.txt"


@cache
def common_passwords() -> frozenset[str]:
    """The shipped list of common and breached passwords (hub/data/common-passwords.txt), lower case."""
    lines = _COMMON_FILE.read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip() for line in lines if line.strip() and not line.startswith("#"))


def password_problem(password: str, username: str = "") -> str | None:
    """A reason the password may not be used (zh-CN, for the person choosing it), or None.

    The policy (docs/people-and-sign-in.md): at least 10 characters, not the username (nor containing
    it), not in the shipped list of common and breached passwords. No outside service is asked."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"密码至少需要 {MIN_PASSWORD_LENGTH} 个字符"
    if len(password) > 256:
        return "密码过长"
    low, name = password.strip().lower(), username.strip().lower()
    if name and (low == name or (len(name) >= 4 and name in low)):
        return "密码不能与用户名相同，也不能包含用户名"
    if low in common_passwords() or len(set(low)) <= 2:
        return "该密码过于常见（在常用或已泄露密码列表中），容易被猜中，请换一个更难猜的密码"
    return None


def new_api_token() -> tuple[str, str, str]:
    """Return (token, sha256 hex, display prefix)."""
    token = "hub_" + secrets.token_urlsafe(32)
    return token, token_digest(token), token[:10]


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()
