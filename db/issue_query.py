"""The error search syntax Sentry users know (`is:unresolved level:critical assigned:me "timeout"`), parsed into terms.

Pure: no database, no clock. Terms are ANDed; the comma-separated values of one term are ORed; `!` negates a term.
Relative times (`-24h`) stay relative here and are resolved against "now" when the filter is built. In db/ so that
the API's error listings and the tasks' maintenance windows read a search alike (db/issue_conditions.py makes the
SQL)."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import TypedDict, cast

from db.enums import Severity
from db.issue_query_terms import (
    AssigneeTerm,
    Comparison,
    HasTerm,
    NumberField,
    NumberTerm,
    SeverityTerm,
    State,
    StateTerm,
    Term,
    TextTerm,
    TimeField,
    TimeTerm,
    ValueField,
    ValueTerm,
)

_OPERATORS: dict[str, Comparison] = {">": ">", ">=": ">=", "<": "<", "<=": "<="}
MAX_QUERY_LENGTH = 2000
MAX_NUMBER = 2**53  # beyond any count we store, and small enough for every backend's integer columns
MAX_DEVELOPER_ID = 2**31 - 1
MAX_AGO = dt.timedelta(days=100 * 365)


class QueryError(ValueError):
    """A search the parser cannot read: says which token (its text and position) and why."""

    def __init__(self, reason: str, *, token: str, position: int) -> None:
        super().__init__(f"invalid search at position {position} ({token!r}): {reason}")
        self.reason = reason
        self.token = token
        self.position = position


STATE_ALIASES = {"archived": State.IGNORED, "muted": State.IGNORED, "open": State.UNRESOLVED}
# Sentry's event levels, accepted by `level:` next to errlog's severities.
LEVELS = ("fatal", "error", "warning", "info", "debug")
HAS_FIELDS = ("assignee", "release", "environment")
KEYS = {
    "is": "is",
    "level": "severity",
    "severity": "severity",
    "service": "service",
    "project": "service",
    "env": "environment",
    "environment": "environment",
    "release": "release",
    "first_release": "first_release",
    "firstrelease": "first_release",
    "assigned": "assigned",
    "assignee": "assigned",
    "assigned_to": "assigned",
    "has": "has",
    "first_seen": "first_seen",
    "firstseen": "first_seen",
    "age": "first_seen",
    "last_seen": "last_seen",
    "lastseen": "last_seen",
    "times_seen": "times_seen",
    "timesseen": "times_seen",
    "users": "users",
    "user_count": "users",
}
_UNITS = {
    "m": dt.timedelta(minutes=1),
    "h": dt.timedelta(hours=1),
    "d": dt.timedelta(days=1),
    "w": dt.timedelta(weeks=1),
}
_RELATIVE = re.compile(r"([+-])([0-9]{1,6})([mhdw])")
_COMPARED = re.compile(r"(>=|<=|>|<)?(.*)", re.DOTALL)
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


class _Common(TypedDict):
    token: str
    position: int
    negated: bool


@dataclass(frozen=True)
class _Raw:
    """One token as read: `!key:v1,v2`, `!word` or `!"a phrase"`."""

    text: str
    position: int
    negated: bool
    key: str | None
    values: tuple[str, ...]


def parse(query: str) -> tuple[Term, ...]:
    """The terms of a search; raises QueryError naming the first bad token."""
    if len(query) > MAX_QUERY_LENGTH:
        raise QueryError(f"a search is at most {MAX_QUERY_LENGTH} characters", token=query[:20] + "...", position=0)
    return tuple(_term(raw) for raw in _tokens(query))


def _tokens(query: str) -> list[_Raw]:
    tokens: list[_Raw] = []
    i, n = 0, len(query)
    while i < n:
        if query[i].isspace():
            i += 1
            continue
        start = i
        negated = query[i] == "!"
        if negated:
            i += 1
        if i >= n or query[i].isspace():
            raise QueryError("'!' must be followed by a term to exclude", token="!", position=start)
        if query[i] == '"':
            phrase, i = _quoted(query, i)
            _expect_end(query, i, start)
            tokens.append(_Raw(query[start:i], start, negated, None, (phrase,)))
            continue
        word_end = i
        while word_end < n and not query[word_end].isspace() and query[word_end] not in ':"':
            word_end += 1
        if word_end < n and query[word_end] == ":":
            key = query[i:word_end]
            values, i = _values(query, word_end + 1, start)
            tokens.append(_Raw(query[start:i], start, negated, key, values))
        else:
            while word_end < n and not query[word_end].isspace():
                word_end += 1
            tokens.append(_Raw(query[start:word_end], start, negated, None, (query[i:word_end],)))
            i = word_end
    return tokens


def _quoted(query: str, i: int) -> tuple[str, int]:
    """The text of the quoted string opening at `i` (backslash escapes a quote or a backslash), and the index after
    its closing quote."""
    out: list[str] = []
    j = i + 1
    while j < len(query):
        char = query[j]
        if char == "\\" and j + 1 < len(query) and query[j + 1] in '"\\':
            out.append(query[j + 1])
            j += 2
        elif char == '"':
            return "".join(out), j + 1
        else:
            out.append(char)
            j += 1
    raise QueryError("unterminated quote", token=query[i:], position=i)


def _values(query: str, i: int, start: int) -> tuple[tuple[str, ...], int]:
    """The comma-separated values after `key:`, each bare or quoted."""
    values: list[str] = []
    n = len(query)
    while True:
        if i < n and query[i] == '"':
            value, i = _quoted(query, i)
        else:
            end = i
            while end < n and not query[end].isspace() and query[end] not in ',"':
                end += 1
            value, i = query[i:end], end
            if i < n and query[i] == '"':
                raise QueryError("a quote may only open a value", token=_token_at(query, start), position=start)
        if not value:
            raise QueryError("empty value", token=_token_at(query, start), position=start)
        values.append(value)
        if i < n and query[i] == ",":
            i += 1
            continue
        _expect_end(query, i, start)
        return tuple(values), i


def _expect_end(query: str, i: int, start: int) -> None:
    if i < len(query) and not query[i].isspace():
        raise QueryError("expected a space after the closing quote", token=_token_at(query, start), position=start)


def _token_at(query: str, start: int) -> str:
    match = re.match(r"\S+", query[start:])
    return match.group(0) if match else query[start:]


def _term(raw: _Raw) -> Term:
    base = _Common(token=raw.text, position=raw.position, negated=raw.negated)
    if "\x00" in raw.text:
        raise QueryError("NUL characters are not allowed", token=raw.text.replace("\x00", "\\0"), position=raw.position)
    if raw.key is None:
        text = raw.values[0]
        if raw.negated and text.lower() in ("assigned", "assignee"):
            return HasTerm(fields=("assignee",), **base)  # `!assigned`: nobody holds it
        if not text.strip():
            raise QueryError("empty phrase", token=raw.text, position=raw.position)
        return TextTerm(text=text, **base)
    key = KEYS.get(raw.key.lower())
    if key is None:
        known = ", ".join(sorted(set(KEYS)))
        raise QueryError(
            f"unknown key {raw.key!r} (known: {known}; quote text that contains a colon)",
            token=raw.text,
            position=raw.position,
        )
    try:
        return _keyed(key, raw.values, base)
    except ValueError as exc:
        raise QueryError(f"{raw.key}: {exc}", token=raw.text, position=raw.position) from None


def _keyed(key: str, values: tuple[str, ...], base: _Common) -> Term:
    if key == "is":
        return StateTerm(states=tuple(_state(v) for v in values), **base)
    if key == "severity":
        severities = tuple(Severity(v.lower()) for v in values if v.lower() in Severity._value2member_map_)
        levels = tuple(v.lower() for v in values if v.lower() in LEVELS)
        unknown = [v for v in values if v.lower() not in Severity._value2member_map_ and v.lower() not in LEVELS]
        if unknown:
            raise ValueError(
                f"unknown level {unknown[0]!r}: use a severity ({', '.join(Severity)}) or a level ({', '.join(LEVELS)})"
            )
        return SeverityTerm(severities=severities, levels=levels, **base)
    if key in ("service", "environment", "release", "first_release"):
        return ValueTerm(field=cast(ValueField, key), values=values, **base)
    if key == "assigned":
        return AssigneeTerm(values=tuple(parse_assignee(v) for v in values), **base)
    if key == "has":
        unknown = [v for v in values if v.lower() not in HAS_FIELDS]
        if unknown:
            raise ValueError(f"cannot test for {unknown[0]!r}: use one of {', '.join(HAS_FIELDS)}")
        return HasTerm(fields=tuple(v.lower() for v in values), **base)
    value = _single(values)
    if key in ("first_seen", "last_seen"):
        op, at, ago = parse_time(value)
        return TimeTerm(field=cast(TimeField, key), op=op, at=at, ago=ago, **base)
    op, number = _number(value)
    return NumberTerm(field=cast(NumberField, key), op=op, value=number, **base)


def _single(values: tuple[str, ...]) -> str:
    if len(values) != 1:
        raise ValueError("takes one value, not a list")
    return values[0]


def _state(value: str) -> State:
    lowered = value.lower()
    if lowered in STATE_ALIASES:
        return STATE_ALIASES[lowered]
    try:
        return State(lowered)
    except ValueError:
        raise ValueError(f"unknown state {value!r}: use one of {', '.join(State)}") from None


def parse_assignee(value: str) -> int | str:
    """me, none, a developer id (int) or an e-mail address (lowercased)."""
    lowered = value.lower()
    if lowered in ("me", "none"):
        return lowered
    if value.isascii() and value.isdigit():
        number = int(value)
        if not 1 <= number <= MAX_DEVELOPER_ID:
            raise ValueError(f"no developer can have id {value}")
        return number
    if "@" in value and len(value) <= 254:
        return lowered
    raise ValueError(f"{value!r} is not me, none, a developer id or an e-mail address")


def parse_time(value: str) -> tuple[Comparison, dt.datetime | None, dt.timedelta | None]:
    """`-24h` (within the last 24 hours), `+7d` (longer ago than 7 days), `>2026-11-01`, `<=2026-11-01T10:00Z`,
    `>-2h`, or a bare date (that UTC day). Units: m, h, d, w."""
    op, rest = _comparison(value)
    relative = _RELATIVE.fullmatch(rest)
    if relative:
        sign, amount, unit = relative.groups()
        ago = int(amount) * _UNITS[unit]
        if ago > MAX_AGO:
            raise ValueError(f"{amount}{unit} reaches back further than errlog keeps anything")
        if op is None:
            return (">=" if sign == "-" else "<"), None, ago
        if sign == "+":
            raise ValueError(f"write {op}-{amount}{unit} (a time {amount}{unit} ago) or +{amount}{unit} alone")
        return op, None, ago
    at = _absolute(rest)
    if op is None:
        if not _DATE.fullmatch(rest):
            raise ValueError(f"put >, >=, < or <= before a time such as {rest!r}, or give a date alone")
        return "=", at, None
    return op, at, None


def _absolute(text: str) -> dt.datetime:
    try:
        if _DATE.fullmatch(text):
            at = dt.datetime.combine(dt.date.fromisoformat(text), dt.time(), tzinfo=dt.UTC)
        else:
            at = dt.datetime.fromisoformat(text)
            at = at.replace(tzinfo=dt.UTC) if at.tzinfo is None else at.astimezone(dt.UTC)
        # A day's end must stay representable, and far-off years are typos.
        if not 1970 <= at.year <= 9998:
            raise ValueError("out of range")
        return at
    except (ValueError, OverflowError):
        raise ValueError(
            f"{text!r} is not a time: use -24h, +7d (units m, h, d, w), 2026-11-01 or 2026-11-01T10:00:00Z"
        ) from None


def _comparison(value: str) -> tuple[Comparison | None, str]:
    """The leading >, >=, < or <= of a value (None if there is none) and the rest."""
    match = _COMPARED.fullmatch(value)
    assert match is not None  # the pattern matches any string
    return _OPERATORS.get(match.group(1) or ""), match.group(2)


def _number(value: str) -> tuple[Comparison, int]:
    op, rest = _comparison(value)
    if not rest.isdigit() or not rest.isascii():
        raise ValueError(f"{value!r} is not a count: use e.g. 100, >100, >=10 or <5")
    number = int(rest)
    if number > MAX_NUMBER:
        raise ValueError(f"{rest} is too large")
    return (op or "="), number
