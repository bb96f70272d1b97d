"""The one place errlog-tui talks HTTP: an async client of the REST API returning typed results.

Every failure becomes an ApiError whose message a person can act on (server down, token refused, role too low,
bad input), so the screens never see an httpx exception or a traceback."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any, Literal, TypeVar

import httpx
from pydantic import BaseModel, TypeAdapter, ValidationError

from tui.models import (
    AuditEntry,
    BulkOutcome,
    Counts,
    DeveloperRef,
    ErrorDetail,
    ErrorPage,
    ErrorSummary,
    EventDetail,
    EventSummary,
    MaintenanceWindow,
    Notification,
    Oncall,
    Page,
    Pattern,
    Project,
    RetryOutcome,
    Stats,
    Workload,
)

API_PREFIX = "/api/error-logging"
M = TypeVar("M", bound=BaseModel)
ErrorKind = Literal[
    "unreachable", "unavailable", "unauthorized", "forbidden", "not_found", "conflict", "invalid", "server"
]
# 502-504: a proxy or the collector is up but cannot serve now; like a refused connection, it passes.
UNAVAILABLE = (502, 503, 504)
ACTIONS = ("resolve", "assign", "acknowledge", "escalate", "ignore", "reopen", "comment")


class ApiError(Exception):
    """A request that did not succeed, with the sentence to show and whether the server itself is out of reach."""

    def __init__(self, message: str, *, kind: ErrorKind, status: int | None = None, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.kind = kind
        self.status = status
        self.field = field

    @property
    def disconnected(self) -> bool:
        """The server cannot be reached or cannot serve: shown as a banner and retried, not as a one-off error."""
        return self.kind in ("unreachable", "unavailable")


class ApiClient:
    """Async client of one errlog server with one bearer token."""

    def __init__(
        self, server: str, token: str, *, transport: httpx.AsyncBaseTransport | None = None, timeout: float = 10.0
    ) -> None:
        self.server = server.rstrip("/")
        self._http = httpx.AsyncClient(
            base_url=self.server + API_PREFIX,
            headers={"Authorization": f"Bearer {token}", "User-Agent": "errlog-tui"},
            timeout=httpx.Timeout(timeout, connect=min(timeout, 3.0)),
            transport=transport,
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    # ---- plumbing ----

    async def request(
        self, method: str, path: str, *, params: Mapping[str, Any] | None = None, json: Any = None
    ) -> Any:
        """The decoded JSON answer of a 2xx (None for 204); ApiError otherwise."""
        clean = {k: _param(v) for k, v in (params or {}).items() if v is not None}
        try:
            response = await self._http.request(method, path, params=clean, json=json)
        except httpx.TimeoutException:
            raise ApiError(f"the errlog server at {self.server} did not answer in time", kind="unreachable") from None
        except httpx.TransportError as exc:
            reason = str(exc) or type(exc).__name__
            raise ApiError(f"cannot reach the errlog server at {self.server}: {reason}", kind="unreachable") from None
        if response.is_success:
            return None if response.status_code == 204 or not response.content else response.json()
        raise _error_of(response)

    async def _get(self, path: str, model: type[M], **params: Any) -> M:
        return _parse(model, await self.request("GET", path, params=params))

    async def _get_list(self, path: str, model: type[M], **params: Any) -> list[M]:
        return _parse(list[model], await self.request("GET", path, params=params))  # type: ignore[valid-type]

    # ---- errors ----

    async def list_errors(
        self,
        *,
        q: str | None = None,
        sort: str = "severity",
        limit: int = 100,
        cursor: str | None = None,
        changed_since: dt.datetime | None = None,
        sparkline: bool = True,
    ) -> ErrorPage:
        """GET errors/: one page of the queue (`q` in the search syntax), newest changes only with changed_since."""
        return await self._get(
            "/errors/",
            ErrorPage,
            q=q or None,
            sort=sort,
            limit=limit,
            cursor=cursor,
            changed_since=changed_since,
            include="sparkline" if sparkline else None,
        )

    async def counts(self, *, q: str | None = None) -> Counts:
        """GET errors/counts/: totals by status and severity (the queue's unacknowledged count)."""
        return await self._get("/errors/counts/", Counts, q=q or None)

    async def stats(self, *, window: str = "24h", interval: str | None = None, top: int = 10) -> Stats:
        return await self._get("/errors/stats/", Stats, window=window, interval=interval, top=top)

    async def error(self, error_id: int) -> ErrorDetail:
        return await self._get(f"/errors/{error_id}/", ErrorDetail)

    async def events(self, error_id: int, *, limit: int = 50, cursor: str | None = None) -> Page[EventSummary]:
        return await self._get(f"/errors/{error_id}/events/", Page[EventSummary], limit=limit, cursor=cursor)

    async def event(self, event_id: str, *, project_id: int | None = None) -> EventDetail:
        return await self._get(f"/events/{event_id}/", EventDetail, project=project_id)

    async def act(self, error_id: int, action: str, **body: Any) -> ErrorSummary:
        """POST errors/{id}/{action}/: resolve, assign, acknowledge, escalate, ignore, reopen or comment."""
        if action not in ACTIONS:
            raise ValueError(f"unknown action {action!r}")
        answer = await self.request("POST", f"/errors/{error_id}/{action}/", json=_body(body))
        return _parse(ErrorSummary, answer)

    async def bulk(self, action: str, ids: list[int], **body: Any) -> BulkOutcome:
        """POST errors/bulk/: one action on many errors; each succeeds or fails on its own."""
        answer = await self.request("POST", "/errors/bulk/", json={"action": action, "ids": ids, **_body(body)})
        return _parse(BulkOutcome, answer)

    # ---- people, patterns, notifications, projects ----

    async def developers(self) -> list[DeveloperRef]:
        return await self._get_list("/developers/", DeveloperRef, active=True)

    async def patterns(self, *, limit: int = 200) -> Page[Pattern]:
        return await self._get("/patterns/", Page[Pattern], limit=limit)

    async def notifications(self, *, status: list[str] | None = None, limit: int = 200) -> Page[Notification]:
        return await self._get("/notifications/", Page[Notification], status=status, limit=limit)

    async def retry_notification(self, notification_id: int) -> RetryOutcome:
        answer = await self.request("POST", f"/notifications/{notification_id}/retry/")
        return _parse(RetryOutcome, answer)

    async def projects(self) -> list[Project]:
        return await self._get_list("/projects/", Project)

    async def maintenance_windows(self) -> list[MaintenanceWindow]:
        """GET maintenance-windows/: the active and the planned ones."""
        return await self._get_list("/maintenance-windows/", MaintenanceWindow)

    async def workload(self) -> list[Workload]:
        return await self._get_list("/developers/workload/", Workload)

    async def oncall(self) -> list[Oncall]:
        return await self._get_list("/oncall/", Oncall)

    async def audit(
        self, *, target_type: str | None = None, target_id: str | None = None, limit: int = 50
    ) -> Page[AuditEntry]:
        return await self._get("/audit/", Page[AuditEntry], target_type=target_type, target_id=target_id, limit=limit)


def _param(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).isoformat()
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return ",".join(str(v) for v in value)
    return value


def _body(body: Mapping[str, Any]) -> dict[str, Any]:
    return {k: _param(v) if isinstance(v, dt.datetime) else v for k, v in body.items() if v is not None}


def _parse(model: Any, data: Any) -> Any:
    try:
        return TypeAdapter(model).validate_python(data)
    except ValidationError as exc:
        # The server answered something this TUI does not understand: a version mismatch, said plainly.
        raise ApiError(
            f"unexpected answer from the server ({exc.error_count()} problem(s), e.g. "
            f"{'.'.join(map(str, exc.errors()[0]['loc']))}: {exc.errors()[0]['msg']}); is errlog-tui up to date?",
            kind="server",
        ) from None


def _error_of(response: httpx.Response) -> ApiError:
    status = response.status_code
    detail, field = _detail(response)
    if status == 401:
        return ApiError(
            f"the server refused the API token: {detail} (check --token / ERRLOG_TOKEN)",
            kind="unauthorized",
            status=401,
        )
    if status == 403:
        return ApiError(f"not allowed: {detail}", kind="forbidden", status=403)
    if status in UNAVAILABLE:
        return ApiError(f"the errlog server is unavailable ({status}): {detail}", kind="unavailable", status=status)
    if status == 404:
        return ApiError(detail, kind="not_found", status=404)
    if status == 409:
        return ApiError(detail, kind="conflict", status=409)
    if 400 <= status < 500:
        return ApiError(detail, kind="invalid", status=status, field=field)
    return ApiError(f"server error {status}: {detail}", kind="server", status=status)


def _detail(response: httpx.Response) -> tuple[str, str | None]:
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and isinstance(body.get("detail"), str):
        field = body.get("field")
        return body["detail"], field if isinstance(field, str) else None
    text = response.text.strip().splitlines()[:1]
    return (text[0][:200] if text else response.reason_phrase or f"HTTP {response.status_code}"), None
