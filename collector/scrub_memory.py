"""What a project's scrub rules remember from one event to the next: strings and subtrees that had nothing to scrub."""

from __future__ import annotations

from typing import Any

import orjson

# Strings: up to this long (longer ones rarely recur), this many of each kind. About 2 MB at most.
MAX_TEXT_LENGTH = 256
MAX_TEXTS = 8192
# Subtrees (an SDK's context, a request's headers, a variable's value), remembered by their JSON text: up to this
# long each, this many bytes in all (with each key's own overhead).
MAX_TREE_BYTES = 2048
MAX_TREES_BYTES = 1 << 20
_TREE_OVERHEAD = 128  # bytes of a key besides its text: the tuple, the bytes object's header, the set's slot
# A key whose values were not found in memory this many times in a row holds something new every time (a trace,
# a list of breadcrumbs): its values are walked without spending a key on them.
MISSES_BEFORE_GIVING_UP = 32
MAX_NAMES = 4096

# Only JSON's own types get a key: a datetime, a dataclass or a subclass (a str enum) makes the encoding fail, so a
# subtree holding one is walked every time. Non-string dict keys fail too.
TreeKey = tuple[int, bytes]  # (depth, JSON text)
_KEY_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS | orjson.OPT_PASSTHROUGH_SUBCLASS


class CleanMemory:
    """Only what came through the scrubber unchanged goes in, so it never holds a secret. Each part is bounded
    and emptied at once when full: what recurs is learnt again from the next event."""

    __slots__ = ("code_lines", "misses", "texts", "tree_bytes", "trees")

    def __init__(self) -> None:
        self.texts: set[str] = set()
        self.code_lines: set[str] = set()  # source lines: scrubbed with fewer rules than texts, so kept apart
        self.trees: set[TreeKey] = set()
        self.tree_bytes = 0
        self.misses: dict[str, int] = {}

    def remember_text(self, text: str, code: bool) -> None:
        if len(text) > MAX_TEXT_LENGTH:
            return
        texts = self.code_lines if code else self.texts
        if len(texts) >= MAX_TEXTS:
            texts.clear()
        texts.add(text)

    def tree_key(self, value: Any, depth: int) -> TreeKey | None:
        """The key of a dict or list found at `depth`, or None if it cannot be remembered."""
        try:
            text = orjson.dumps(value, option=_KEY_OPTIONS)
        except TypeError:  # orjson.JSONEncodeError, and integers past 64 bits
            return None
        if len(text) > MAX_TREE_BYTES:
            return None
        # The depth is part of the key: deeper down, the same subtree may cross MAX_DEPTH.
        return depth, text

    def remember_tree(self, key: TreeKey) -> None:
        size = len(key[1]) + _TREE_OVERHEAD
        if self.tree_bytes + size > MAX_TREES_BYTES:
            self.trees.clear()
            self.tree_bytes = 0
        self.trees.add(key)
        self.tree_bytes += size

    def worth_looking_up(self, name: str) -> bool:
        return self.misses.get(name, 0) < MISSES_BEFORE_GIVING_UP

    def found(self, name: str) -> None:
        if self.misses.get(name):
            self.misses[name] = 0

    def missed(self, name: str) -> None:
        misses = self.misses
        if len(misses) >= MAX_NAMES:
            misses.clear()
        misses[name] = misses.get(name, 0) + 1
