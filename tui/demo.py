"""`errlog-tui --demo`: fills a separate database through the collector's own doors, never the database itself.

Events go in as Sentry envelopes and JSON webhooks from five services on five stacks; the projects, people,
on-call rotations and the triage done so far go through the REST API. A small local HTTP sink stands in for the
ntfy server, so some alerts are delivered, while the Slack webhook points at a closed port, so others fail and are
retried: every pane has something to show."""

from __future__ import annotations

import asyncio
import contextlib
import copy
import datetime as dt
import json
import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from tui.demo_data import DEVELOPERS, SERVICES, DemoError, DemoService
from tui.local import LocalInfo, LocalStack, LocalStackError, free_port, read_private, write_private

PROJECTS_FILE = "demo-projects.json"  # webhook tokens are shown once: kept (0600) for the next start
SEEDED_FILE = "demo-seeded"
Progress = Callable[[str], None]


@dataclass
class DemoProject:
    id: int
    name: str
    dsn: str
    webhook_token: str

    @property
    def public_key(self) -> str:
        return self.dsn.split("//", 1)[1].split("@", 1)[0]


class Sink:
    """Answers 200 to any HTTP request: the demo's stand-in for the ntfy server, so pushes count as delivered."""

    def __init__(self) -> None:
        self.server: asyncio.Server | None = None
        self.requests = 0

    async def start(self) -> str:
        self.server = await asyncio.start_server(self._answer, "127.0.0.1", 0)
        port = self.server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"

    async def _answer(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError, asyncio.IncompleteReadError, ValueError):
            head = await reader.readuntil(b"\r\n\r\n")
            lengths = [
                line.split(b":", 1)[1] for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:")
            ]
            length = int(lengths[0]) if lengths else 0
            await reader.readexactly(length)
            self.requests += 1
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}")
            await writer.drain()
        writer.close()

    def close(self) -> None:
        if self.server is not None:
            self.server.close()
            self.server = None


def demo_environment(sink_url: str) -> dict[str, str]:
    """Channel settings of the demo's collector and worker: ntfy delivered, Slack failing fast."""
    return {
        "ERRLOG_NTFY_URL": sink_url,
        "ERRLOG_SLACK_WEBHOOK_URL": f"http://127.0.0.1:{free_port()}/services/T0/B0/demo",
        "ERRLOG_NOTIFICATION_RETRY_SECONDS": "5",
        "ERRLOG_NOTIFICATION_MAX_ATTEMPTS": "3",
        "ERRLOG_NOTIFICATION_TIMEOUT_SECONDS": "2",
    }


async def fill(stack: LocalStack, info: LocalInfo, progress: Progress) -> dict[str, DemoProject]:
    """Fill the demo database the first time; on later starts, just send a fresh burst so it looks alive."""
    first = not (stack.data_dir / SEEDED_FILE).exists()
    headers = {"Authorization": f"Bearer {info.token}"}
    async with httpx.AsyncClient(base_url=info.server, timeout=30, headers=headers) as http:
        projects = await ensure_projects(stack, http, progress)
        if first:
            developers = await add_developers(http, progress)
            await add_rotations(http, projects, developers, progress)
        rng = random.Random(7 if first else None)
        ids = await send_all(http, projects, progress, rng, scale=1.0 if first else 0.15)
        if first:
            await triage(http, projects, ids, developers, progress)
            (stack.data_dir / SEEDED_FILE).write_text(dt.datetime.now(dt.UTC).isoformat() + "\n")
    # The worker looks for patterns every five minutes; run it once now so the Patterns pane has content at once.
    progress("Demo: looking for patterns ...")
    await stack.run("analyze")
    progress("Demo data ready")
    return projects


async def ensure_projects(stack: LocalStack, http: httpx.AsyncClient, progress: Progress) -> dict[str, DemoProject]:
    path = stack.data_dir / PROJECTS_FILE
    known: dict[str, Any] = json.loads(read_private(path) or "{}")
    for service in SERVICES:
        if service.name not in known:
            progress(f"Demo: creating project {service.name} ...")
            body = {"name": service.name, "platform": service.platform}
            made = await _ok(http.post("/api/error-logging/projects/", json=body))
            project = made["project"]
            known[service.name] = {
                "id": project["id"],
                "dsn": project["dsns"][0],
                "webhook_token": made["webhook_token"],
            }
            write_private(path, json.dumps(known))
    return {name: DemoProject(int(v["id"]), name, str(v["dsn"]), str(v["webhook_token"])) for name, v in known.items()}


async def add_developers(http: httpx.AsyncClient, progress: Progress) -> dict[str, int]:
    progress("Demo: adding developers ...")
    existing = {d["email"]: d["id"] for d in (await _ok(http.get("/api/error-logging/developers/")))}
    for person in DEVELOPERS:
        if person["email"] not in existing:
            made = await _ok(http.post("/api/error-logging/developers/", json=person))
            existing[person["email"]] = made["id"]
    return {email.split("@")[0]: int(i) for email, i in existing.items()}


async def add_rotations(
    http: httpx.AsyncClient, projects: dict[str, DemoProject], people: dict[str, int], progress: Progress
) -> None:
    """Per service: a primary rotation of 12-hour shifts among three people, a weekly secondary of two."""
    progress("Demo: setting up on-call rotations ...")
    start = (dt.datetime.now(dt.UTC) - dt.timedelta(days=3)).date().isoformat()
    names = list(people)
    for n, project in enumerate(projects.values()):
        primary = [people[names[(n + i) % 3]] for i in range(3)]
        secondary = [people[name] for name in names[3:5]] or primary[:1]
        body = {
            "name": f"{project.name} on-call",
            "project_id": project.id,
            "rotations": [
                {
                    "level": 1,
                    "participant_ids": primary,
                    "start_date": start,
                    "handoff_time": "09:00",
                    "timezone": "UTC",
                    "shift_hours": 12,
                },
                {
                    "level": 2,
                    "participant_ids": secondary,
                    "start_date": start,
                    "handoff_time": "09:00",
                    "timezone": "UTC",
                    "shift_hours": 168,
                },
            ],
        }
        await _ok(http.post("/api/error-logging/oncall/schedules/", json=body))


async def send_all(
    http: httpx.AsyncClient, projects: dict[str, DemoProject], progress: Progress, rng: random.Random, scale: float
) -> dict[str, int]:
    """Send every demo error; answers demo error key -> error id."""
    ids: dict[str, int] = {}
    now = dt.datetime.now(dt.UTC)
    for service in SERVICES:
        progress(f"Demo: {service.name} is failing ({service.via}) ...")
        project = projects[service.name]
        for error in service.errors:
            count = max(1, round(error.count * scale))
            event_ids = await send_error(http, project, service, error, count, rng, now)
            ids[error.key] = await error_of(http, event_ids[-1], project.id)
    return ids


async def send_error(
    http: httpx.AsyncClient,
    project: DemoProject,
    service: DemoService,
    error: DemoError,
    count: int,
    rng: random.Random,
    now: dt.datetime,
) -> list[str]:
    """`count` occurrences spread over the last day (more of them recent), the last one minutes ago."""
    times = sorted(now - dt.timedelta(hours=24 * rng.random() ** 2) for _ in range(count - 1))
    times.append(now - dt.timedelta(seconds=rng.uniform(5, 300)))
    occurrences = [_occurrence(service, error, at, rng) for at in times]
    if service.via == "sentry":
        for event in occurrences:
            await _ok(
                http.post(
                    f"/api/{project.id}/envelope/",
                    content=_envelope(event),
                    headers={
                        "X-Sentry-Auth": f"Sentry sentry_key={project.public_key}, sentry_version=7, "
                        "sentry_client=errlog-demo/1.0",
                        "Content-Type": "application/x-sentry-envelope",
                    },
                )
            )
        return [event["event_id"] for event in occurrences]
    answer = await _ok(
        http.post(
            f"/api/error-logging/webhook/{service.via}/",
            json=occurrences,
            headers={"X-Errlog-Token": project.webhook_token},
        )
    )
    return list(answer["ids"])


def _occurrence(service: DemoService, error: DemoError, at: dt.datetime, rng: random.Random) -> dict[str, Any]:
    event = copy.deepcopy(error.payload)
    user = f"u-{rng.randrange(error.users) + 100}"
    environment = "staging" if rng.random() < 0.1 else "production"
    event["event_id"] = uuid.UUID(int=rng.getrandbits(128)).hex
    if service.via == "sentry":
        event.update(
            timestamp=at.timestamp(),
            release=service.release,
            environment=environment,
            server_name=f"{service.name}-{rng.randrange(3) + 1}",
            user={**event.get("user", {}), "id": user},
            sdk={"name": f"sentry.{service.platform}", "version": "2.0.0"},
        )
    else:
        event.update(timestamp=at.isoformat(), release=service.release, environment=environment, user={"id": user})
        event.setdefault("service", service.name)
    return event


def _envelope(event: dict[str, Any]) -> bytes:
    payload = json.dumps(event).encode()
    header = json.dumps({"event_id": event["event_id"], "sent_at": dt.datetime.now(dt.UTC).isoformat()}).encode()
    item = json.dumps({"type": "event", "length": len(payload)}).encode()
    return b"\n".join([header, item, payload]) + b"\n"


async def error_of(http: httpx.AsyncClient, event_id: str, project_id: int) -> int:
    event = await _ok(http.get(f"/api/error-logging/events/{event_id}/", params={"project": project_id}))
    return int(event["issue_id"])


async def triage(
    http: httpx.AsyncClient,
    projects: dict[str, DemoProject],
    ids: dict[str, int],
    people: dict[str, int],
    progress: Progress,
) -> None:
    """What the team has done so far: some errors owned and acknowledged, some escalated, some put aside."""
    progress("Demo: triage so far (assignments, escalations, comments) ...")
    api = "/api/error-logging/errors"
    steps: list[tuple[str, str, dict[str, Any]]] = [
        ("deadlock", "assign", {"developer_id": people["ana"]}),
        ("deadlock", "acknowledge", {}),
        ("deadlock", "comment", {"body": "Two checkouts reserve the same SKU; retry with backoff ships in 5.2.2."}),
        ("undefined-map", "assign", {"developer_id": people["chen"]}),
        ("undefined-map", "comment", {"body": "Happens when /api/products answers 502; guard the empty state."}),
        ("npe-invoice", "assign", {"developer_id": people["ben"]}),
        ("division", "acknowledge", {}),
        ("gateway-timeout", "assign", {"auto": True}),
        ("gateway-timeout", "escalate", {"reason": "Charges failing for 15 minutes, no answer from the primary"}),
        ("range-error", "escalate", {"reason": "Crash rate above 2% on Android since 1.4.0"}),
        ("missing-currency", "resolve", {}),
        ("chunk-load", "ignore", {"events": 100}),
        ("camera-denied", "ignore", {}),
    ]
    for key, action, body in steps:
        # A refusal (nobody on call at a level, say) leaves that step out; the demo goes on.
        with contextlib.suppress(DemoRequestError):
            await _ok(http.post(f"{api}/{ids[key]}/{action}/", json=body))
    # The resolved error comes back: a regression.
    service = next(s for s in SERVICES if any(e.key == "missing-currency" for e in s.errors))
    error = next(e for e in service.errors if e.key == "missing-currency")
    await send_error(http, projects[service.name], service, error, 1, random.Random(), dt.datetime.now(dt.UTC))


class DemoRequestError(LocalStackError):
    """The collector refused a demo request; the message names the request and the reason."""


async def _ok(request: Any) -> Any:
    try:
        response: httpx.Response = await request
    except httpx.HTTPError as exc:
        raise DemoRequestError(f"the demo could not reach the local collector: {exc}") from None
    if response.is_error:
        request_line = f"{response.request.method} {response.request.url.path}"
        raise DemoRequestError(f"{request_line}: {response.status_code} {response.text[:200]}")
    return response.json() if response.content else None


async def feed(server: str, projects: dict[str, DemoProject], interval: float = 6.0) -> None:
    """While the demo runs, a new occurrence of some demo error every few seconds: the panes stay live."""
    rng = random.Random()
    async with httpx.AsyncClient(base_url=server, timeout=10) as http:
        while True:
            await asyncio.sleep(interval)
            service = rng.choice(SERVICES)
            error = rng.choice(service.errors)
            with contextlib.suppress(httpx.HTTPError, DemoRequestError):
                await send_error(http, projects[service.name], service, error, 1, rng, dt.datetime.now(dt.UTC))
