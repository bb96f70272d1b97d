"""PII scrubbing: removes passwords, tokens, cookies, card numbers and the like from an event before it is stored."""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote_plus, unquote_plus

import orjson

from collector.scrub_memory import MISSES_BEFORE_GIVING_UP, CleanMemory

FILTERED = "[Filtered]"
# Containers nested deeper than this are replaced by FILTERED as a whole: it bounds the recursion on
# hostile payloads without ever passing through something that was not looked at.
MAX_DEPTH = 32
# key=value pairs inside the value of a pair (url=/a?next=/b?token=x) are looked for this many levels deep.
MAX_PAIR_DEPTH = 8

# ---- keys ---------------------------------------------------------------------------------------------
# A key is split into lowercase words ("X-Auth-Token" -> x, auth, token; "apiKey" -> api, key) and also
# joined into one run of letters and digits ("xauthtoken"), so that spelling variants match alike.
_WORDS = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+")

# Substrings of the joined key that make any value secret.
_HARD_SUBSTRINGS = (
    "password", "passwd", "passphrase", "passcode", "secret", "apikey", "privatekey", "credential",
    "authorization", "cookie", "csrf", "xsrf", "sessionid", "sessid", "creditcard", "cardnum", "ccnum",
    "accesskey", "signingkey", "encryptionkey", "twofactor", "socialsecurity",
)  # fmt: skip
# Whole words that make any value secret ("mysql_pwd", "connect.sid"); as substrings they would hit
# "classname" (ssn), "bypass" or "spinner".
_HARD_WORDS = frozenset(
    {"pwd", "pass", "pin", "otp", "ssn", "cvv", "cvc", "iban", "jwt", "sid", "cred", "creds", "bearer"}
)
# Words that usually name a secret but also name counters: "max_tokens": 100 is not one, so numbers
# under these keys are kept (a card number still falls to the value rules).
_SOFT_WORDS = frozenset({"token", "tokens", "auth", "session", "sessions", "card"})
_SOFT_SUFFIXES = ("token", "auth", "session")  # accesstoken, oauth, mysession
# A last word that says the value describes the secret rather than being it: token_count, card_type.
_QUALIFIERS = frozenset({
    "count", "counts", "type", "kind", "length", "len", "size", "limit", "ttl", "expires", "expiry",
    "expiration", "enabled", "required", "valid", "version",
})  # fmt: skip
# Cookie names that are sessions although nothing in the name says so (Relay's list of the same).
_SESSION_COOKIES = frozenset({"sudo", "su", "symfony", "sentrysid"})
_IP_SUFFIXES = ("ipaddress", "ipaddr", "remoteaddr", "forwardedfor")

_NONE, _SAFE, _HARD, _SOFT, _IP, _EMAIL = range(6)


def _normalise(key: str) -> str:
    return "".join(_WORDS.findall(key)).lower()


# ---- values -------------------------------------------------------------------------------------------
_PEM = re.compile(
    r"(-----BEGIN [A-Z0-9 ]{0,40}PRIVATE KEY(?: BLOCK)?-----)(?s:.*?)"
    r"(-----END [A-Z0-9 ]{0,40}PRIVATE KEY(?: BLOCK)?-----|\Z)"
)
# A segment's scan stops at the next "-eyJ", where the next try starts: "-eyJ-eyJ-eyJ..." with no "." is then
# linear in its length, not quadratic (a header segment holding "-eyJ" keeps its part before that, not a secret).
_JWT = re.compile(r"\beyJ(?:\w|-(?!eyJ)){4,}+\.eyJ[\w-]{4,}+\.[\w-]*+")
# Six characters at least: "bearer of" and "Bearer realm" are prose and headers, not tokens.
_BEARER = re.compile(r"\b((?i:bearer)\s+)[\w.~+/-]{6,}=*")
_URL_AUTH = re.compile(r"\b([A-Za-z][A-Za-z0-9+.-]{0,30}://[^\s/:@?#]*:)[^\s/@?#]+@")
_AWS_KEY_ID = re.compile(r"\b(?:AKIA|ASIA)[A-Z0-9]{16}\b")
# Only looked for where an AWS key id was seen: 40 base64 characters are a secret access key there,
# and a git commit hash anywhere else.
_AWS_SECRET = re.compile(r"(?<![A-Za-z0-9/+=])[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=])")
# key=value or key:value inside free text (URLs, reprs, log lines); the key then goes through the
# same rules as a dict key. "key: value" with a space is prose ("Password: too short"), not a pair.
# The key's run is possessive (no backtracking into it): what must follow it, a quote, a space, "=" or ":", is never
# a key character, so a shorter key cannot match where the whole run did not; trying each was half the time.
_KEY_VALUE = re.compile(
    r"""(?<![\w.-])(?P<q>['"]?)(?P<key>[A-Za-z_][\w.-]{0,63}+)(?P=q)"""
    r"""(?:\s*=\s*|:(?=[^\s/])|\s*:\s*(?=['"]))"""
    r"""(?P<val>"[^"\n]*"|'[^'\n]*'|(?i:(?:bearer|basic|token)\s+)?[^\s&,;'"<>()\[\]{}]+)"""
)
# A run of 13 or more digits, in groups split by single spaces or dashes. Patterns here start with a
# character class rather than a lookbehind where they can: the regex engine then skips ahead to
# candidates in C instead of trying every position, several times faster.
_DIGIT_RUN = re.compile(r"\d(?:[ -]?\d){12,}")
# Every match of _DIGIT_RUN matches this too; it finds none in a timestamp or an id twice as fast, having no group
# to repeat, so the run is only looked for where it can be.
_DIGIT_RUN_HINT = re.compile(r"\d[\d -]{12}")
_GROUP_SEP = re.compile(r"[ -]")
_EMAIL_ADDRESS = re.compile(r"(?<![\w.+/-])[\w.+-]{1,64}@[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63})*\.[A-Za-z]{2,24}\b")
_IPV4 = re.compile(r"\d(?<![\w.]\d)\d{0,2}(?:\.\d{1,3}){3}(?!\w|\.\d)")
_IPV6_CANDIDATE = re.compile(r"(?<![\w:.])(?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f]{0,4}(?:%[\w.]+)?(?![\w:]|\.\d)")
# Cheap tests deciding whether _KEY_VALUE is worth running: a separator that can make a pair, and a
# piece that every built-in sensitive key contains in any spelling (api_key, apiKey, API-KEY: "key").
_COLON_PAIR = re.compile(r":(?=[^\s/])|:\s*['\"]")
_KEY_HINT = re.compile(
    "pass|pwd|secret|key|cred|auth|cookie|csrf|xsrf|sess|sid|card|ccn|cc_n|cc-n|factor|social|pin|otp|ssn"
    "|cvv|cvc|iban|jwt|bearer|token"
)
_WHITESPACE = re.compile(r"\s")
# An ISO 8601 time as SDKs write them (to the microsecond). No built-in rule changes one: no key before its colons,
# at most 12 digits in a run (fraction and offset), no three dots, no IPv6 address (fewer than eight groups, no "::").
_TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(?:[.,]\d{1,6})?(?:Z|[+-]\d\d:?\d\d)?")


def _luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def _is_card(digits: str) -> bool:
    # Issuers' numbers start with 2-6 (Mastercard, Amex/Diners/JCB, Visa, Mastercard/Maestro,
    # Discover/UnionPay); leaving out 1, 7, 8, 9, 0 spares epoch milliseconds and most database ids.
    return 13 <= len(digits) <= 19 and digits[0] in "23456" and _luhn_ok(digits)


def _card_repl(m: re.Match[str]) -> str:
    run = m[0]
    groups = _GROUP_SEP.split(run)
    if len(groups) == 1:
        return FILTERED if _is_card(run) else run
    # The run may hold a card next to other numbers ("4111 1111 1111 1111 2024"): from each group, the longest
    # window of whole groups that is a card is filtered, and what is not a card is kept.
    out: list[str] = []
    seps = _GROUP_SEP.findall(run)
    i = 0
    while i < len(groups):
        end = _card_window_end(groups, i)
        if end:
            out.append(FILTERED)
            i = end
        else:
            out.append(groups[i])
            i += 1
        if i < len(groups):
            out.append(seps[i - 1])
    return "".join(out)


def _card_window_end(groups: list[str], start: int) -> int:
    """The end of the longest card-number window of `groups` from `start`, or 0.

    A window is one group, or several of 3 digits or more each ("4111 1111 ...", "3782 822463 10005"), never
    "1 2 3 4 ..." or a date. A card has at most 19 digits, so only the windows up to that many are tried: a long
    run of numbers (a numpy array's repr, "0 0 0 ...") costs time in proportion to its length, not to its cube.
    """
    ends: list[int] = []
    digits = 0
    for end in range(start, len(groups)):
        size = len(groups[end])
        if end > start and (size < 3 or len(groups[start]) < 3):
            break
        digits += size
        if digits > 19:
            break
        ends.append(end + 1)
    for end in reversed(ends):
        if _is_card("".join(groups[start:end])):
            return end
    return 0


def _ipv4_repl(m: re.Match[str]) -> str:
    return FILTERED if all(int(octet) <= 255 for octet in m[0].split(".")) else m[0]


def _ipv6_repl(m: re.Match[str]) -> str:
    try:
        ipaddress.IPv6Address(m[0].split("%", 1)[0])
    except ValueError:
        return m[0]  # a time of day, a C++ scope, ...
    return FILTERED


@dataclass(frozen=True)
class ScrubRules:
    """What to scrub besides the built-in rules, per project.

    `extra_keys` are matched like the built-in key list: case-insensitive substrings of the key with
    separators ignored ("api-key" matches "X_API_KEY"). `extra_patterns` are regular expressions whose
    matches in any string value are replaced. `safe_fields` are keys (compared the same loose way, but
    whole) whose values are kept as sent. Invalid input raises ValueError naming it.
    """

    extra_keys: tuple[str, ...] = ()
    extra_patterns: tuple[str, ...] = ()
    scrub_ip_addresses: bool = False
    scrub_emails: bool = False
    safe_fields: tuple[str, ...] = ()
    _patterns: tuple[re.Pattern[str], ...] = field(init=False, repr=False, compare=False)
    _extra_norm: tuple[str, ...] = field(init=False, repr=False, compare=False)
    _safe_norm: frozenset[str] = field(init=False, repr=False, compare=False)
    _verdicts: dict[str, int] = field(init=False, repr=False, compare=False)
    _ordinary: set[str] = field(init=False, repr=False, compare=False)  # the keys of _verdicts judged _NONE
    _memory: CleanMemory = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        for name in ("extra_keys", "extra_patterns", "safe_fields"):
            object.__setattr__(self, name, _string_tuple(name, getattr(self, name)))
        object.__setattr__(self, "_extra_norm", tuple(_key_fragment("extra key", k) for k in self.extra_keys))
        object.__setattr__(self, "_safe_norm", frozenset(_key_fragment("safe field", k) for k in self.safe_fields))
        object.__setattr__(self, "_patterns", tuple(_compile_user_pattern(p) for p in self.extra_patterns))
        object.__setattr__(self, "_verdicts", {})
        object.__setattr__(self, "_ordinary", set())
        object.__setattr__(self, "_memory", CleanMemory())

    @classmethod
    def from_settings(
        cls,
        extra_keys: Iterable[str] | None = None,
        extra_patterns: Iterable[str] | None = None,
        *,
        scrub_ip_addresses: bool = False,
        scrub_emails: bool = False,
        safe_fields: Iterable[str] | None = None,
    ) -> ScrubRules:
        """Rules from a project's settings; None stands for an empty list."""
        return cls(
            extra_keys=_string_tuple("extra_keys", extra_keys or ()),
            extra_patterns=_string_tuple("extra_patterns", extra_patterns or ()),
            scrub_ip_addresses=bool(scrub_ip_addresses),
            scrub_emails=bool(scrub_emails),
            safe_fields=_string_tuple("safe_fields", safe_fields or ()),
        )

    def _verdict(self, key: str) -> int:
        found = self._verdicts.get(key)
        if found is None:
            found = self._classify(key)
            if len(self._verdicts) >= 4096:  # variable names are unbounded; keep the cache small
                self._verdicts.clear()
                self._ordinary.clear()
            self._verdicts[key] = found
            if found == _NONE:
                self._ordinary.add(key)
        return found

    def _classify(self, key: str) -> int:
        words = [w.lower() for w in _WORDS.findall(key)]
        joined = "".join(words)
        if joined in self._safe_norm:
            return _SAFE
        if any(fragment in joined for fragment in self._extra_norm):
            return _HARD
        if len(words) > 1 and words[-1] in _QUALIFIERS:
            return _NONE
        unsecretary = joined.replace("secretar", "")
        if any(fragment in unsecretary for fragment in _HARD_SUBSTRINGS) or not _HARD_WORDS.isdisjoint(words):
            return _HARD
        if not _SOFT_WORDS.isdisjoint(words) or any(w.endswith(_SOFT_SUFFIXES) for w in words):
            return _SOFT
        if self.scrub_ip_addresses and ("ip" in words or joined.endswith(_IP_SUFFIXES) or joined == "forwarded"):
            return _IP
        if self.scrub_emails and "email" in joined:
            return _EMAIL
        return _NONE


def _string_tuple(name: str, values: Any) -> tuple[str, ...]:
    if values is None:
        return ()
    if isinstance(values, str | bytes):
        raise ValueError(f"{name} must be a list of strings, not the single string {values!r}")
    items = tuple(values)
    for item in items:
        if not isinstance(item, str):
            raise ValueError(f"{name} must hold strings only, got {item!r}")
    return items


def _key_fragment(what: str, key: str) -> str:
    fragment = _normalise(key)
    if not fragment:
        raise ValueError(f"{what} {key!r} has no letters or digits to match keys with")
    return fragment


def _compile_user_pattern(pattern: str) -> re.Pattern[str]:
    try:
        compiled = re.compile(pattern)
    except re.error as exc:
        raise ValueError(f"invalid scrub pattern {pattern!r}: {exc}") from None
    if compiled.search("") is not None:
        raise ValueError(f"scrub pattern {pattern!r} matches the empty string and would filter every value")
    return compiled


DEFAULT_RULES = ScrubRules()

_SCALARS = (str, int, float, bool, type(None))
_SCALAR_TYPES = frozenset(_SCALARS)
_CARD_MIN = 10**12  # an integer of fewer digits cannot be a card number
# Top-level fields that are identifiers or SDK metadata: copied without looking for secrets.
_EVENT_PLAIN = frozenset({
    "event_id", "timestamp", "start_timestamp", "received", "platform", "level", "severity", "type",
    "release", "dist", "environment", "modules", "debug_meta",
})  # fmt: skip
# Frame fields that name code, not data.
_FRAME_PLAIN = frozenset({
    "filename", "abs_path", "module", "function", "raw_function", "symbol", "package", "platform", "lineno",
    "colno", "in_app", "instruction_addr", "symbol_addr", "image_addr", "addr_mode", "function_id",
})  # fmt: skip


def scrub_event(event: dict[str, Any], rules: ScrubRules = DEFAULT_RULES) -> dict[str, Any]:
    """Return a scrubbed copy of a canonical event.

    The caller's event is never modified: every dict and list of the result is new, and the two share
    only immutable leaves (strings, numbers, datetimes). Secrets become FILTERED: whole values under
    sensitive keys, and only the secret part of a string (``Bearer [Filtered]``, the password of a URL)
    where the value rules find one.
    """
    if not isinstance(event, dict):
        raise TypeError(f"scrub_event takes an event dict, got {type(event).__name__}")
    walk = _Walk(rules)
    out: dict[str, Any] = {}
    for key, value in event.items():
        if key in _EVENT_PLAIN:
            out[key] = _copy(value, 0)
        elif key == "request" and isinstance(value, dict):
            out[key] = walk.request(value, 1)
        elif key == "user" and isinstance(value, dict):
            # The id is what "users affected" counts by: kept even when it is an e-mail address.
            out[key] = {k: _copy(v, 1) if k == "id" else walk.item(str(k), v, 1) for k, v in value.items()}
        else:
            out[key] = walk.member(str(key), value, 0)
    return out


def _copy(value: Any, depth: int) -> Any:
    if isinstance(value, _SCALARS):
        return value
    if depth > MAX_DEPTH:
        return FILTERED
    # Copied in C, then only the nested containers walked: most values (a module list) are scalars, which the
    # type test finds in C too.
    if isinstance(value, dict):
        copied = dict(value)
        if not _SCALAR_TYPES.issuperset(map(type, copied.values())):
            for k, v in copied.items():
                if not isinstance(v, _SCALARS):
                    copied[k] = _copy(v, depth + 1)
        return copied
    if isinstance(value, list | tuple):
        items = list(value)
        if not _SCALAR_TYPES.issuperset(map(type, items)):
            for i, v in enumerate(items):
                if not isinstance(v, _SCALARS):
                    items[i] = _copy(v, depth + 1)
        return items
    return value


def _all_in(clean: set[str], items: list[Any] | tuple[Any, ...]) -> bool:
    """Whether every item is a string in `clean`, tested in C."""
    try:
        return clean.issuperset(items)
    except TypeError:  # an unhashable item: a list or a dict
        return False


def _hide(value: Any) -> Any:
    """A secret's replacement; None, booleans and "" say nothing and help debugging, so they stay."""
    if value is None or value is True or value is False or (type(value) is str and not value):
        return value
    return FILTERED


class _Walk:
    """One event's pass over its values; `aws_seen` makes it stateful, so one per event."""

    def __init__(self, rules: ScrubRules) -> None:
        self.rules = rules
        self.verdict = rules._verdict
        self.memory = rules._memory
        self.aws_seen = False
        # Set when a value was kept as it is where its JSON twin could be scrubbed (a UUID, an enum, a number among
        # source lines): a subtree holding one is not remembered, as its key stands for the twin as well.
        self.exotic = False

    # -- structure --
    def item(self, key: str, value: Any, depth: int) -> Any:
        """`value` found under `key`: the key decides first, the value rules after."""
        verdict = self.verdict(key)
        if verdict == _NONE:
            return self.value(value, depth)
        return self.keyed(verdict, value, depth)

    def keyed(self, verdict: int, value: Any, depth: int) -> Any:
        """`value` under a key whose verdict is not _NONE."""
        if verdict == _SAFE:
            return _copy(value, depth)
        if verdict == _SOFT and isinstance(value, int | float) and not isinstance(value, bool):
            return self.value(value, depth)
        return _hide(value)

    def member(self, name: str, value: Any, depth: int) -> Any:
        """item(), and a dict or list under an ordinary key looked up in memory first."""
        verdict = self.verdict(name)
        if verdict != _NONE:
            return self.keyed(verdict, value, depth)
        kind = type(value)
        if (kind is dict or kind is list) and value and self.memory.worth_looking_up(name):
            return self.recall(name, value, depth + 1)
        return self.value(value, depth)

    def recall(self, name: str, value: dict[Any, Any] | list[Any], depth: int) -> Any:
        """A container at `depth`: copied if remembered as clean, else walked, and remembered if it proves clean."""
        memory = self.memory
        key = memory.tree_key(value, depth)
        if key is not None and key in memory.trees:
            # The copy is parsed from the key, in C. Where JSON cannot tell it from `value`, equality can (a NaN
            # read as null, a tuple as a list, a UUID as a string): that value is walked, as it may scrub otherwise.
            copied = orjson.loads(key[1])
            if copied == value:
                memory.found(name)
                return copied
        memory.missed(name)
        outer_exotic, self.exotic = self.exotic, False
        out = self.mapping(value, depth) if isinstance(value, dict) else self.sequence(value, depth)
        if key is not None and not self.exotic and out == value:
            memory.remember_tree(key)
        self.exotic = outer_exotic or self.exotic
        return out

    def value(self, value: Any, depth: int) -> Any:
        kind = type(value)
        if kind is str:
            return self.text(value)
        if kind is dict:
            return self.mapping(value, depth + 1)
        if kind is list:
            return self.sequence(value, depth + 1)
        if kind is int:
            return FILTERED if _CARD_MIN <= abs(value) < 10**19 and _is_card(str(abs(value))) else value
        if value is None or kind is bool or kind is float:
            return value
        self.exotic = True
        if kind is tuple:
            return self.sequence(value, depth + 1)
        if isinstance(value, str):
            return self.text(str(value))
        if isinstance(value, dict):
            return self.mapping(value, depth + 1)
        if isinstance(value, list | tuple | set | frozenset):
            return self.sequence(list(value), depth + 1)
        return value

    def mapping(self, mapping: dict[Any, Any], depth: int) -> Any:
        if depth > MAX_DEPTH:
            return FILTERED
        outer_aws, self.aws_seen = self.aws_seen, False
        clean = self.memory.texts
        fresh_text = self.fresh_text
        member = self.member
        none = _NONE
        out: dict[Any, Any] = {}
        # The common cases of member() inline, dispatched by type: strings and constants under keys known to be
        # ordinary cost no Python call. Most dicts have only such keys: that is one test, in C, for all of them.
        if self.rules._ordinary.issuperset(mapping):
            misses = self.memory.misses
            for key, value in mapping.items():
                kind = type(value)
                if kind is str:
                    out[key] = value if value in clean else fresh_text(value, False)
                elif value is None or kind is bool or kind is float or (kind is int and -_CARD_MIN < value < _CARD_MIN):
                    out[key] = value  # an int too short for a card number
                elif kind is dict or kind is list:
                    if kind is list and key == "frames":
                        out[key] = self.frames(value, depth)
                    elif value and misses.get(key, 0) < MISSES_BEFORE_GIVING_UP:
                        out[key] = self.recall(key, value, depth + 1)
                    elif kind is dict:
                        out[key] = self.mapping(value, depth + 1)
                    else:
                        out[key] = self.sequence(value, depth + 1)
                else:
                    out[key] = member(key, value, depth)
        else:
            verdicts = self.rules._verdicts
            for key, value in mapping.items():
                name = key if type(key) is str else str(key)
                kind = type(value)
                if kind is str:
                    if verdicts.get(name) == none:
                        out[key] = value if value in clean else fresh_text(value, False)
                        continue
                elif value is None or kind is bool or kind is float or (kind is int and -_CARD_MIN < value < _CARD_MIN):
                    if verdicts.get(name) == none:
                        out[key] = value
                        continue
                elif name == "frames" and kind is list:
                    out[key] = self.frames(value, depth)
                    continue
                out[key] = member(name, value, depth)
        if self.aws_seen:
            for key, value in out.items():
                if type(value) is str:
                    out[key] = _AWS_SECRET.sub(FILTERED, value)
        self.aws_seen = outer_aws
        return out

    def frames(self, frames: list[Any], depth: int) -> list[Any]:
        return [self.frame(f, depth + 1) if type(f) is dict else self.value(f, depth) for f in frames]

    def sequence(self, items: list[Any] | tuple[Any, ...], depth: int) -> Any:
        if depth > MAX_DEPTH:
            return FILTERED
        outer_aws, self.aws_seen = self.aws_seen, False
        clean = self.memory.texts
        if _all_in(clean, items):  # a list of strings all seen before (SDK integrations, argv): looked up in C
            self.aws_seen = outer_aws
            return list(items)
        out: list[Any] = []
        append = out.append
        for value in items:
            kind = type(value)
            if kind is str:
                append(value if value in clean else self.fresh_text(value, False))
            elif (kind is list or kind is tuple) and len(value) == 2 and type(value[0]) is str:
                # [name, value] pairs: headers, query strings and cookies in list form, tags as pairs.
                if kind is tuple:
                    self.exotic = True
                if depth + 1 > MAX_DEPTH:
                    append(FILTERED)
                else:
                    append([value[0], self.item(value[0], value[1], depth + 1)])
            elif kind is dict:
                append(self.mapping(value, depth + 1))
            elif value is None or kind is bool or kind is float:
                append(value)
            else:
                append(self.value(value, depth))
        if self.aws_seen:
            out = [_AWS_SECRET.sub(FILTERED, v) if type(v) is str else v for v in out]
        self.aws_seen = outer_aws
        return out

    def frame(self, frame: dict[str, Any], depth: int) -> Any:
        if depth > MAX_DEPTH:
            return FILTERED
        clean_code = self.memory.code_lines
        out: dict[str, Any] = {}
        for key, value in frame.items():
            kind = type(value)
            if key in _FRAME_PLAIN:
                out[key] = value if kind in _SCALAR_TYPES else _copy(value, depth)
            elif key == "context_line" and kind is str:
                out[key] = value if value in clean_code else self.fresh_text(value, True)
            elif key in ("pre_context", "post_context") and kind is list:
                out[key] = list(value) if _all_in(clean_code, value) else self.source_lines(value, depth)
            elif key == "vars":
                out[key] = self.value(value, depth)
            else:
                out[key] = self.member(str(key), value, depth)
        return out

    def source_lines(self, lines: list[Any], depth: int) -> list[Any]:
        clean_code = self.memory.code_lines
        out: list[Any] = []
        for line in lines:
            if type(line) is str:
                out.append(line if line in clean_code else self.fresh_text(line, True))
            else:
                # Copied as it is, where a string would get the value rules: what holds it is not remembered.
                self.exotic = True
                out.append(_copy(line, depth))
        return out

    def request(self, request: dict[str, Any], depth: int) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in request.items():
            if key == "cookies":
                out[key] = self.cookies(value, depth)
            elif key == "query_string" and type(value) is str:
                out[key] = self.query(value)
            elif key == "url" and type(value) is str:
                out[key] = self.url(value)
            elif key == "data":
                out[key] = self.body(value, depth)
            else:
                out[key] = self.member(str(key), value, depth)
        return out

    # -- request parts with their own syntax --
    def cookie_is_secret(self, name: str) -> bool:
        return self.verdict(name) in (_HARD, _SOFT) or name.lower() in _SESSION_COOKIES

    def cookies(self, cookies: Any, depth: int) -> Any:
        if type(cookies) is str:
            parts = []
            for part in cookies.split(";"):
                name, sep, val = part.partition("=")
                if sep and val.strip() and self.cookie_is_secret(name.strip()):
                    parts.append(f"{name}={FILTERED}")
                else:
                    parts.append(name + sep + self.text(val) if sep else part)
            return ";".join(parts)
        if isinstance(cookies, dict):
            return {
                k: _hide(v) if self.cookie_is_secret(str(k)) else self.item(str(k), v, depth)
                for k, v in cookies.items()
            }
        if isinstance(cookies, list):
            return [
                [c[0], _hide(c[1]) if self.cookie_is_secret(c[0]) else self.item(c[0], c[1], depth)]
                if type(c) in (list, tuple) and len(c) == 2 and type(c[0]) is str
                else self.value(c, depth)
                for c in cookies
            ]
        return self.value(cookies, depth)

    def query(self, query: str) -> str:
        """a=1&token=x (form bodies too): secret keys lose their value, other values get the value rules."""
        prefix = "?" if query.startswith("?") else ""
        parts = []
        for part in query[len(prefix) :].split("&"):
            name, sep, raw = part.partition("=")
            verdict = self.verdict(unquote_plus(name)) if sep else _NONE
            if verdict == _SAFE or (sep and not raw):
                parts.append(part)
            elif verdict != _NONE and not (verdict == _SOFT and raw.isdigit()):
                parts.append(f"{name}={FILTERED}")
            else:
                raw = raw if sep else name
                decoded = unquote_plus(raw)
                scrubbed = self.text(decoded)
                if scrubbed != decoded:
                    raw = quote_plus(scrubbed, safe="[]/:@")
                parts.append(f"{name}={raw}" if sep else raw)
        return prefix + "&".join(parts)

    def url(self, url: str) -> str:
        rest, hashmark, fragment = url.partition("#")
        base, qmark, query = rest.partition("?")
        out = self.text(base)
        if qmark:
            out += "?" + self.query(query)
        if hashmark:  # OAuth's implicit flow puts access_token in the fragment, form-encoded too
            out += "#" + self.query(fragment)
        return out

    def body(self, data: Any, depth: int) -> Any:
        if type(data) is not str:
            return self.value(data, depth)
        if data.lstrip()[:1] in ("{", "["):
            try:
                parsed = json.loads(data)
            except (ValueError, RecursionError):
                pass
            else:
                scrubbed = self.value(parsed, depth)
                return data if scrubbed == parsed else json.dumps(scrubbed, ensure_ascii=False)
        if "=" in data and not _WHITESPACE.search(data):
            return self.query(data)
        return self.text(data)

    # -- strings --
    def text(self, s: str, code: bool = False) -> str:
        """Value rules on one string. `code` (source lines) skips key=value pairs: there they are code."""
        # Most strings of an event were in the events before it (paths, source lines, SDK contexts, headers,
        # breadcrumbs) and had nothing to scrub: those are remembered, per project's rules, and not looked at
        # again. Only strings left unchanged are kept, so the memory never holds a secret.
        if s in (self.memory.code_lines if code else self.memory.texts):
            return s
        return self.fresh_text(s, code)

    def fresh_text(self, s: str, code: bool) -> str:
        """text() for a string the caller already looked for in memory."""
        if s[4:5] == "-" and _TIMESTAMP.fullmatch(s):
            # Nothing a built-in rule changes, and each one new (breadcrumbs, spans): not worth remembering.
            for pattern in self.rules._patterns:
                s = pattern.sub(FILTERED, s)
            return s
        scrubbed = self._scrub_text(s, code)
        if scrubbed == s:
            self.memory.remember_text(s, code)
        return scrubbed

    def _scrub_text(self, s: str, code: bool) -> str:
        # Cheap substring tests first: this runs on every string not seen before.
        if "-----BEGIN" in s:
            s = _PEM.sub(lambda m: m[1] + FILTERED + m[2], s)
        if "eyJ" in s:
            s = _JWT.sub(FILTERED, s)
        if "earer" in s or "EARER" in s:
            s = _BEARER.sub(lambda m: m[1] + FILTERED, s)
        if "://" in s and "@" in s:
            s = _URL_AUTH.sub(lambda m: m[1] + FILTERED + "@", s)
        if "AKIA" in s or "ASIA" in s:
            s, found = _AWS_KEY_ID.subn(FILTERED, s)
            if found:
                self.aws_seen = True
                s = _AWS_SECRET.sub(FILTERED, s)
        if not code and ("=" in s or _COLON_PAIR.search(s)) and (self.rules._extra_norm or _KEY_HINT.search(s.lower())):
            s = self._pairs(s, 0)
        if len(s) >= 13 and _DIGIT_RUN_HINT.search(s):
            s = _DIGIT_RUN.sub(_card_repl, s)
        rules = self.rules
        if rules.scrub_emails and "@" in s:
            s = _EMAIL_ADDRESS.sub(FILTERED, s)
        if rules.scrub_ip_addresses:
            if s.count(".") >= 3:
                s = _IPV4.sub(_ipv4_repl, s)
            if s.count(":") >= 2:
                s = _IPV6_CANDIDATE.sub(_ipv6_repl, s)
        for pattern in rules._patterns:
            s = pattern.sub(FILTERED, s)
        return s

    def _pairs(self, s: str, depth: int) -> str:
        """key=value pairs in free text: secret keys lose their value."""
        return _KEY_VALUE.sub(lambda m: self._key_value_repl(m, depth), s)

    def _key_value_repl(self, m: re.Match[str], depth: int) -> str:
        verdict = self.verdict(m["key"])
        val = m["val"]
        if verdict == _SAFE:
            return m[0]
        before_value = m[0][: m.start("val") - m.start()]
        if verdict == _NONE or (verdict == _SOFT and val.isdigit()):
            # The value may hold pairs of its own (url=/login?token=x), each with a separator _KEY_VALUE needs.
            if "=" not in val and ":" not in val:
                return m[0]
            if depth >= MAX_PAIR_DEPTH:
                # Deeper than any URL nests them ("k=k=k=..."): not looked into, so not kept. Each level scans the
                # rest of the string again, and recursing without a bound ran out of stack on 32 KiB of "key=".
                return before_value + FILTERED
            return before_value + self._pairs(val, depth + 1)
        quote = val[0] if val[0] in "'\"" else ""
        return before_value + quote + FILTERED + quote
