"""Wording shared by the pattern descriptions."""

from __future__ import annotations

MAX_TITLE = 80


def quoted(title: str) -> str:
    """An error's title in quotes, cut to a length a one-line description can carry."""
    title = " ".join(title.split())
    if len(title) > MAX_TITLE:
        title = title[: MAX_TITLE - 1].rstrip() + "…"
    return f"'{title}'"


def plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"
