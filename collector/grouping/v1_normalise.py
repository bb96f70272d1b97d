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
# "<" ... ">b__": from the last "<" before the ">" (same matches, and a scan never passes the next "<").
_CSHARP_LAMBDA = re.compile(r"<[^<>]*>b__")
_CSHARP_STATE_MACHINE_TAIL = re.compile(r">d__\d+\.MoveNext$")
_FIREFOX_NESTED = re.compile(r"/<+$|/<+/")
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
    name = _without_js_alias(name)
    name = _JS_PREFIX.sub("", name)
    name = _csharp_state_machine_method(name) or name
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


def _without_js_alias(name: str) -> str:
    """The name without V8's trailing " [as alias]": what `re.sub(r"\\s*\\[as [^\\]]*\\]$", "", name)` gives, in time
    linear in the name (the expression tried again from every space of a long run of them)."""
    if not name.endswith("]"):
        return name
    start = name.find("[as ", name.rfind("]", 0, len(name) - 1) + 1)
    return name if start < 0 else name[:start].rstrip()


def _csharp_state_machine_method(name: str) -> str | None:
    """The method a C# async or iterator state machine runs ("Shop.Cart.<Checkout>d__5.MoveNext"), else None.

    What `^(?:.*\\.)?<([^>]+)>d__\\d+\\.MoveNext$` matches, found in time linear in the name: the regular expression
    scanned to the ">" again from every ".<", seconds for a hostile name of 30 KiB."""
    tail = _CSHARP_STATE_MACHINE_TAIL.search(name)
    if tail is None:
        return None
    end = tail.start()
    start = name.rfind(">", 0, end) + 1  # the method holds no ">"
    newline = name.find("\n", 0, end)  # nor can what comes before it, as "." does not match one
    at = end if newline < 0 else newline + 1
    while (dot := name.rfind(".<", start, at)) >= 0:  # the last "." first, as the greedy ".*" found it
        if dot + 2 < end:
            return name[dot + 2 : end]
        at = dot + 1
    if start == 0 and name.startswith("<") and end > 1:
        return name[1:end]
    return None


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
# URLs and e-mail addresses are found as these expressions find them, but in time linear in the text (_replace_urls,
# _replace_emails): as such, a message of 8 KiB without "://" or "@" took 100-150 ms, more in proportion to the
# square of its length, as each was tried again from every position of a run of the characters it starts with.
_URL = re.compile(r"\b[A-Za-z][A-Za-z0-9+.\-]*://[^\s'\"<>]+")
_SCHEME_RUN = re.compile(r"(?<![A-Za-z0-9+.\-])[A-Za-z0-9+.\-]++(?=://)")
_URL_REST = re.compile(r"://[^\s'\"<>]+")
_EMAIL_CHARS = "A-Za-z0-9.!#$%&*+/=?^_`{|}~\\-"
_EMAIL = re.compile(rf"[{_EMAIL_CHARS}]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)+")
_EMAIL_AT_RUN_START = re.compile(rf"(?<![{_EMAIL_CHARS}])" + _EMAIL.pattern)
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


def _replace_urls(text: str) -> str:
    """`_URL.sub("<url>", text)`, in linear time: in each run of scheme characters followed by "://", only the first
    place _URL could start (a letter at a word boundary) is tried, as later ones end at the same "://"."""
    if "://" not in text:
        return text
    pieces: list[str] = []
    at = 0
    for run in _SCHEME_RUN.finditer(text):
        if run.start() < at:
            continue  # inside the previous URL
        rest = _URL_REST.match(text, run.end())
        if rest is None:
            continue
        start = next((i for i in range(run.start(), run.end()) if _is_scheme_start(text, i)), None)
        if start is not None:
            pieces += (text[at:start], "<url>")
            at = rest.end()
    pieces.append(text[at:])
    return "".join(pieces)


def _is_scheme_start(text: str, i: int) -> bool:
    """Whether `\\b[A-Za-z]` matches at i."""
    char = text[i]
    if not ("A" <= char <= "Z" or "a" <= char <= "z"):
        return False
    return i == 0 or not (text[i - 1].isalnum() or text[i - 1] == "_")


def _replace_emails(text: str) -> str:
    """`_EMAIL.sub("<email>", text)`, in linear time."""
    if "@" not in text:
        return text
    pieces: list[str] = []
    at = 0
    while True:
        # Right after an address, one may follow glued to it ("a@b.io/c@d.io"): tried there once.
        found = (_EMAIL.match(text, at) if pieces else None) or _EMAIL_AT_RUN_START.search(text, at)
        if found is None:
            break
        pieces += (text[at : found.start()], "<email>")
        at = found.end()
    pieces.append(text[at:])
    return "".join(pieces)


def normalise_message(text: str) -> str:
    """The message with its variable parts (ids, numbers, addresses, quoted values...) replaced by placeholders."""
    text = _replace_urls(text)
    text = _replace_emails(text)
    text = _UUID.sub("<uuid>", text)
    text = _DATETIME.sub("<date>", text)
    text = _IPV6_CANDIDATE.sub(_replace_ip, text)
    text = _IPV4_CANDIDATE.sub(_replace_ip, text)
    text = _HEX.sub(_replace_hex, text)
    text = _QUOTED.sub("<str>", text)
    text = _NUMBER.sub("<num>", text)
    return " ".join(text.split())
