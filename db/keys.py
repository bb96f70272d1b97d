"""Secrets errlog hands out (API tokens, webhook tokens, DSN keys): made here, stored only as hashes."""

from __future__ import annotations

import hashlib
import hmac
import secrets

API_TOKEN_PREFIX = "elg_"
WEBHOOK_TOKEN_PREFIX = "elw_"


def new_api_token() -> str:
    return API_TOKEN_PREFIX + secrets.token_urlsafe(32)


def new_webhook_token() -> str:
    return WEBHOOK_TOKEN_PREFIX + secrets.token_urlsafe(32)


def new_public_key() -> str:
    """A Sentry DSN public key: 32 hex characters, as Sentry makes them."""
    return secrets.token_hex(16)


def hash_secret(secret: str) -> str:
    # Tokens are long random strings, so a fast unsalted hash is enough (no dictionary to attack).
    return hashlib.sha256(secret.encode()).hexdigest()


def same_hash(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())
