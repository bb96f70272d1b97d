"""The REST API's plumbing: declared endpoints with token roles, validated input, audited changes, one OpenAPI.

Each endpoint is a plain sync function `handler(ctx, req)`; the wrapper runs it in a worker thread with one
database session (authenticate, check the role, handle, commit), so the event loop never waits on the
database and every change commits together with its audit row."""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, get_args, get_origin

from pydantic import BaseModel, ValidationError
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from collector import fastjson
from collector.alerts import AlertDue, Enqueue, enqueue_with_huey
from collector.archive import ArchiveUnavailable, EventArchive
from db.audit import record
from db.enums import Role
from db.models import ApiToken
from db.tokens import authenticate
from errlog.settings import Settings

log = logging.getLogger(__name__)

API_PREFIX = "/api/error-logging"
MAX_BODY_BYTES = 1024 * 1024


class ErrorBody(BaseModel):
    detail: str
    field: str | None = None


class ValidationProblem(BaseModel):
    field: str
    message: str


class ValidationErrorBody(BaseModel):
    detail: str
    field: str | None = None
    errors: list[ValidationProblem]


class ApiError(Exception):
    """An answer other than success, with the reason the client sees (and the field at fault, if one is)."""

    def __init__(
        self, status: int, detail: str, *, field: str | None = None, problems: list[ValidationProblem] | None = None
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.field = field
        if status == 422 and not problems:
            # A 422 always lists its problems (ValidationErrorBody), also when a handler found just one.
            where = field or "body"
            problems = [ValidationProblem(field=where, message=detail.removeprefix(f"{where}: "))]
        self.problems = problems


def not_found(what: str, ident: object) -> ApiError:
    return ApiError(404, f"no {what} with id {ident}")


@dataclass
class ApiContext:
    """What a handler gets besides its input: the session, who is calling, from where, and when."""

    session: Session
    token: ApiToken
    settings: Settings
    client_address: str | None
    now: dt.datetime
    # The MongoDB event archive, when configured: payloads of events whose row holds none.
    archive: EventArchive | None = None
    committed_hooks: list[Callable[[], None]] = field(default_factory=list)
    # Where alerts go: the Huey queue, unless the app was built with another (tests record them).
    enqueue_alert: Enqueue = enqueue_with_huey

    def after_commit(self, hook: Callable[[], None]) -> None:
        """Run `hook` once the handler's changes are committed (enqueue tasks with ids: never for a rollback)."""
        self.committed_hooks.append(hook)

    def alert_after_commit(self, alert: AlertDue) -> None:
        """Enqueue `alert` (a page, or a PagerDuty incident update) once the change it reports is committed."""
        self.after_commit(lambda: self.enqueue_alert(alert))

    @property
    def actor(self) -> str:
        return self.token.name

    @property
    def developer_id(self) -> int | None:
        """The developer the calling token acts for ("me")."""
        return self.token.developer_id

    def audit(
        self,
        action: str,
        target_type: str,
        target_id: object,
        *,
        before: dict[str, Any] | None = None,
        after: dict[str, Any] | None = None,
    ) -> None:
        record(
            self.session,
            actor=self.actor,
            action=action,
            target_type=target_type,
            target_id=None if target_id is None else str(target_id),
            before=before,
            after=after,
            token_id=self.token.id,
            client_address=self.client_address,
        )


@dataclass
class ApiRequest:
    path: dict[str, Any]
    query: Any = None  # an instance of the endpoint's query model
    body: Any = None  # an instance of the endpoint's body model


Handler = Callable[[ApiContext, ApiRequest], Any]


@dataclass
class Endpoint:
    method: str
    path: str  # relative to API_PREFIX, Starlette style: "/errors/{error_id:int}/"
    handler: Handler
    role: Role
    summary: str
    tag: str
    query: type[BaseModel] | None = None
    body: type[BaseModel] | None = None
    response: Any = None  # a pydantic model class, list[Model], or None for 204
    status: int = 200
    description: str | None = None
    errors: dict[int, str] = field(default_factory=dict)  # answers beyond the ones every endpoint documents
    path_schemas: dict[str, dict[str, Any]] = field(default_factory=dict)  # JSON schemas of untyped path params

    @property
    def full_path(self) -> str:
        return API_PREFIX + self.path

    @property
    def openapi_path(self) -> str:
        return re.sub(r"\{(\w+):\w+\}", r"{\1}", self.full_path)

    @property
    def operation_id(self) -> str:
        return self.handler.__name__


@dataclass
class Api:
    """The registry of endpoints: routes for Starlette and the OpenAPI document come from the same list."""

    title: str = "errlog REST API"
    version: str = "1"
    endpoints: list[Endpoint] = field(default_factory=list)

    def route(
        self,
        method: str,
        path: str,
        *,
        role: Role,
        summary: str,
        tag: str,
        query: type[BaseModel] | None = None,
        body: type[BaseModel] | None = None,
        response: Any = None,
        status: int = 200,
        errors: dict[int, str] | None = None,
        path_schemas: dict[str, dict[str, Any]] | None = None,
    ) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            self.endpoints.append(
                Endpoint(
                    method=method.upper(),
                    path=path,
                    handler=handler,
                    role=role,
                    summary=summary,
                    tag=tag,
                    query=query,
                    body=body,
                    response=response,
                    status=status,
                    description=(handler.__doc__ or "").strip() or None,
                    errors=dict(errors or {}),
                    path_schemas=dict(path_schemas or {}),
                )
            )
            return handler

        return register

    def include(self, other: Api) -> None:
        self.endpoints.extend(other.endpoints)

    def starlette_routes(self) -> list[Route]:
        by_path: dict[str, dict[str, Endpoint]] = {}
        for endpoint in self.endpoints:
            by_path.setdefault(endpoint.full_path, {})[endpoint.method] = endpoint
        return [Route(path, _dispatcher(methods), methods=list(methods)) for path, methods in by_path.items()]


def _dispatcher(methods: dict[str, Endpoint]) -> Callable[[Request], Any]:
    async def dispatch(request: Request) -> Response:
        endpoint = methods[request.method]
        try:
            return await _serve(endpoint, request)
        except ApiError as exc:
            return _error(exc)
        except ArchiveUnavailable:
            return _error(ApiError(503, "the event archive (MongoDB) is unavailable, retry later"))
        except ValidationError as exc:
            return _validation_error(exc)
        except IntegrityError as exc:
            # Two requests at once: both passed a handler's check (the name is free, the row exists) and the second
            # commit breaks a constraint. Nothing of it was stored; the client can read again and decide.
            log.warning("%s %s conflicted with a concurrent change: %s", request.method, request.url.path, exc.orig)
            return _error(ApiError(409, CONFLICT_REASON))
        except OperationalError as exc:
            # The database is down, restarting or locked: a moment's wait, as the ingest endpoints answer it.
            log.warning("%s %s: the database is unavailable: %s", request.method, request.url.path, exc.orig)
            answer = _error(ApiError(503, UNAVAILABLE_REASON))
            answer.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
            return answer

    return dispatch


UNAVAILABLE_REASON = "the database is unavailable, retry later"
RETRY_AFTER_SECONDS = 5
CONFLICT_REASON = (
    "the change conflicts with another made at the same time (a name just taken, a row just removed): "
    "nothing was changed; read again and retry"
)


def bearer_token(request: Request) -> str | None:
    scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
    return credentials.strip() or None if scheme.lower() == "bearer" else None


async def _serve(endpoint: Endpoint, request: Request) -> Response:
    presented = bearer_token(request)
    if presented is None:
        raise ApiError(401, "missing API token: send 'Authorization: Bearer <token>' (see `errlog token create`)")
    api_request = ApiRequest(path=dict(request.path_params))
    # Input problems are reported only after the token and role pass: no probing without credentials.
    invalid: ApiError | None = None
    try:
        api_request.query = _parse_query(endpoint.query, request) if endpoint.query else None
        api_request.body = await _parse_body(endpoint.body, request) if endpoint.body else None
    except ApiError as exc:
        invalid = exc
    sessions: sessionmaker[Session] = request.app.state.session_factory
    settings: Settings = request.app.state.settings
    client = request.client.host if request.client else None
    archive = getattr(request.app.state, "archive", None)
    enqueue = getattr(request.app.state, "enqueue_alert", enqueue_with_huey)
    result = await run_in_threadpool(
        _run, endpoint, sessions, settings, presented, client, api_request, invalid, archive, enqueue
    )
    if endpoint.response is None:
        return Response(status_code=204 if endpoint.status == 200 else endpoint.status)
    return JSONResponse(_dump(result), status_code=endpoint.status)


def _run(
    endpoint: Endpoint,
    sessions: sessionmaker[Session],
    settings: Settings,
    presented: str,
    client: str | None,
    request: ApiRequest,
    invalid: ApiError | None,
    archive: EventArchive | None,
    enqueue: Enqueue,
) -> Any:
    with sessions() as session:
        token = authenticate(session, presented)
        if token is None:
            raise ApiError(401, "unknown or revoked API token")
        if not Role(token.role).allows(endpoint.role):
            session.commit()  # keep the last-used time of a valid token
            raise ApiError(403, f"this endpoint needs the {endpoint.role} role; the token has {token.role}")
        if invalid is not None:
            session.commit()
            raise invalid
        ctx = ApiContext(session, token, settings, client, dt.datetime.now(dt.UTC), archive, enqueue_alert=enqueue)
        result = endpoint.handler(ctx, request)
        session.commit()
    for hook in ctx.committed_hooks:
        try:
            hook()
        except Exception:  # e.g. the queue is down: the change stands, the periodic sweeps catch up
            log.exception("after-commit hook of %s failed", endpoint.operation_id)
    return result


def _parse_query(model: type[BaseModel], request: Request) -> BaseModel:
    data: dict[str, Any] = {}
    for name, info in model.model_fields.items():
        key = info.alias or name
        if key not in request.query_params:
            continue
        wants_list = get_origin(info.annotation) is list or any(
            get_origin(arg) is list for arg in get_args(info.annotation)
        )
        values = request.query_params.getlist(key)
        # Empty items are kept, so `?status=` or `a,,b` is refused naming the item rather than read as "none".
        data[key] = [v for value in values for v in value.split(",")] if wants_list else values[-1]
    unknown = sorted(set(request.query_params) - {info.alias or name for name, info in model.model_fields.items()})
    if unknown:
        raise ApiError(400, f"unknown query parameter {unknown[0]!r}", field=f"query.{unknown[0]}")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise _located(exc, "query") from None


async def _parse_body(model: type[BaseModel], request: Request) -> BaseModel:
    raw = b""
    async for chunk in request.stream():
        raw += chunk
        if len(raw) > MAX_BODY_BYTES:
            raise ApiError(413, f"request body exceeds {MAX_BODY_BYTES} bytes")
    try:
        data = json.loads(raw) if raw.strip() else {}
    except (ValueError, RecursionError) as exc:  # not UTF-8, not JSON, nested too deeply, a number too long
        reason = fastjson.problem(exc).removeprefix("invalid JSON: ")
        raise ApiError(400, f"request body is not valid JSON: {reason}") from None
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise _located(exc, "body") from None


def _located(exc: ValidationError, where: str) -> ApiError:
    problems = [
        ValidationProblem(field=".".join([where, *(str(p) for p in err["loc"])]), message=err["msg"])
        for err in exc.errors()
    ]
    first = problems[0]
    return ApiError(422, f"{first.field}: {first.message}", field=first.field, problems=problems)


def _error(exc: ApiError) -> JSONResponse:
    body: dict[str, Any] = {"detail": exc.detail}
    if exc.field:
        body["field"] = exc.field
    if exc.problems:
        body["errors"] = [problem.model_dump() for problem in exc.problems]
    headers = {"WWW-Authenticate": 'Bearer realm="errlog"'} if exc.status == 401 else None
    return JSONResponse(body, status_code=exc.status, headers=headers)


def _validation_error(exc: ValidationError) -> JSONResponse:
    # A handler built an invalid response model: a bug, reported as such without leaking internals.
    return JSONResponse({"detail": f"internal validation error: {exc.error_count()} problem(s)"}, status_code=500)


def _dump(result: Any) -> Any:
    if isinstance(result, BaseModel):
        return result.model_dump(mode="json")
    if isinstance(result, list):
        return [_dump(item) for item in result]
    return result
