"""API tokens: issuing, looking up by presented secret, revoking."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from db.enums import Role
from db.keys import hash_secret, new_api_token, same_hash
from db.models import ApiToken
from db.types import utcnow

LAST_USED_RESOLUTION = dt.timedelta(minutes=1)


class TokenError(ValueError):
    """A token cannot be issued or revoked as asked; the message says why."""


@dataclass(frozen=True)
class NewToken:
    token: ApiToken
    secret: str  # shown once


def create_token(session: Session, name: str, role: Role, developer_id: int | None = None) -> NewToken:
    name = name.strip()
    if not name or len(name) > 100:
        raise TokenError("a token needs a name of 1-100 characters")
    if session.scalar(select(ApiToken.id).where(ApiToken.name == name)) is not None:
        raise TokenError(f"a token named {name!r} already exists")
    secret = new_api_token()
    token = ApiToken(
        name=name, token_hash=hash_secret(secret), prefix=secret[:10], role=role, developer_id=developer_id
    )
    session.add(token)
    session.flush()
    return NewToken(token=token, secret=secret)


def authenticate(session: Session, presented: str, *, now: dt.datetime | None = None) -> ApiToken | None:
    """The active token for a presented secret, with its last use recorded; None if unknown or revoked."""
    digest = hash_secret(presented)
    token = session.scalars(select(ApiToken).where(ApiToken.token_hash == digest)).first()
    if token is None or not same_hash(token.token_hash, digest) or token.revoked_at is not None:
        return None
    now = now or utcnow()
    # Recorded to the minute: a write per request would turn every read into a write.
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_RESOLUTION:
        token.last_used_at = now
    return token


def revoke_token(session: Session, name_or_id: str) -> ApiToken:
    query = select(ApiToken).where(ApiToken.name == name_or_id)
    if name_or_id.isdigit():
        query = select(ApiToken).where((ApiToken.id == int(name_or_id)) | (ApiToken.name == name_or_id))
    token = session.scalars(query).first()
    if token is None:
        raise TokenError(f"no token named {name_or_id!r}")
    if token.revoked_at is None:
        token.revoked_at = utcnow()
    return token
