"""Fills a PostgreSQL database for the REST API benchmark: services, developers with on-call rotations, errors with
a skewed number of events each, and the triage history (assignments, notifications, audit rows) around them.

Big tables go in with COPY; the same seed gives the same data, anchored at the time of seeding."""

from __future__ import annotations

import datetime as dt
import json
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import psycopg

SEVERITIES = ("critical", "high", "medium", "low")
SEVERITY_WEIGHTS = (5, 25, 40, 30)
ENVIRONMENTS = ("production", "staging", "development")
ENVIRONMENT_WEIGHTS = (70, 25, 5)
# (exception type, message templates): about 3% of errors mention a timeout, for the text search.
KINDS = (
    ("ValueError", ("invalid literal for int() with base 10: '{w}'", "could not convert string to float: '{w}'")),
    ("KeyError", ("'{w}_id'", "'{w}'")),
    ("TypeError", ("'NoneType' object is not subscriptable", "unsupported operand type(s) for +: 'int' and '{w}'")),
    ("AttributeError", ("'NoneType' object has no attribute '{w}'", "module '{w}' has no attribute 'load'")),
    ("IntegrityError", ('duplicate key value violates unique constraint "{w}_pkey"',)),
    ("ConnectionError", ("connection refused by {w}", "connection reset while talking to {w}")),
    ("PermissionError", ("permission denied: '/var/lib/{w}'",)),
    ("IndexError", ("list index out of range",)),
    ("ZeroDivisionError", ("division by zero",)),
    ("JSONDecodeError", ("Expecting value: line 1 column {n} (char {n})",)),
    ("RuntimeError", ("{w} worker crashed", "dictionary changed size during iteration")),
    ("HTTPError", ("502 Bad Gateway from {w}", "404 Not Found: /api/{w}/{n}")),
    ("TimeoutError", ("upstream {w} timed out after {n} ms", "timeout waiting for {w} lock")),
)
KIND_WEIGHTS = (12, 12, 10, 10, 6, 8, 4, 8, 3, 5, 6, 13, 3)
WORDS = (
    "orders", "payments", "cart", "invoice", "ledger", "search", "users", "session", "catalog", "inventory",
    "shipping", "refund", "coupon", "profile", "avatar", "report", "export", "webhook", "token", "queue",
)  # fmt: skip
MODULES = ("api", "views", "models", "tasks", "client", "handlers", "services", "utils")
FUNCTIONS = ("handle", "process", "load", "save", "charge", "sync", "render", "validate", "fetch", "apply")
CHANNELS = ("slack", "email", "sms", "ntfy")


@dataclass(frozen=True)
class Shape:
    events: int = 1_000_000
    errors: int = 100_000
    services: int = 20
    developers: int = 50
    days: int = 60  # events spread over this many days before the seed's "now"
    seed: int = 1


@dataclass
class ErrorSpec:
    id: int
    project_id: int
    severity: str
    kind: str
    title: str
    culprit: str
    first_seen: float
    last_seen: float
    events: int
    status: str = "unresolved"
    environment: str = "production"
    releases: tuple[str, str] = ("", "")
    users: int = 1
    extra: dict[str, Any] = field(default_factory=dict)


def _iso(epoch: float) -> str:
    return dt.datetime.fromtimestamp(epoch, dt.UTC).isoformat()


def _event_counts(rng: random.Random, errors: int, events: int) -> list[int]:
    """One event each, the rest by a Zipf law over the errors' ranks (s = 1): the top error gets about 7% of all
    events, the 100th 0.07%, most get one to a few."""
    counts = [1] * errors
    rest = events - errors
    weights = [1.0 / rank for rank in range(1, errors + 1)]
    total = sum(weights)
    given = 0
    for i, weight in enumerate(weights):
        share = int(rest * weight / total)
        counts[i] += share
        given += share
    for i in rng.sample(range(errors), rest - given):  # the rounding remainder, one more to some
        counts[i] += 1
    return counts


def plan_errors(shape: Shape, now: float) -> list[ErrorSpec]:
    rng = random.Random(shape.seed)
    span = shape.days * 86400.0
    counts = _event_counts(rng, shape.errors, shape.events)
    services = range(1, shape.services + 1)
    service_weights = [1.0 / (rank + 2) for rank in services]  # a few services make many of the errors
    specs = []
    for index, events in enumerate(counts):
        kind, templates = rng.choices(KINDS, KIND_WEIGHTS)[0]
        word = rng.choice(WORDS)
        message = rng.choice(templates).format(w=word, n=rng.randint(1, 9999))
        project_id = rng.choices(services, service_weights)[0]
        busy = index < 1000
        first_seen = now - span * (rng.uniform(0.5, 1.0) if busy else rng.random())
        if busy:  # still happening
            last_seen = now - rng.uniform(0, 600)
        elif rng.random() < 0.3:  # seen again lately
            last_seen = max(first_seen, now - rng.expovariate(1 / (2 * 86400)))
        else:
            last_seen = first_seen + (now - first_seen) * rng.random() ** 3
        if events == 1:
            last_seen = first_seen
        specs.append(
            ErrorSpec(
                id=index + 1,
                project_id=project_id,
                severity=rng.choices(SEVERITIES, SEVERITY_WEIGHTS)[0],
                kind=kind,
                title=f"{kind}: {message}"[:500],
                culprit=f"svc{project_id}.{rng.choice(MODULES)}.{word} in {rng.choice(FUNCTIONS)}_{word}",
                first_seen=first_seen,
                last_seen=max(first_seen, last_seen),
                events=events,
                environment=rng.choices(ENVIRONMENTS, ENVIRONMENT_WEIGHTS)[0],
                users=max(1, min(events, int(events * rng.uniform(0.05, 0.6)))),
            )
        )
    rng.shuffle(specs)  # ids are not in rank order: the busy errors are spread over the id range
    for new_id, spec in enumerate(specs, 1):
        spec.id = new_id
    _triage(rng, specs, shape, now)
    return specs


def _triage(rng: random.Random, specs: list[ErrorSpec], shape: Shape, now: float) -> None:
    """Statuses, assignments, acknowledgements and resolutions as a team that keeps up with part of its queue."""
    for spec in specs:
        recent = now - spec.last_seen < 7 * 86400
        status = rng.choices(
            ("unresolved", "acknowledged", "resolved", "ignored"), (60, 15, 20, 5) if recent else (20, 5, 60, 15)
        )[0]
        spec.status = status
        minor = 1 + int(spec.first_seen // 86400) % 9
        spec.releases = (f"svc{spec.project_id}@1.{minor}.0", f"svc{spec.project_id}@1.{minor + 1}.0")
        extra: dict[str, Any] = {}
        assigned = status == "acknowledged" or (status != "ignored" and rng.random() < 0.4)
        if assigned:
            # A skewed load: the first developers of each team carry more.
            extra["assignee_id"] = 1 + min(int(rng.expovariate(1 / 12)), shape.developers - 1)
            extra["assigned_at"] = spec.first_seen + (now - spec.first_seen) * rng.random() * 0.2
        if status == "acknowledged" or (status == "resolved" and assigned):
            extra["acknowledged_at"] = extra.get("assigned_at", spec.first_seen) + rng.uniform(60, 7200)
        if status == "resolved":
            extra["resolved_at"] = min(now, spec.last_seen + rng.uniform(600, 86400))
        spec.extra = extra


def _issue_rows(specs: list[ErrorSpec]) -> Iterator[tuple[Any, ...]]:
    weights = {"critical": 8.0, "high": 4.0, "medium": 2.0, "low": 1.0}
    for s in specs:
        x = s.extra
        yield (
            s.id, s.project_id, f"{s.id:032x}", 1, s.title, s.culprit, s.kind, "python", "error", s.severity,
            s.status, "ongoing" if s.status in ("unresolved", "acknowledged") else None,
            _iso(s.first_seen), _iso(s.last_seen), s.events, s.users, s.releases[0], s.releases[1], s.environment,
            x.get("assignee_id"), _iso(x["assigned_at"]) if "assigned_at" in x else None,
            _iso(x["acknowledged_at"]) if "acknowledged_at" in x else None,
            "bench" if "acknowledged_at" in x else None,
            _iso(x["resolved_at"]) if "resolved_at" in x else None,
            False, False, 0, s.events * s.users * weights[s.severity],
            _iso(s.first_seen), _iso(max(s.last_seen, x.get("resolved_at", 0.0))),
        )  # fmt: skip


ISSUE_COLUMNS = (
    "id, project_id, fingerprint, grouping_version, title, culprit, exception_type, platform, level, severity, "
    "status, substatus, first_seen, last_seen, times_seen, users_affected, first_release, last_release, "
    "last_environment, assignee_id, assigned_at, acknowledged_at, acknowledged_by, resolved_at, "
    "resolved_in_next_release, is_regression, escalation_level, impact_score, created_at, updated_at"
)
EVENT_COLUMNS = (
    "id, project_id, issue_id, event_id, timestamp, received_at, level, severity, environment, release, platform, "
    "message, user_key, tags, payload, source, size_bytes"
)


def _payload_template(spec: ErrorSpec) -> str:
    """The event body of an error, with EVENT_ID, TS and USER left to fill in: a Python SDK event in short."""
    module = spec.culprit.split(" in ")[0]
    frames = [
        {
            "filename": f"{module.replace('.', '/')}_{depth}.py",
            "module": module,
            "function": f"{FUNCTIONS[depth % len(FUNCTIONS)]}_{depth}",
            "lineno": 10 + 7 * depth,
            "in_app": depth > 1,
            "context_line": f"    result = step_{depth}(request, payload)",
            "pre_context": ["    # prepare", f"    payload = load_{depth}(request)"],
            "post_context": ["    return result", ""],
        }
        for depth in range(5)
    ]
    body = {
        "event_id": "EVENT_ID",
        "timestamp": "TS",
        "platform": "python",
        "level": "error",
        "logger": module,
        "environment": spec.environment,
        "release": spec.releases[1],
        "exception": {
            "values": [
                {
                    "type": spec.kind,
                    "value": spec.title.split(": ", 1)[-1],
                    "module": module,
                    "mechanism": {"type": "generic", "handled": False},
                    "stacktrace": {"frames": frames},
                }
            ]
        },
        "breadcrumbs": {
            "values": [
                {"category": "http", "message": "GET https://internal/api/items 200"},
                {"category": "query", "message": "SELECT * FROM items WHERE id = %s"},
            ]
        },
        "request": {"url": "https://shop.example/api/items", "method": "GET", "headers": {"User-Agent": "bench"}},
        "user": {"id": "USER"},
        "contexts": {"runtime": {"name": "CPython", "version": "3.11.9"}, "os": {"name": "Linux"}},
        "tags": {"server_name": f"web-{spec.project_id}"},
        "sdk": {"name": "sentry.python", "version": "2.19.0"},
    }
    return json.dumps(body, separators=(",", ":"))


def _event_times(rng: random.Random, specs: list[ErrorSpec]) -> list[tuple[float, int]]:
    """(received_at, index of its error) for every event, sorted by time as the collector would have stored them."""
    times: list[tuple[float, int]] = []
    for index, spec in enumerate(specs):
        times.append((spec.first_seen, index))
        if spec.events > 1:
            times.append((spec.last_seen, index))
        span = spec.last_seen - spec.first_seen
        times.extend((spec.first_seen + span * rng.random(), index) for _ in range(spec.events - 2))
    times.sort()
    return times


def _copy_text(value: str) -> str:
    """A value in COPY's text format (no tabs or newlines occur in ours: JSON escapes them)."""
    return value.replace("\\", "\\\\")


def _event_lines(specs: list[ErrorSpec], seed: int) -> Iterator[str]:
    """The events table in COPY text format, one line per event, in the order they were received."""
    rng = random.Random(seed + 1)
    parts: dict[int, tuple[str, ...]] = {}
    browsers = ("Chrome", "Firefox", "Safari")
    for number, (at, index) in enumerate(_event_times(rng, specs), 1):
        spec = specs[index]
        template = parts.get(index)
        if template is None:
            # Split once around the per-event values, so each event is a few concatenations.
            head, rest = _copy_text(_payload_template(spec)).split("EVENT_ID")
            middle, rest = rest.split('"TS"')
            user_part, tail = rest.split("USER")
            template = parts[index] = (
                f"{spec.project_id}\t{spec.id}\t",
                "\terror\t",
                f"\t{spec.environment}\t{spec.releases[1]}\tpython\t{_copy_text(spec.title)}\t",
                f'\t{{"server_name":"web-{spec.project_id}","browser":"',
                f'"}}\t{head}',
                middle,
                user_part,
                tail,
            )
        ids, level, meta, tags, head, middle, user_part, tail = template
        event_id = f"{rng.getrandbits(128):032x}"
        user = f"user-{spec.id % 997}-{rng.randrange(spec.users)}"
        stamp = _iso(at)
        severity = spec.severity
        if severity != "low" and rng.random() < 0.05:  # now and then an event less severe than its error
            severity = SEVERITIES[SEVERITIES.index(severity) + 1]
        payload_rest = f"{event_id}{middle}{at:.3f}{user_part}{user}{tail}"
        size = len(head) + len(payload_rest) - len(tags) + 2  # about the payload's length; only a size figure
        yield (
            f"{number}\t{ids}{event_id}\t{stamp}\t{stamp}{level}{severity}{meta}{user}{tags}"
            f"{browsers[number % 3]}{head}{payload_rest}\tsentry\t{size}\n"
        )


def _copy(conn: psycopg.Connection[Any], table: str, columns: str, rows: Iterator[tuple[Any, ...]]) -> int:
    count = 0
    with conn.cursor() as cursor, cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)
            count += 1
    return count


def _copy_lines(conn: psycopg.Connection[Any], table: str, columns: str, lines: Iterator[str]) -> int:
    count = 0
    chunk: list[str] = []
    with conn.cursor() as cursor, cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
        for line in lines:
            chunk.append(line)
            if len(chunk) == 2000:
                copy.write("".join(chunk))
                count += len(chunk)
                chunk.clear()
        copy.write("".join(chunk))
    return count + len(chunk)


def _people(conn: psycopg.Connection[Any], shape: Shape, now: float) -> None:
    """Services, developers in teams of ten, and per team an on-call schedule: a weekly primary rotation and a
    secondary one, with an override covering today for one of them."""
    created = _iso(now - shape.days * 86400)
    teams = max(1, shape.developers // 10)
    with conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO developers (id, name, email, timezone, is_active, created_at) "
            "VALUES (%s, %s, %s, %s, true, %s)",
            [
                (d, f"Developer {d:02d}", f"dev{d:02d}@bench.example", ("UTC", "Europe/Paris")[d % 2], created)
                for d in range(1, shape.developers + 1)
            ],
        )
        cur.executemany(
            "INSERT INTO teams (id, name, lead_developer_id, created_at) VALUES (%s, %s, %s, %s)",
            [(t, f"team-{t}", 1 + (t - 1) * 10, created) for t in range(1, teams + 1)],
        )
        cur.executemany(
            "INSERT INTO team_members (team_id, developer_id) VALUES (%s, %s)",
            [(1 + (d - 1) // 10 if (d - 1) // 10 < teams else teams, d) for d in range(1, shape.developers + 1)],
        )
        cur.executemany(
            "INSERT INTO projects (id, name, platform, team_id, scrub_ip_addresses, scrub_emails, created_at) "
            "VALUES (%s, %s, 'python', %s, false, false, %s)",
            [(p, f"svc-{p}", 1 + (p - 1) % teams, created) for p in range(1, shape.services + 1)],
        )
        start = (dt.datetime.fromtimestamp(now, dt.UTC) - dt.timedelta(days=shape.days)).date()
        for t in range(1, teams + 1):
            members = [d for d in range(1, shape.developers + 1) if min(1 + (d - 1) // 10, teams) == t]
            cur.execute(
                "INSERT INTO oncall_schedules (id, name, team_id, created_at) VALUES (%s, %s, %s, %s)",
                (t, f"team-{t} on-call", t, created),
            )
            for level in (1, 2):
                rotation = 2 * t + level - 2
                cur.execute(
                    "INSERT INTO oncall_rotations (id, schedule_id, level, start_date, handoff_time, timezone, "
                    "shift_hours) VALUES (%s, %s, %s, %s, '09:00', 'Europe/Paris', 168)",
                    (rotation, t, level, start),
                )
                order = members if level == 1 else members[::-1]
                cur.executemany(
                    "INSERT INTO rotation_participants (rotation_id, position, developer_id) VALUES (%s, %s, %s)",
                    [(rotation, position, d) for position, d in enumerate(order)],
                )
            cur.execute(
                "INSERT INTO oncall_overrides (schedule_id, level, developer_id, starts_at, ends_at, reason, "
                "created_at) VALUES (%s, 1, %s, %s, %s, 'swap', %s)",
                (t, members[-1], _iso(now - 3600 * 6), _iso(now + 3600 * 18), created),
            )


def _history(specs: list[ErrorSpec], now: float) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """(notifications, audit rows): critical and high errors paged their assignee or team; each assignment,
    acknowledgement and resolution left an audit row."""
    notifications, audit = [], []
    for spec in specs:
        x = spec.extra
        if spec.severity in ("critical", "high"):
            developer = x.get("assignee_id") or 1 + spec.id % 50
            for attempt, channel in enumerate(CHANNELS[: 1 + spec.id % 3]):
                status = "sent" if (spec.id + attempt) % 17 else "dead"
                created = spec.first_seen + 5 + attempt
                notifications.append(
                    (
                        f"bench:{spec.id}:new:{channel}", spec.id, spec.project_id, developer, channel,
                        f"dev{developer:02d}@bench.example", "new", status, 1 if status == "sent" else 5, 5,
                        None if status == "sent" else "HTTP 503 from the gateway", _iso(created),
                        _iso(created + 1) if status == "sent" else None,
                    )
                )  # fmt: skip
        target = str(spec.id)
        for action, key, after in (
            ("error.assign", "assigned_at", {"assignee_id": x.get("assignee_id")}),
            ("error.acknowledge", "acknowledged_at", {"status": "acknowledged"}),
            ("error.resolve", "resolved_at", {"status": "resolved"}),
        ):
            if key in x:
                audit.append((_iso(x[key]), "bench-responder", action, "error", target, json.dumps(after)))
    return notifications, audit


def _fill_rollups(conn: psycopg.Connection[Any]) -> None:
    """The hourly and daily counts of the events just copied, as the ingest writer would have kept them."""
    hour = "date_trunc('hour', received_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'"
    day = "date_trunc('day', hour AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'"
    conn.execute(
        f"INSERT INTO issue_hourly_counts (issue_id, hour, events) "
        f"SELECT issue_id, {hour}, count(*) FROM events GROUP BY 1, 2"
    )
    conn.execute(
        f"INSERT INTO project_hourly_counts (hour, project_id, severity, events) "
        f"SELECT {hour}, project_id, severity, count(*) FROM events GROUP BY 1, 2, 3"
    )
    conn.execute(
        f"INSERT INTO issue_daily_counts (issue_id, day, events) "
        f"SELECT issue_id, {day}, sum(events) FROM issue_hourly_counts GROUP BY 1, 2"
    )
    conn.execute(
        f"INSERT INTO project_daily_counts (day, project_id, severity, events) "
        f"SELECT {day}, project_id, severity, sum(events) FROM project_hourly_counts GROUP BY 1, 2, 3"
    )


def seed(conninfo: str, shape: Shape, *, log: Callable[[str], None] = print) -> dict[str, Any]:
    """Fill an empty, migrated database. Returns what was made and how long it took."""
    now = time.time()
    timings: dict[str, float] = {}
    mark = time.monotonic()

    def lap(name: str) -> None:
        nonlocal mark
        timings[name] = round(time.monotonic() - mark, 1)
        log(f"  {name}: {timings[name]} s")
        mark = time.monotonic()

    specs = plan_errors(shape, now)
    lap("plan")
    with psycopg.connect(conninfo, autocommit=False) as conn:
        conn.execute("SET synchronous_commit = off")
        _people(conn, shape, now)
        lap("services, developers, on-call")
        _copy(conn, "issues", ISSUE_COLUMNS, _issue_rows(specs))
        lap(f"{shape.errors} errors")
        events = _copy_lines(conn, "events", EVENT_COLUMNS, _event_lines(specs, shape.seed))
        lap(f"{events} events")
        notifications, audit = _history(specs, now)
        _copy(
            conn,
            "notifications",
            "idempotency_key, issue_id, project_id, developer_id, channel, target, trigger, status, attempts, "
            "max_attempts, last_error, created_at, sent_at",
            iter(notifications),
        )
        _copy(conn, "audit_log", "at, actor, action, target_type, target_id, after", iter(audit))
        lap(f"{len(notifications)} notifications, {len(audit)} audit rows")
        if conn.execute("SELECT to_regclass('issue_hourly_counts')").fetchone() != (None,):
            _fill_rollups(conn)
            lap("hourly and daily counts")
        for table in ("developers", "teams", "projects", "oncall_schedules", "oncall_rotations", "issues", "events"):
            conn.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
        conn.commit()
    busiest = max(specs, key=lambda s: s.events)
    return {
        "seeded_at": _iso(now),
        "events": events,
        "errors": len(specs),
        "notifications": len(notifications),
        "audit_rows": len(audit),
        "busiest_error": {"id": busiest.id, "events": busiest.events},
        "seconds": timings,
    }
