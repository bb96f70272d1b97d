"""Grouping v1's normalisation of frame names and message parameters (frozen: a later version copies, never edits)."""

from __future__ import annotations

import functools
import ipaddress
import re
from typing import Any

from collector.grouping.access import as_text

# Platforms whose file names come out of bundlers, so content hashes and chunk ids in them are noise.
JS_PLATFORMS = frozenset({"javascript", "node", "react-native"})
JS_EXTENSIONS = frozenset({"js", "mjs", "cjs", "jsx", "ts", "tsx", "mts", "cts", "vue", "svelte"})

# Function names that say "no name": they would merge unrelated code if kept, and they come and go with
# interpreter versions (Python 3.12 inlined comprehensions), transpilers and minifiers.
_ANONYMOUS_NAMES = frozenset(
    {
        "<lambda>",
        "<listcomp>",
        "<dictcomp>",
        "<setcomp>",
        "<genexpr>",
        "<anonymous>",
        "<anonymous closure>",
        "<anonymous function>",
        "anonymous",
        "anonymous function",
        "<fn>",
        "?",
        "<unknown>",
        "<redacted>",
    }
)
_HEX_ADDRESS = re.compile(r"\b0x[0-9a-fA-F]+\b")
_JAVA_LAMBDA_METHOD = re.compile(r"(?:^|[.$])lambda\$")
_CSHARP_LAMBDA = re.compile(r"<[^>]*>b__\w*")
_CSHARP_STATE_MACHINE = re.compile(r"^(?:.*\.)?<([^>]+)>d__\d+\.MoveNext$")
_FIREFOX_NESTED = re.compile(r"/<+$|/<+/")
_JS_ALIAS = re.compile(r"\s*\[as [^\]]*\]$")
_JS_PREFIX = re.compile(r"^(?:async\s+|new\s+)+")
_GO_CLOSURE = re.compile(r"\.func\d+(?=\.|$)")
_RUBY_BLOCK_LEVELS = re.compile(r"^block \(\d+ levels\) in ")

# Names the JVM, Spring, Hibernate and friends generate per run or per build: strip the varying part.
_JAVA_GENERATED = (
    (re.compile(r"\$\$Lambda(?:\$\d+)?(?:/(?:0x)?[0-9a-fA-F]+)?"), "$$Lambda"),
    (re.compile(r"\$\$[A-Za-z]*CGLIB[A-Za-z]*\$\$\w+"), ""),
    (re.compile(r"\$HibernateProxy\$\w+"), ""),
    (re.compile(r"\$ByteBuddy\$\w+"), ""),
    (re.compile(r"\$MockitoMock\$\w+"), ""),
    (re.compile(r"_\$\$_jvst\w+"), ""),
    (re.compile(r"_\$\$_javassist_\w+"), ""),
    (re.compile(r"\$Proxy\d+"), "$Proxy"),
    (re.compile(r"\bjdk\.proxy\d+"), "jdk.proxy"),
    (re.compile(r"(Generated\w*Accessor)\d+"), r"\1"),
    # Anonymous and local classes are numbered in source order: Foo$1, Foo$2Local.
    (re.compile(r"\$\d+"), "$"),
)


# Every pattern above needs one of these; no replacement writes one where none was: a name without them is kept.
_JAVA_GENERATED_MARKS = ("$", "jdk.proxy", "Accessor")

# Names recur from event to event (the same code fails again): the normalised form of each is remembered. Only
# short names, so that each memory stays small (about 1 MB at most).
_REMEMBERED_NAME_LENGTH = 256
_REMEMBERED_NAMES = 4096


def _strip_java_generated(name: str) -> str:
    if not any(mark in name for mark in _JAVA_GENERATED_MARKS):
        return name
    for pattern, replacement in _JAVA_GENERATED:
        name = pattern.sub(replacement, name)
    return name


def function_name(value: Any) -> str | None:
    """The function name as grouping sees it, or None when it is anonymous, generated or missing."""
    name = as_text(value)
    if not name:
        return None
    if len(name) <= _REMEMBERED_NAME_LENGTH:
        return _remembered_function_name(name)
    return _function_name(name)


@functools.lru_cache(maxsize=_REMEMBERED_NAMES)
def _remembered_function_name(name: str) -> str | None:
    return _function_name(name)


def _function_name(name: str) -> str | None:
    name = _HEX_ADDRESS.sub("", name).strip()
    name = _JS_ALIAS.sub("", name)
    name = _JS_PREFIX.sub("", name)
    state_machine = _CSHARP_STATE_MACHINE.match(name)
    if state_machine:
        name = state_machine.group(1)
    if (
        "{closure" in name
        or _JAVA_LAMBDA_METHOD.search(name)
        or _CSHARP_LAMBDA.search(name)
        or _FIREFOX_NESTED.search(name)
    ):
        return None
    name = _GO_CLOSURE.sub(".func", name)
    name = _RUBY_BLOCK_LEVELS.sub("block in ", name)
    name = _strip_java_generated(name)
    name = " ".join(name.split())
    # `Object.<anonymous>`, `Foo.bar.<anonymous closure>`: a named owner does not name the function itself.
    if name.rsplit(".", 1)[-1].lower() in _ANONYMOUS_NAMES:
        return None
    return name or None


def _is_generated_token(token: str) -> bool:
    """A piece of a bundle's file name that a build made up: chunk ids and content hashes."""
    if not token:
        return False
    if token.isdigit():
        return True
    has_digit = any(c.isdigit() for c in token)
    if len(token) >= 5 and has_digit and re.fullmatch(r"[0-9a-fA-F]+", token):
        return True
    # Rollup/Vite hashes: 8+ characters of base64url mixing letters and digits.
    return (
        len(token) >= 8
        and has_digit
        and any(c.isalpha() for c in token)
        and re.fullmatch(r"[A-Za-z0-9_]+", token) is not None
    )


def strip_bundle_hashes(stem: str) -> str:
    """`main.3f9a1c` -> `main`, `chunk-abc123` -> `chunk`, `123` -> `<chunk>`: hashes change every build."""
    pieces = re.split(r"([.\-])", stem)
    kept: list[str] = []
    for index in range(0, len(pieces), 2):
        token = pieces[index]
        if _is_generated_token(token):
            continue
        if kept and index > 0:
            kept.append(pieces[index - 1])
        kept.append(token)
    return "".join(kept).strip(".-") or ("<chunk>" if stem else "")


def _basename(path: str) -> str:
    path = path.split("?", 1)[0].split("#", 1)[0]
    return re.split(r"[/\\]", path.rstrip("/\\"))[-1]


def frame_location(frame: dict[str, Any], platform: str | None) -> str:
    """The frame's module, else its file's base name, with generated names normalised; "" when unknown."""
    is_js = platform in JS_PLATFORMS
    module = as_text(frame.get("module"))
    if module and module.strip():
        if len(module) <= _REMEMBERED_NAME_LENGTH:
            return _remembered_module_location(module, is_js)
        return _module_location(module, is_js)
    path = as_text(frame.get("filename")) or as_text(frame.get("abs_path"))
    if not path or not path.strip():
        return ""
    if len(path) <= _REMEMBERED_NAME_LENGTH:
        return _remembered_file_location(path, is_js)
    return _file_location(path, is_js)


@functools.lru_cache(maxsize=_REMEMBERED_NAMES)
def _remembered_module_location(module: str, is_js: bool) -> str:
    return _module_location(module, is_js)


def _module_location(module: str, is_js: bool) -> str:
    module = _HEX_ADDRESS.sub("", _strip_java_generated(module.strip()))
    if is_js:
        module = ":".join(strip_bundle_hashes(part) for part in module.split(":"))
    return module


@functools.lru_cache(maxsize=_REMEMBERED_NAMES)
def _remembered_file_location(path: str, is_js: bool) -> str:
    return _file_location(path, is_js)


def _file_location(path: str, is_js: bool) -> str:
    name = _HEX_ADDRESS.sub("", _basename(path.strip()))
    stem, dot, extension = name.rpartition(".")
    if dot and stem and (is_js or extension.lower() in JS_EXTENSIONS):
        name = f"{strip_bundle_hashes(stem)}.{extension}"
    return name


# Message parameters: the order matters, as the earlier kinds contain digits that the later ones would take.
_URL = re.compile(r"\b[A-Za-z][A-Za-z0-9+.\-]*://[^\s'\"<>]+")
_EMAIL = re.compile(r"[A-Za-z0-9.!#$%&*+/=?^_`{|}~\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)+")
_UUID = re.compile(
    r"(?<![0-9A-Za-z])[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}(?![0-9A-Za-z])"
)
_DATETIME = re.compile(
    r"\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?(?:\s?(?:Z|UTC|[+-]\d{2}:?\d{2}))?)?"
)
# Candidates only: ipaddress decides. An IPv4 address may carry a port; a version number (1.2.3.4.5) is not one.
_IPV4_CANDIDATE = re.compile(r"(?<![\w.])\d{1,3}(?:\.\d{1,3}){3}(?!\.?\w)")
_IPV6_CANDIDATE = re.compile(
    r"(?<![\w:.])[0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){2,7}(?:\.\d{1,3}){0,3}(?:%\w+)?(?![\w:])"
)
_HEX = re.compile(r"(?<![0-9A-Za-z])(?:0[xX][0-9a-fA-F]+|[0-9a-fA-F]*\d[0-9a-fA-F]*)(?![0-9A-Za-z])")
_QUOTED = re.compile(r"(?<!\w)(?:'[^'\n]*'|\"[^\"\n]*\")(?!\w)")
# A sign belongs to the number only when it stands alone ("-12.5"), not inside a name ("db-1").
_NUMBER = re.compile(r"(?:(?<![\w.\-+])[-+])?\d+(?:[.,]\d+)*")


def _replace_ip(match: re.Match[str]) -> str:
    candidate = match.group(0)
    if not any(c.isdigit() for c in candidate):
        return candidate  # "Abc::Def" is a valid IPv6 address but far likelier a PHP or C++ name
    try:
        ipaddress.ip_address(candidate.split("%", 1)[0])
    except ValueError:
        return candidate
    return "<ip>"


def _replace_hex(match: re.Match[str]) -> str:
    text = match.group(0)
    if text[:2] in ("0x", "0X"):
        return "<hex>"
    # Short runs and plain numbers are left to the number rule; hex needs a letter and some length.
    if len(text) >= 6 and any(c.isalpha() for c in text):
        return "<hex>"
    return text


def normalise_message(text: str) -> str:
    """The message with its variable parts (ids, numbers, addresses, quoted values...) replaced by placeholders."""
    text = _URL.sub("<url>", text)
    text = _EMAIL.sub("<email>", text)
    text = _UUID.sub("<uuid>", text)
    text = _DATETIME.sub("<date>", text)
    text = _IPV6_CANDIDATE.sub(_replace_ip, text)
    text = _IPV4_CANDIDATE.sub(_replace_ip, text)
    text = _HEX.sub(_replace_hex, text)
    text = _QUOTED.sub("<str>", text)
    text = _NUMBER.sub("<num>", text)
    return " ".join(text.split())
