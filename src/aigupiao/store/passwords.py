"""People's passwords: argon2id, salted and deliberately slow.

Unlike API keys and node tokens (256 random bits, see :mod:`aigupiao.store.secrets`),
passwords are chosen by people and can be guessed, so they are hashed with argon2id
(the parameters of ``argon2-cffi``'s current profile, RFC 9106 "low memory"). The
encoded hash carries its own salt and parameters, so raising them later only needs
:func:`needs_rehash` on the next successful login.
"""

from __future__ import annotations

import secrets
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()

MIN_PASSWORD_LENGTH = 8


def hash_password(password: str) -> str:
    """The argon2id encoding of ``password`` (``$argon2id$v=19$m=...``)."""
    return _hasher.hash(password)


def verify_password(encoded: str, password: str) -> bool:
    """Whether ``password`` matches ``encoded``; False (never an exception) if not."""
    try:
        return _hasher.verify(encoded, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(encoded: str) -> bool:
    """True if ``encoded`` was made with other parameters than today's."""
    try:
        return _hasher.check_needs_rehash(encoded)
    except InvalidHashError:
        return True


def new_password() -> str:
    """A random password to print once: 16 URL-safe characters (96 bits)."""
    return secrets.token_urlsafe(12)


@cache
def _dummy_hash() -> str:
    return _hasher.hash(secrets.token_urlsafe(16))


def burn_time() -> None:
    """Spend as long as one failed verification: verified when the username does not exist,
    so that a wrong username takes as long as a wrong password (no enumeration by timing)."""
    verify_password(_dummy_hash(), "")
