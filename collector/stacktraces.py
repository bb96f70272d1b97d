"""Parsers turning text stack traces (PHP, Java, JavaScript, Dart) into Sentry-style exception values.

Every parser returns ``exception.values`` in Sentry order (the cause first, the main exception last) with
frames oldest call first. A frame is a dict with exactly the keys ``filename, abs_path, module, function,
lineno, colno, in_app`` (``None`` where unknown). Parsers never raise on arbitrary text: lines they do not
recognise are skipped, and text without a single recognisable frame gives ``[]`` so the caller can fall
back to keeping the raw text.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any
from urllib.parse import urlsplit

Frame = dict[str, Any]
ExceptionValue = dict[str, Any]

# Bounds that keep hostile input linear-time and events a sane size (Sentry trims at 250 frames too).
_MAX_TEXT = 512 * 1024
_MAX_LINE = 4096
_MAX_FRAMES = 250
_MAX_CHAIN = 20
_MAX_HEADER_LINES = 50

_LINE_COL_RE = re.compile(r":(\d+)(?::(\d+))?$")


def make_frame(
    *,
    filename: str | None = None,
    abs_path: str | None = None,
    module: str | None = None,
    function: str | None = None,
    lineno: int | None = None,
    colno: int | None = None,
    in_app: bool | None = None,
) -> Frame:
    """A canonical frame; every parser builds its frames through here so they all share one shape."""
    return {
        "filename": filename,
        "abs_path": abs_path,
        "module": module,
        "function": function,
        "lineno": lineno,
        "colno": colno,
        "in_app": in_app,
    }


def exception_value(type_: str, value: str, frames: list[Frame], module: str | None = None) -> ExceptionValue:
    """A canonical exception value; ``frames`` oldest first (trimmed in the middle beyond 250)."""
    if len(frames) > _MAX_FRAMES:
        frames = frames[:50] + frames[-(_MAX_FRAMES - 50) :]
    return {
        "type": type_,
        "value": value,
        "module": module,
        "stacktrace": {"frames": frames} if frames else None,
    }


def _lines(text: str) -> list[str]:
    return [line for line in text[:_MAX_TEXT].splitlines() if len(line) <= _MAX_LINE]


def _split_line_col(location: str) -> tuple[str, int | None, int | None]:
    """``"https://h:8080/x.js:10:5"`` -> (``"https://h:8080/x.js"``, 10, 5); a port is not a line."""
    m = _LINE_COL_RE.search(location)
    if not m or m.start() == 0:
        return location, None, None
    colno = int(m.group(2)) if m.group(2) else None
    return location[: m.start()], int(m.group(1)), colno


def _finish(chain: list[ExceptionValue]) -> list[ExceptionValue]:
    """Keep the chain only if some exception in it has frames: a header alone is not a stack trace."""
    if not any(value["stacktrace"] for value in chain):
        return []
    return chain[-_MAX_CHAIN:]


# --- PHP -------------------------------------------------------------------------------------------

_PHP_LOC_RE = re.compile(r"\((\d+)\): ")
_PHP_FRAME_START_RE = re.compile(r"#\d+ ")
_PHP_TYPE_RE = re.compile(r"([A-Za-z_\\][\w\\]*(?:@anonymous\S*)?)(?:: (.*))?$", re.S)
_PHP_PLAIN_HEADER_RE = re.compile(r"[A-Za-z_\\][\w\\]*: ")
_PHP_UNCAUGHT_RE = re.compile(r"Uncaught (?=[A-Za-z_\\])")
_PHP_INTERNAL = "[internal]"
# Laravel's top-level folders: cutting an absolute path at the last of these gives the same filename on
# every host and in every release directory (/home/forge/x/releases/20240101/app/...), which keeps grouping
# stable across deploys the way Sentry's configured path prefixes do.
_PHP_ROOTS = ("app", "bootstrap", "config", "database", "lib", "public", "resources", "routes", "src", "tests")
_MAIN = "{main}"


def php_frame(file: str | None, line: int | None, function: str | None) -> Frame:
    """A PHP frame: ``file``/``line`` are where ``function`` was executing."""
    if file is None or file == _PHP_INTERNAL:
        return make_frame(filename=file, function=function, lineno=line, in_app=False)
    slashed = file.replace("\\", "/")
    in_app = "/vendor/" not in slashed and not slashed.startswith("vendor/")
    return make_frame(filename=_php_filename(slashed), abs_path=file, function=function, lineno=line, in_app=in_app)


def _php_filename(path: str) -> str:
    vendor = path.find("/vendor/")
    if vendor >= 0:
        return path[vendor + 1 :]
    cut = max(path.rfind(f"/{root}/") for root in _PHP_ROOTS)
    return path[cut + 1 :] if cut >= 0 else path


def php_frames_from_backtrace(
    backtrace: Iterable[Mapping[str, Any]], file: str | None, line: int | None
) -> list[Frame]:
    """Frames (oldest first) from a PHP backtrace (``getTrace()`` entries: file, line, class, function).

    A backtrace entry names the function *called* from its file/line, so each frame takes its location
    from the entry before it, starting at the throw location ``file``/``line``; the last entry's location
    becomes the outermost ``{main}`` frame. This is what PHP's Sentry SDK does, so both sources group alike.
    """
    frames = []
    for entry in backtrace:
        function = entry.get("function")
        if entry.get("class") and function:
            function = f"{entry['class']}::{function}"
        frames.append(php_frame(file, line, function))
        file, line = entry.get("file") or _PHP_INTERNAL, entry.get("line")
    if file is not None and file != _PHP_INTERNAL:
        frames.append(php_frame(file, line, None))
    frames.reverse()
    return frames


def _php_split_call(call: str) -> tuple[str | None, str]:
    """``App\\Foo->bar(Object(X), 1)`` -> (``App\\Foo``, ``bar``); braces guard PHP 8.4 closure names."""
    depth, name_end, sep_at = 0, len(call), None
    for i, ch in enumerate(call):
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
        elif depth == 0 and ch == "(":
            name_end = i
            break
        elif depth == 0 and sep_at is None and call.startswith(("->", "::"), i):
            sep_at = i
    if sep_at is None or sep_at > name_end:
        return None, call[:name_end]
    return call[:sep_at], call[sep_at + 2 : name_end]


def _php_trace_entry(line: str) -> dict[str, Any] | str | None:
    """One ``#N file(line): call`` line as a backtrace entry, ``_MAIN`` for ``#N {main}``, else None."""
    m = _PHP_FRAME_START_RE.match(line)
    if not m:
        return None
    rest = line[m.end() :]
    if rest == _MAIN:
        return _MAIN
    if rest.startswith("[internal function]: "):
        file, lineno, call = None, None, rest[len("[internal function]: ") :]
    else:
        loc = _PHP_LOC_RE.search(rest)
        if not loc or loc.start() == 0:
            return None
        file, lineno, call = rest[: loc.start()], int(loc.group(1)), rest[loc.end() :]
    cls, function = _php_split_call(call)
    if not function:
        return None
    return {"file": file, "line": lineno, "class": cls, "function": function}


def _php_header_start(line: str, in_header: bool) -> tuple[str, str] | None:
    """(style, header text) if ``line`` opens an exception: Laravel's ``[object] (``, Uncaught, Next."""
    at = line.find("[object] (")
    if at >= 0:
        return "laravel", line[at + len("[object] (") :]
    m = _PHP_UNCAUGHT_RE.search(line)
    if m:
        return "plain", line[m.end() :]
    if line.startswith("Next "):
        return "plain", line[len("Next ") :]
    if not in_header and _PHP_PLAIN_HEADER_RE.match(line):
        return "plain", line
    return None


def _php_starts_another_trace(line: str) -> bool:
    """A new fatal error, or a new Laravel log entry (a previous exception of the same entry is marked so)."""
    if "[object] (" in line:
        return not line.startswith("[previous exception]")
    return _PHP_UNCAUGHT_RE.search(line) is not None


def _php_location(text: str, sep: str) -> tuple[str, str | None, int | None]:
    head, found, tail = text.rpartition(sep)
    m = re.fullmatch(r"(\S.*):(\d+)", tail) if found else None
    if not m:
        return text, None, None
    return head, m.group(1), int(m.group(2))


def _php_parse_header(style: str, text: str) -> tuple[str, str, str | None, int | None] | None:
    """(type, message, file, line) from ``Cls: msg in /f.php:3`` or ``Cls(code: 0): msg at /f.php:3)``."""
    text = text.strip()
    if style == "laravel":
        m = re.match(r"([^\s(]+)\(code: [^)]*\): ?", text)
        if not m:
            return None
        body = text[m.end() :]
        body = body[: body.rfind(")")] if ")" in body else body  # drop the ')"}' closing the log context
        message, file, line = _php_location(body, " at ")
        return m.group(1), message.strip(), file, line
    body, file, line = _php_location(text, " in ")
    m = _PHP_TYPE_RE.match(body)
    if not m:
        return None
    return m.group(1), (m.group(2) or "").strip(), file, line


def parse_php(text: str, *, file: str | None = None, line: int | None = None) -> list[ExceptionValue]:
    """PHP traces: ``getTraceAsString()``, ``(string) $e`` with ``Next`` chains, fatal "Uncaught" errors
    and Laravel's log format (``[object] (Cls(code: 0): msg at /f.php:3)`` + ``[stacktrace]``).

    ``file``/``line`` give the throw location for a bare trace that has no header of its own.
    """
    if "[object] (" in text:
        # Laravel writes the exception inside JSON-encoded log context: namespaces come out as "App\\Foo".
        text = text.replace("\\\\", "\\")
    blocks: list[dict[str, Any]] = []
    current: dict[str, Any] | None = None
    for raw in _lines(text):
        stripped = raw.strip()
        entry = _php_trace_entry(stripped)
        if entry is not None:
            if current is None or current["done"]:
                current = {"style": "bare", "header": None, "entries": [], "done": False}
                blocks.append(current)
            current["state"] = "trace"
            if entry == _MAIN:
                current["done"] = True
            else:
                current["entries"].append(entry)
            continue
        in_header = current is not None and current.get("state") == "header"
        start = _php_header_start(stripped, in_header)
        if start and blocks and _php_starts_another_trace(stripped):
            break  # one event is one trace: PHP's CLI prints a fatal error twice (log and display)
        if start:
            current = {"style": start[0], "header": [start[1]], "entries": [], "done": False, "state": "header"}
            blocks.append(current)
        elif in_header and current is not None:
            if stripped in ("Stack trace:", "[stacktrace]"):
                current["state"] = "trace"
            elif len(current["header"]) < _MAX_HEADER_LINES:
                current["header"].append(raw)
    chain = []
    for block in blocks:
        value = _php_block(block, file, line)
        if value is not None:
            chain.append(value)
    if blocks and blocks[0]["style"] == "laravel":
        chain.reverse()  # Laravel logs the main exception first, then "[previous exception]"s
    return _finish(chain)


def _php_block(block: dict[str, Any], file: str | None, line: int | None) -> ExceptionValue | None:
    type_, message = "Exception", ""
    if block["header"] is not None:
        parsed = _php_parse_header(block["style"], "\n".join(block["header"]))
        if parsed is None:
            return None
        type_, message, file, line = parsed
        if file is None and not block["entries"]:
            return None  # e.g. "Warning: ..." text that merely looks like a header
    return exception_value(type_, message, php_frames_from_backtrace(block["entries"], file, line))


# --- Java ------------------------------------------------------------------------------------------

_JAVA_FRAME_RE = re.compile(r"at ([^\s(]+)\(([^)]*)\)")
_JAVA_MORE_RE = re.compile(r"\.\.\. (\d+) (?:more|common frames omitted)")
_JAVA_LINKS = ("Caused by: ", "Wrapped by: ")
_JAVA_HEADER_RE = re.compile(
    r"(?:Exception in thread \"[^\"]*\" )?([A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)+)(?::\s?(.*))?$"
)
_JAVA_LIBRARY_PREFIXES = (
    "java.", "javax.", "jakarta.", "sun.", "com.sun.", "jdk.", "kotlin.", "kotlinx.", "scala.", "groovy.",
    "org.springframework.", "org.apache.", "org.hibernate.", "org.eclipse.", "org.junit.", "org.gradle.",
    "org.slf4j.", "ch.qos.logback.", "com.fasterxml.", "com.zaxxer.", "io.netty.", "reactor.",
    "io.micrometer.", "io.undertow.", "net.bytebuddy.", "org.aspectj.", "feign.", "okhttp3.", "retrofit2.",
    "android.", "androidx.", "dalvik.", "com.android.", "com.google.", "org.postgresql.", "com.mysql.",
    "org.mariadb.", "oracle.jdbc.", "org.h2.", "redis.clients.", "io.lettuce.", "io.grpc.", "org.glassfish.",
    "com.amazonaws.", "software.amazon.", "io.opentelemetry.", "org.mockito.",
)  # fmt: skip


def java_frame(class_name: str | None, method: str | None, file: str | None, line: int | None) -> Frame:
    """A JVM frame; ``module`` is the class, as in Sentry's Java SDK."""
    in_app = None if not class_name else not class_name.startswith(_JAVA_LIBRARY_PREFIXES)
    if file in ("Unknown Source", "Native Method"):
        file = None
    return make_frame(filename=file, module=class_name, function=method, lineno=line, in_app=in_app)


def split_java_class(qualified: str) -> tuple[str | None, str]:
    """``java.lang.IllegalStateException`` -> (``java.lang``, ``IllegalStateException``)."""
    package, _, name = qualified.rpartition(".")
    return package or None, name


def _java_frame_from_match(qualified: str, location: str) -> Frame:
    # "java.base/java.lang.Thread.run", "app//com.acme.Foo.bar": drop the class loader and module
    # prefixes, but not the "/0x..." of a hidden lambda class.
    while "/" in qualified:
        _, rest = qualified.split("/", 1)
        if rest.startswith("0x"):
            break
        qualified = rest
    class_name, _, method = qualified.rpartition(".")
    file, _, line = location.rpartition(":")
    if not file or not line.isdigit():
        file, line = location, ""
    return java_frame(class_name or None, method, file or None, int(line) if line else None)


def parse_java(text: str) -> list[ExceptionValue]:
    """JVM ``printStackTrace()`` text: ``Caused by:`` chains, ``... N more`` (filled in from the enclosing
    trace, as the JVM elided them), module prefixes; ``Suppressed:`` blocks are skipped. Logback's
    root-cause-first ``Wrapped by:`` rendering is read too."""
    printed: list[dict[str, Any]] = []  # in printed order: main first, then its causes (or the reverse)
    current: dict[str, Any] | None = None
    skip_below: int | None = None
    wrapped = False
    for raw in _lines(text):
        line = raw.strip()
        indent = len(raw) - len(raw.lstrip())
        if skip_below is not None:
            if not (line.startswith(_JAVA_LINKS) and indent < skip_below):
                continue
            skip_below = None
        m = _JAVA_FRAME_RE.match(line)
        if m:
            if current is None:
                current = {"type": "java.lang.Throwable", "message": [], "frames": [], "more": 0}
                printed.append(current)
            current["frames"].append(_java_frame_from_match(m.group(1), m.group(2)))
            continue
        more = _JAVA_MORE_RE.fullmatch(line)
        if more and current is not None:
            current["more"] = int(more.group(1))
        elif line.startswith("Suppressed: ") and current is not None:
            skip_below = max(indent, 1)
        elif line.startswith(_JAVA_LINKS) or current is None:
            wrapped = wrapped or line.startswith("Wrapped by: ")
            header = _JAVA_HEADER_RE.match(line.split(": ", 1)[1] if line.startswith(_JAVA_LINKS) else line)
            if header:
                current = {"type": header.group(1), "message": [header.group(2) or ""], "frames": [], "more": 0}
                printed.append(current)
        elif not current["frames"]:
            if line:
                current["message"].append(line)  # a message spanning several lines
        elif _JAVA_HEADER_RE.match(line):
            break  # a second, unrelated trace starts: one event is one trace
    # Only the reported exception and its nearest causes are kept (and copied into): the first printed ones, or the
    # last in root-cause-first order.
    printed = printed[-_MAX_CHAIN:] if wrapped else printed[:_MAX_CHAIN]
    enclosing: list[Frame] = []
    # Outermost first: the frames a cause omits are the last ones of the exception it caused, which logback's
    # root-cause-first rendering prints after it.
    for exc in printed[::-1] if wrapped else printed:
        if exc["more"] and enclosing:
            exc["frames"] = exc["frames"] + enclosing[-exc["more"] :]
        enclosing = exc["frames"]
    chain = []
    for exc in printed:
        module, type_ = split_java_class(exc["type"])
        message = "\n".join(exc["message"]).strip()
        chain.append(exception_value(type_, message, exc["frames"][::-1], module))
    if not wrapped:
        chain.reverse()
    return _finish(chain)


# --- JavaScript ------------------------------------------------------------------------------------

_JS_HEADER_RE = re.compile(
    r"(?:Uncaught (?:\(in promise\) )?)?([A-Za-z_$][\w$.]*)(?: \[[^\]]*\])?(?::\s?(.*)|(?<=Error)|(?<=Exception))$"
)
_JS_EVAL_RE = re.compile(r"\((\S+?):(\d+):(\d+)\)")
_GECKO_EVAL_RE = re.compile(r"(\S+) line (\d+)(?: > \w+ line \d+)* > (?:eval|Function)")
_JS_NOT_APP = ("node:", "internal/", "chrome-extension:", "moz-extension:", "safari-extension:",
               "safari-web-extension:", "webkit-masked-url:", "webpack/runtime", "webpack/bootstrap")  # fmt: skip
_JS_PSEUDO_FILES = ("<anonymous>", "native", "[native code]", "debugger eval code")
_JS_CAUSE_RE = re.compile(r"\[cause\]: |caused by: ", re.I)
_JS_ELIDED_RE = re.compile(r"\.\.\. (\d+) lines? matching cause stack trace \.\.\.")


def js_frame(location: str | None, function: str | None, lineno: int | None, colno: int | None) -> Frame:
    """A JavaScript frame; ``abs_path`` is the URL or path, ``filename`` its path without origin/query."""
    if not location or location in _JS_PSEUDO_FILES:
        return make_frame(filename=location or None, function=function, lineno=lineno, colno=colno, in_app=False)
    filename = location
    if location.startswith(("http://", "https://")):
        filename = urlsplit(location).path or location
    in_app = "/node_modules/" not in location and not location.startswith(_JS_NOT_APP)
    return make_frame(
        filename=filename, abs_path=location, function=function, lineno=lineno, colno=colno, in_app=in_app
    )


def _v8_frame(line: str) -> Frame | None:
    if not line.startswith("at "):
        return None
    # Node's inspect output opens the error's own properties after the last frame: "... (x.js:1:2) {".
    body = line[3:].strip().removesuffix(" {").removeprefix("async ")
    if body.endswith(")") and " (" in body:
        function, _, location = body[:-1].partition(" (")
    else:
        function, location = "", body
    if location.startswith("eval at "):
        inner = _JS_EVAL_RE.search(location)  # the code that called eval() is the useful location
        if not inner:
            return None
        return js_frame(inner.group(1), function or "eval", int(inner.group(2)), int(inner.group(3)))
    location = location.removeprefix("address at ")
    if location.startswith("index "):  # "at async Promise.all (index 0)": no source location
        return js_frame(None, function or None, None, None)
    file, lineno, colno = _split_line_col(location)
    if lineno is None and not function and file not in _JS_PSEUDO_FILES:
        return None  # "at something" prose, not a frame
    return js_frame(file, function or None, lineno, colno)


def _gecko_frame(line: str) -> Frame | None:
    """Firefox / Safari: ``func@url:line:col``, ``@debugger eval code:1:1``, ``forEach@[native code]``."""
    function, at, location = line.partition("@")
    if not at or " " in function.split("*")[-1].replace("global code", "").replace("module code", ""):
        return None
    function = function.split("*")[-1]  # Firefox marks async boundaries as "async*fn"
    if location == "[native code]":
        return js_frame(location, function or None, None, None)
    file, lineno, colno = _split_line_col(location)
    if lineno is None:
        return None
    evaled = _GECKO_EVAL_RE.match(file)
    if evaled:
        return js_frame(evaled.group(1), function or "eval", int(evaled.group(2)), None)
    return js_frame(file, function or None, lineno, colno)


def _js_frame_line(line: str) -> Frame | None:
    return _v8_frame(line) or _gecko_frame(line)


def parse_javascript(text: str) -> list[ExceptionValue]:
    """``error.stack`` text from V8 (Chrome, Node, Edge) or Gecko/JavaScriptCore (Firefox, Safari), whose
    stacks have no ``Type: message`` header line. Causes: Node's ``util.inspect`` ``[cause]: Error: ...`` blocks
    (its ``... N lines matching cause stack trace ...`` restored from the cause, its AggregateError ``[errors]``
    skipped, as Java's ``Suppressed:`` are) and the ``Caused by:`` lines that VError and pino append."""
    printed: list[dict[str, Any]] = []  # the reported error first, then its causes
    current: dict[str, Any] | None = None
    skip_until: str | None = None  # the closing line of an [errors] block being skipped
    for raw in _lines(text):
        line = raw.strip()
        if skip_until is not None:
            if raw.rstrip().removesuffix(",") == skip_until:
                skip_until = None
            continue
        frame = _js_frame_line(line)
        if frame is not None:
            if current is None:
                current = {"type": "Error", "message": [], "frames": [], "elided": None, "indent": 0}
                printed.append(current)
            current["frames"].append(frame)
            continue
        indent = len(raw) - len(line)
        elided = _JS_ELIDED_RE.fullmatch(line)
        if elided and current is not None:
            current["elided"] = (len(current["frames"]), int(elided.group(1)))
            continue
        if line == "[errors]: [":
            skip_until = raw[:indent] + "]"
            continue
        cause = _JS_CAUSE_RE.match(line)
        if cause or current is None:
            named = line[cause.end() :] if cause else line
            # Past inspect's depth a cause is printed bracketed, on one line: "[cause]: [Error: x]".
            bracketed = named.startswith("[") and named.endswith("]")
            header = _JS_HEADER_RE.match(named[1:-1] if bracketed else named)
            if header:
                current = {
                    "type": header.group(1), "message": [header.group(2) or ""], "frames": [], "elided": None,
                    # A message goes on in lines as indented as its header; inspect's closing "}" are less so.
                    "indent": _MAX_LINE if bracketed else indent,
                }  # fmt: skip
                printed.append(current)
        elif not current["frames"] and indent >= current["indent"]:
            if line:
                current["message"].append(line)
        elif not indent and _JS_HEADER_RE.match(line):
            break  # a second, unrelated error starts: one event is one error
    del printed[_MAX_CHAIN + 1 :]  # only the reported error and its nearest causes are kept (and copied into)
    for exc, its_cause in reversed(list(itertools.pairwise(printed))):
        if exc["elided"]:  # innermost first, so a cause's own elided frames are back before they are copied
            _restore_cause_frames(exc, its_cause["frames"])
    chain = [exception_value(exc["type"], "\n".join(exc["message"]).strip(), exc["frames"][::-1]) for exc in printed]
    chain.reverse()
    return _finish(chain)


def _restore_cause_frames(exc: dict[str, Any], cause_frames: list[Frame]) -> None:
    """Node prints an error's frames shared with its cause as the first and last of that run and
    ``... N lines matching cause stack trace ...`` between: the N are the cause's frames after the first."""
    at, count = exc["elided"]
    if not at:
        return
    before = exc["frames"][at - 1]
    for i, frame in enumerate(cause_frames):
        if frame == before:
            exc["frames"][at:at] = cause_frames[i + 1 : i + 1 + count]
            return


# --- Dart ------------------------------------------------------------------------------------------

_DART_FRAME_START_RE = re.compile(r"#\d+\s+")
_DART_TERSE_RE = re.compile(r"(\S+)(?: (\d+)(?::(\d+))?)?\s+(\S.*)")
_DART_HEADER_RE = re.compile(r"([A-Za-z_$][\w$]*)(?: \([^)]*\))?: (.*)")
_FLUTTER_HEADER_RE = re.compile(r"The following (\S+) was thrown")
_DART_URI_PREFIXES = ("package:", "dart:", "file:", "http:", "https:", "org-dartlang-")
_DART_NOT_APP = ("dart:", "org-dartlang-sdk:", "package:flutter/", "package:flutter_test/")
# Android's logcat prefixes every line a Flutter app prints: "E/flutter ( 6281): #0 ..."
_LOGCAT_RE = re.compile(r"[VDIWEF]/flutter\s*\(\s*\d+\):\s?")
# What the dart:core errors' toString() starts with, for a header line without a type name.
_DART_CORE_PREFIXES = {
    "Bad state": "StateError",
    "Unsupported operation": "UnsupportedError",
    "Invalid argument(s)": "ArgumentError",
    "Concurrent modification during iteration": "ConcurrentModificationError",
    "Null check operator used on a null value": "TypeError",
}


def dart_frame(uri: str, function: str | None, lineno: int | None, colno: int | None) -> Frame:
    """A Dart frame; ``module`` is the package (``myapp``) or the core library (``dart:async``)."""
    module = None
    if uri.startswith("package:"):
        module = uri[len("package:") :].split("/", 1)[0]
    elif uri.startswith("dart:"):
        module = uri.split("/", 1)[0]
    return make_frame(
        filename=uri,
        abs_path=uri,
        module=module,
        function=function,
        lineno=lineno,
        colno=colno,
        in_app=not uri.startswith(_DART_NOT_APP),
    )


def _is_dart_uri(uri: str) -> bool:
    return uri.startswith(_DART_URI_PREFIXES) or uri.endswith(".dart")


def _dart_frame_line(line: str) -> Frame | None:
    """``#0      Foo.bar (package:app/foo.dart:42:7)`` or the stack_trace package's terse
    ``package:app/foo.dart 42:7  Foo.bar``."""
    line = _LOGCAT_RE.sub("", line, count=1)
    m = _DART_FRAME_START_RE.match(line)
    if m:
        rest = line[m.end() :]
        if not rest.endswith(")") or " (" not in rest:
            return None
        function, _, location = rest[:-1].partition(" (")
        uri, lineno, colno = _split_line_col(location)
        return dart_frame(uri, function, lineno, colno) if _is_dart_uri(uri) else None
    terse = _DART_TERSE_RE.fullmatch(line)
    if terse and _is_dart_uri(terse.group(1)) and not line.startswith("#"):
        lineno = int(terse.group(2)) if terse.group(2) else None
        colno = int(terse.group(3)) if terse.group(3) else None
        return dart_frame(terse.group(1), terse.group(4).strip(), lineno, colno)
    return None


def parse_dart(text: str) -> list[ExceptionValue]:
    """Dart/Flutter ``StackTrace.toString()`` (``#0 ...`` lines, ``<asynchronous suspension>``), the terse
    format and FlutterError dumps; a leading ``Type: message`` line (``error.toString()``) is the header."""
    before: list[str] = []
    frames: list[Frame] = []
    for raw in _lines(text):
        line = _LOGCAT_RE.sub("", raw.strip(), count=1)
        frame = _dart_frame_line(line)
        if frame is not None:
            frames.append(frame)
        elif not frames and line:
            before.append(line)
    type_, message = _dart_header(before)
    return _finish([exception_value(type_, message, frames[::-1])])


def split_dart_error(text: str) -> tuple[str, str]:
    """(type, message) from a Dart error's ``toString()``: ``"FormatException: bad"`` -> (``FormatException``,
    ``bad``), ``"Bad state: x"`` -> (``StateError``, ``Bad state: x``); ``Error`` when no type shows."""
    return _dart_header([line.strip() for line in text[:_MAX_TEXT].splitlines() if line.strip()])


def _dart_header(lines: list[str]) -> tuple[str, str]:
    for i, line in enumerate(lines):
        flutter = _FLUTTER_HEADER_RE.match(line)
        if flutter:
            type_ = "AssertionError" if flutter.group(1) == "assertion" else flutter.group(1)
            return type_, lines[i + 1] if i + 1 < len(lines) else ""
    useful = [line for line in lines if not line.startswith(("═", "When the exception"))]
    if not useful:
        return "Error", ""
    first = useful[0].split("Unhandled Exception: ", 1)[-1]
    rest = "\n".join([first, *useful[1:]])
    for prefix, type_ in _DART_CORE_PREFIXES.items():
        if first.startswith(prefix):
            return type_, rest
    m = _DART_HEADER_RE.fullmatch(first)
    if m:
        return m.group(1), "\n".join([m.group(2), *useful[1:]]).strip()
    return "Error", rest


# --- Detection -------------------------------------------------------------------------------------

_PARSERS: dict[str, Callable[[str], list[ExceptionValue]]] = {
    "php": parse_php,
    "java": parse_java,
    "dart": parse_dart,
    "javascript": parse_javascript,
}
_LINE_TESTS: dict[str, Callable[[str], object]] = {
    "php": _php_trace_entry,
    "java": _JAVA_FRAME_RE.match,
    "dart": _dart_frame_line,
    "javascript": _js_frame_line,
}
PLATFORM_ALIASES = {
    "php": "php", "laravel": "php", "symfony": "php",
    "java": "java", "kotlin": "java", "jvm": "java", "scala": "java", "groovy": "java", "android": "java",
    "javascript": "javascript", "js": "javascript", "node": "javascript", "nodejs": "javascript",
    "typescript": "javascript", "browser": "javascript",
    "dart": "dart", "flutter": "dart",
}  # fmt: skip


def detect_platform(text: str) -> str | None:
    """The language whose frame syntax most lines of ``text`` match (``php``/``java``/``dart``/``javascript``)."""
    if not isinstance(text, str):
        return None
    scores = dict.fromkeys(_PARSERS, 0)
    for line in _lines(text)[:2000]:
        stripped = line.strip()
        for platform, test in _LINE_TESTS.items():
            if test(stripped):
                scores[platform] += 1
                break  # the tests run most specific first, so the first match decides the line
    best = max(scores, key=lambda p: scores[p])
    return best if scores[best] else None


def parse_stacktrace(text: str, platform: str | None = None) -> list[ExceptionValue]:
    """Exception values from a text stack trace of any supported language; ``[]`` if none is found.

    ``platform`` (``php``, ``java``, ``javascript``, ``dart`` or an alias such as ``kotlin``, ``node``,
    ``flutter``) picks the parser; without it, or when that parser finds nothing, the language is detected.
    """
    if not isinstance(text, str) or not text.strip():
        return []
    tried = set()
    preferred = PLATFORM_ALIASES.get((platform or "").lower())
    for candidate in (preferred, detect_platform(text)):
        if candidate is None or candidate in tried:
            continue
        tried.add(candidate)
        values = _PARSERS[candidate](text)
        if values:
            return values
    return []
