"""API keys and node tokens: random secrets shown once and stored hashed."""

from __future__ import annotations

import hashlib
import secrets

API_KEY_PREFIX = "agp_"
NODE_TOKEN_PREFIX = "agn_"
DISPLAY_PREFIX_LENGTH = 12  # what lists show to tell keys apart: "agp_" + 8 characters


def new_secret(prefix: str) -> str:
    """A new secret such as ``agp_<43 url-safe characters>`` (256 random bits)."""
    return prefix + secrets.token_urlsafe(32)


def hash_secret(secret: str) -> str:
    """The SHA-256 hex digest of ``secret``.

    A fast unsalted hash is right here: these secrets carry 256 random bits, so
    there is nothing to brute-force and no dictionary to precompute; a slow
    password hash (bcrypt, argon2) would only slow down every authenticated
    request. It also lets the database look a secret up by its hash. Never use
    this for human-chosen passwords.
    """
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def display_prefix(secret: str) -> str:
    """The first characters of ``secret``, stored so that lists can identify it."""
    return secret[:DISPLAY_PREFIX_LENGTH]
