"""orjson on the ingest path where it gives exactly what the standard library gives, and the standard library
where orjson would give something else (integers past 64 bits, NaN, lone surrogates) or fail.

On the benchmark corpus (8 KiB events) orjson parses an event item in 21 µs against 44 µs, and encodes the
scrubbed event in 19 µs against 68 µs (bench/README.md).
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable
from typing import Any

import orjson

# orjson reads integers past 64 bits as floats, losing digits: a run of 19 digits anywhere (in a string too,
# rarely) sends the document to the standard parser, which keeps them exact. Mapping every digit to "0" and
# looking for 19 of them is 7 µs for 8 KiB; a regular expression for the run takes 45-75 µs.
_DIGITS_TO_ZERO = bytes.maketrans(b"123456789", b"000000000")
_LONG_DIGIT_RUN = b"0" * 19
_DUMP_OPTIONS = orjson.OPT_NON_STR_KEYS | orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS


def loads(data: bytes, standard: Callable[[bytes], Any]) -> Any:
    """`data` parsed by orjson, or by `standard` (the caller's own use of `json`) wherever orjson could differ
    or fails: invalid JSON, a BOM, NaN, lone surrogates, 1e400. `standard`'s results and errors stay the rule, but for
    lone surrogates, which become U+FFFD (see _SURROGATE_ESCAPE)."""
    if _LONG_DIGIT_RUN not in data.translate(_DIGITS_TO_ZERO):
        try:
            return orjson.loads(data)
        except orjson.JSONDecodeError:
            pass
    parsed = standard(data)
    return _without_lone_surrogates(parsed) if _SURROGATE_ESCAPE.search(data) else parsed


def problem(exc: ValueError | RecursionError) -> str:
    """Why the standard parser refused a document, as a 400 says it. Besides malformed JSON it refuses documents
    nested deeper than the interpreter's recursion limit and integers longer than it converts (4,300 digits)."""
    if isinstance(exc, RecursionError):
        return "JSON nested too deeply"
    if isinstance(exc, json.JSONDecodeError):
        return f"invalid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
    if "integer string conversion" in str(exc):
        return f"invalid JSON: a number has more than {sys.get_int_max_str_digits()} digits"
    return f"invalid JSON: {exc}"


# A UTF-16 surrogate written as an escape. A pair becomes one character when parsed; one alone (a JavaScript string
# cut in the middle of an emoji by an SDK's length limit, JSON.stringify writes it so) stays a lone surrogate, which
# is not Unicode: no UTF-8 encoder, so no database, takes it, and the event would be refused.
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89abcdefABCDEF][0-9a-fA-F]{2}")
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def _without_lone_surrogates(value: Any) -> Any:
    """`value` (parsed JSON) with each lone surrogate in its strings and keys replaced by U+FFFD, as a UTF-8
    decoder replaces what it cannot read. Walked with a list rather than recursion: the parser's nesting may
    already be near the recursion limit."""
    root = [value]
    stack: list[tuple[Any, Any]] = [(root, 0)]
    while stack:
        container, at = stack.pop()
        item = container[at]
        if type(item) is str:
            if _LONE_SURROGATE.search(item):
                container[at] = _replace(item)
        elif type(item) is list:
            stack.extend((item, i) for i in range(len(item)))
        elif type(item) is dict:
            if any(_LONE_SURROGATE.search(key) for key in item):
                renamed = {_replace(key): v for key, v in item.items()}  # rebuilt to keep the keys' order
                item.clear()
                item.update(renamed)
            stack.extend((item, key) for key in list(item))
    return root[0]


def _replace(text: str) -> str:
    return _LONE_SURROGATE.sub("\ufffd", text)


def dumps(value: Any, default: Callable[[Any], Any]) -> str:
    """`value` as JSON text; datetimes and other types JSON lacks go to `default`.

    Equal as JSON to `json.dumps(value, default=default)`, the text the database encoder would have written:
    orjson leaves non-ASCII characters as they are, and the standard library writes what orjson refuses
    (integers past 64 bits, lone surrogates, nesting deeper than 254). One difference: a NaN or infinite float
    (only a `/store/` body or a webhook can hold one; envelopes read them as null) is written as null, where
    `json` wrote `NaN`, which is not JSON: PostgreSQL refused the event and SQLite kept text no JSON reader takes.
    """
    try:
        return orjson.dumps(value, default=default, option=_DUMP_OPTIONS).decode()
    except orjson.JSONEncodeError:
        return json.dumps(value, default=default)
