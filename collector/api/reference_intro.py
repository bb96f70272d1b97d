"""The introduction of docs/api.md: auth, roles, errors, pagination and the search syntax (its keys from query.py)."""

from __future__ import annotations

from string import Template

from collector.api.framework import MAX_BODY_BYTES
from collector.api.pagination import DEFAULT_LIMIT, MAX_LIMIT
from db.enums import Severity
from db.issue_query import HAS_FIELDS, KEYS, LEVELS, MAX_QUERY_LENGTH, STATE_ALIASES
from db.issue_query_terms import State

# What each canonical search key matches, and an example; the keys and their aliases come from query.KEYS.
_KEY_MEANINGS = {
    "is": ("the state (below)", "`is:unresolved,regressed`"),
    "severity": ("a severity, or a Sentry level", "`level:critical`, `level:fatal,error`"),
    "service": ("the project (service) name", "`service:payments`"),
    "environment": ("the environment of the latest event", "`env:production`"),
    "release": ("the first or latest release it was seen in", "`release:1.4.2`"),
    "first_release": ("the release it first appeared in", "`first_release:1.4.2`"),
    "assigned": ("`me` (the token's developer), `none`, a developer id or e-mail", "`assigned:me`, `!assigned`"),
    "has": (f"the field is set: {', '.join(HAS_FIELDS)}", "`has:release`, `!has:assignee`"),
    "first_seen": ("when it first happened", "`first_seen:-24h`, `age:+7d`"),
    "last_seen": ("when it last happened", "`last_seen:>=2026-03-01T10:00:00Z`, `last_seen:2026-03-01`"),
    "times_seen": ("its event count", "`times_seen:>100`"),
    "users": ("users affected", "`users:>=10`"),
}

_INTRO = Template("""\
Every endpoint lives under `/api/error-logging/`, takes and returns JSON, and is described by the OpenAPI 3.1
document served at `GET /api/error-logging/openapi.json` (any valid token). This page is generated from that
document by `python -m collector.api.reference > docs/api.md`; a test fails when the two differ, so edit the
code, not this page. Times are ISO 8601 with an offset (`2026-03-01T10:00:00Z`); a time without one is refused,
and answers are in UTC.

## Authentication and roles

Send a token from `errlog token create NAME --role viewer|responder|admin [--developer EMAIL]` in every request:

```http
Authorization: Bearer elg_...
```

Tokens are stored hashed and compared in constant time; the last use of each is recorded, and `errlog token
revoke` (or `DELETE tokens/{token_id}/`) ends one. A token made with `--developer` acts as that developer: it is
"me" in `assigned:me` and `assignee=me`.

| Role | May |
| --- | --- |
| `viewer` | read everything but tokens |
| `responder` | also assign, acknowledge, resolve, escalate, ignore, reopen and comment on errors; retry notifications |
| `admin` | also manage developers, on-call schedules and overrides, escalation chains, projects and tokens |

No token, or an unknown or revoked one, is `401` (with `WWW-Authenticate: Bearer`); a role too low is `403`.
Every change writes an audit entry (who, what, target, before and after, when, client address): see `GET audit/`.
The webhook and health endpoints at the end of this page use a project's webhook token, or none.

## Error responses

A refused request answers JSON naming the problem, and the field at fault when there is one:

```json
{"detail": "query.limit: Input should be a valid integer", "field": "query.limit",
 "errors": [{"field": "query.limit", "message": "Input should be a valid integer"}]}
```

| Status | When |
| --- | --- |
| `400` | malformed: not JSON, an unknown query parameter, a bad cursor, a search that does not parse |
| `401`, `403` | no usable token; a role too low |
| `404` | no object with that id |
| `409` | the change conflicts with the object's state (e.g. acknowledging a resolved error), a name is taken, or \
a change made at the same time got there first (nothing was changed: read again and retry) |
| `413` | a body over ${max_body} bytes |
| `422` | invalid input; `errors` lists every problem, each with its `field` (`query.x`, `body.x.0.y`, ...) |
| `503` | the database is unavailable (down, restarting); `Retry-After` gives the seconds to wait |

## Lists and pagination

Lists that can grow answer one page, `{"items": [...], "next_cursor": "..."}`, newest or most relevant first.
`limit` sets the page size (default ${default_limit}, at most ${max_limit}); pass `next_cursor` back as `cursor` for the
next page, with the same filters; it is `null` on the last page. Cursors mark a position in the order (keyset
pagination), so rows added meanwhile neither repeat nor shift a page. List parameters take several values
repeated (`status=unresolved&status=acknowledged`) or comma-separated (`status=unresolved,acknowledged`).
For a cheap live refresh, `GET errors/` answers `server_time`: pass it back as `changed_since` to get only the
errors updated since.

## Search syntax

`GET errors/`, `GET errors/counts/` and `POST errors/bulk/` take a search `q` in the syntax Sentry users know:

```text
is:unresolved level:critical service:payments assigned:me !assigned release:1.4.2 env:prod "timeout"
```

Terms are separated by spaces and must all hold; the comma-separated values of one term are alternatives
(`service:payments,checkout`); `!` before a term excludes what it matches (`!env:staging`). A word or a
`"quoted phrase"` (backslash escapes a quote) matches the title, culprit or exception type, case-insensitively;
quote text that contains a colon. Keys are case-insensitive; a search is at most ${max_query} characters.
A search that does not parse is `400`, naming the token and its position.
""")

_TIMES = """\
Times: `-24h` means within the last 24 hours, `+7d` longer ago than 7 days (units `m`, `h`, `d`, `w`); `>`, `>=`,
`<`, `<=` compare with a relative or absolute time (`>-2h`, `<=2026-03-01T10:00:00Z`); a date alone means that UTC
day. Counts take `100`, `>100`, `>=10` or `<5`.
"""


def _key_rows() -> list[str]:
    aliases: dict[str, list[str]] = {}
    for key, canonical in KEYS.items():
        aliases.setdefault(canonical, []).append(f"`{key}`")
    return [f"| {', '.join(names)} | {_KEY_MEANINGS[canonical][0]} | {_KEY_MEANINGS[canonical][1]} |"
            for canonical, names in aliases.items()]  # fmt: skip


def introduction() -> str:
    """The page's opening sections, with the limits and search keys read from the code they document."""
    text = _INTRO.substitute(
        default_limit=DEFAULT_LIMIT, max_limit=MAX_LIMIT, max_query=MAX_QUERY_LENGTH, max_body=MAX_BODY_BYTES
    )
    states = ", ".join(f"`{state}`" for state in State)
    aliases = ", ".join(f"`{alias}` ({state})" for alias, state in STATE_ALIASES.items())
    levels = f"severities {', '.join(f'`{s}`' for s in Severity)} or levels {', '.join(f'`{v}`' for v in LEVELS)}"
    lines = [
        text,
        "| Keys | Matches | Example |",
        "| --- | --- | --- |",
        *_key_rows(),
        "",
        f"States for `is:`: {states}; also {aliases}. `level:` takes {levels}.",
        "",
        _TIMES,
    ]
    return "\n".join(lines)
