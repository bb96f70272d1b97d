"""Reading the docs' examples: code blocks marked `<!-- check: NAME -->`, and the placeholders the tests substitute.

A checked example is the fenced code block right after a `<!-- check: NAME -->` line. The tests take its text byte
for byte and replace only these documented placeholders (docs/integrations.md, "Before you start"):

- `https://<public_key>@errlog.example.com/<project_id>`: the DSN of a project on the live test collector;
- `https://errlog.example.com`: the live collector's base URL;
- the `ERRLOG_WEBHOOK_TOKEN` and `ERRLOG_API_TOKEN` environment variables: set to real tokens when a snippet runs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"

DSN_PLACEHOLDER = "https://<public_key>@errlog.example.com/<project_id>"
URL_PLACEHOLDER = "https://errlog.example.com"

_CHECKED = re.compile(r"^<!-- check: ([\w.-]+) -->\n(`{3,})([^\n]*)\n(.*?)\n\2$", re.M | re.S)
_FENCE = re.compile(r"^(`{3,})([^\n]*)\n(.*?)\n\1$", re.M | re.S)


@dataclass(frozen=True)
class Block:
    name: str
    info: str  # the fence's info string: the language
    text: str
    path: Path
    line: int

    def substituted(self, *, dsn: str | None = None, base_url: str | None = None) -> str:
        """The block with its placeholders replaced (the DSN first: it contains the URL placeholder's host)."""
        text = self.text
        if dsn is not None:
            text = text.replace(DSN_PLACEHOLDER, dsn)
        if base_url is not None:
            text = text.replace(URL_PLACEHOLDER, base_url.rstrip("/"))
        return text


@cache
def checked_blocks(name: str) -> dict[str, Block]:
    """The checked blocks of docs/`name`, by their names; a name used twice is an error."""
    path = DOCS / name
    source = path.read_text()
    found: dict[str, Block] = {}
    for match in _CHECKED.finditer(source):
        block_name = match.group(1)
        if block_name in found:
            raise ValueError(f"{path}: the check name {block_name!r} is used twice")
        line = source.count("\n", 0, match.start()) + 1
        found[block_name] = Block(block_name, match.group(3).strip(), match.group(4), path, line)
    return found


def block(doc: str, name: str) -> Block:
    blocks = checked_blocks(doc)
    if name not in blocks:
        raise KeyError(f"docs/{doc} has no block marked <!-- check: {name} -->")
    return blocks[name]


def fenced_blocks(path: Path) -> list[tuple[str, str, int]]:
    """Every fenced block of a Markdown file: (info string, text, line of the opening fence)."""
    source = path.read_text()
    return [
        (match.group(2).strip(), match.group(3), source.count("\n", 0, match.start()) + 1)
        for match in _FENCE.finditer(source)
    ]


def section(doc: str, heading: str) -> str:
    """The text of a `## heading` section of docs/`doc`, up to the next heading of the same level."""
    source = (DOCS / doc).read_text()
    match = re.search(rf"^## {re.escape(heading)}\n(.*?)(?=^## |\Z)", source, re.M | re.S)
    if match is None:
        raise KeyError(f"docs/{doc} has no section '## {heading}'")
    return match.group(1)


def checked_table(doc: str, name: str) -> list[list[str]]:
    """The data rows (cells, stripped) of the Markdown table right after `<!-- check: NAME -->` in docs/`doc`."""
    source = (DOCS / doc).read_text()
    match = re.search(rf"^<!-- check: {re.escape(name)} -->\n((?:\|.*\n)+)", source, re.M)
    if match is None:
        raise KeyError(f"docs/{doc} has no table marked <!-- check: {name} -->")
    rows = [line.strip().strip("|").split(" | ") for line in match.group(1).splitlines()]
    return [[cell.strip() for cell in row] for row in rows[2:]]  # without the header and the |---| line


def code_spans(cell: str) -> list[str]:
    """The inline code spans of a table cell, single or double backticked."""
    return [match.group(2).strip() for match in re.finditer(r"(`+)(.+?)\1", cell)]


def checked_names(doc: str) -> set[str]:
    """Every `<!-- check: NAME -->` marker of docs/`doc`, whether a code block or a table follows it."""
    return set(re.findall(r"^<!-- check: ([\w.-]+) -->$", (DOCS / doc).read_text(), re.M))
