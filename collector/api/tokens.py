"""GET/POST tokens/, DELETE tokens/{id}/: API tokens for admins; a new token's secret is shown once."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from sqlalchemy import select

from collector.api.framework import Api, ApiContext, ApiError, ApiRequest
from collector.api.inputs import RowId, Text, path_row
from db.enums import Role
from db.models import ApiToken, Developer
from db.tokens import TokenError, create_token

api = Api()


class TokenOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    prefix: str = Field(description="The secret's first characters, to tell tokens apart.")
    role: Role
    developer_id: int | None = Field(description='The developer the token acts as ("me").')
    created_at: dt.datetime
    last_used_at: dt.datetime | None
    revoked_at: dt.datetime | None
    is_active: bool


class NewTokenOut(BaseModel):
    token: TokenOut
    secret: str = Field(description="Send as 'Authorization: Bearer <secret>'. Shown this once; only a hash is kept.")


class TokenIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"name": "ana-laptop", "role": "responder"}]}
    )

    name: Annotated[Text, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
    role: Role
    developer_id: RowId | None = Field(None, description='The developer the token acts as ("me").')


class TokensQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    include_revoked: bool = False


@api.route(
    "GET",
    "/tokens/",
    role=Role.ADMIN,
    summary="List API tokens (never their secrets)",
    tag="tokens",
    query=TokensQuery,
    response=list[TokenOut],
)
def list_tokens(ctx: ApiContext, req: ApiRequest) -> list[TokenOut]:
    query = select(ApiToken).order_by(ApiToken.created_at, ApiToken.id)
    if not req.query.include_revoked:
        query = query.where(ApiToken.revoked_at.is_(None))
    return [TokenOut.model_validate(t) for t in ctx.session.scalars(query)]


@api.route(
    "POST",
    "/tokens/",
    role=Role.ADMIN,
    summary="Issue an API token",
    tag="tokens",
    body=TokenIn,
    response=NewTokenOut,
    status=201,
)
def issue_token(ctx: ApiContext, req: ApiRequest) -> NewTokenOut:
    """The answer holds the secret; it cannot be read again."""
    body: TokenIn = req.body
    if ctx.session.scalar(select(ApiToken.id).where(ApiToken.name == body.name)) is not None:
        raise ApiError(409, f"a token named {body.name!r} already exists", field="body.name")
    if body.developer_id is not None:
        developer = ctx.session.get(Developer, body.developer_id)
        if developer is None or not developer.is_active:
            problem = "is inactive" if developer else "does not exist"
            raise ApiError(
                422, f"body.developer_id: developer {body.developer_id} {problem}", field="body.developer_id"
            )
    try:
        new = create_token(ctx.session, body.name, body.role, body.developer_id)
    except TokenError as exc:
        raise ApiError(422, f"body.name: {exc}", field="body.name") from None
    token = TokenOut.model_validate(new.token)
    ctx.audit("token.create", "token", new.token.id, after=token.model_dump(exclude={"last_used_at", "revoked_at"}))
    return NewTokenOut(token=token, secret=new.secret)


@api.route(
    "DELETE",
    "/tokens/{token_id:int}/",
    role=Role.ADMIN,
    summary="Revoke an API token",
    tag="tokens",
)
def revoke_token(ctx: ApiContext, req: ApiRequest) -> None:
    """Requests with it are refused from now on; revoking a revoked token changes nothing."""
    token = path_row(ctx.session, ApiToken, req, "token_id", "token")
    if token.revoked_at is None:
        token.revoked_at = ctx.now
        ctx.audit("token.revoke", "token", token.id, before={"revoked_at": None}, after={"revoked_at": ctx.now})
