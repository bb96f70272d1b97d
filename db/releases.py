"""Comparing release names the way people write them (1.4.2, v2.0.0-rc1, shop@3.1, build numbers)."""

from __future__ import annotations

import re

_NUMBERS = re.compile(r"\d+")


def release_key(release: str) -> tuple[int, ...] | None:
    """A sortable key for versions like `shop@1.4.2` or `v2.10`; None when the name has no number to go by
    (a git sha, say), in which case releases cannot be ordered."""
    version = release.rsplit("@", 1)[-1]
    version = version.split("+", 1)[0]  # build metadata does not order
    if re.fullmatch(r"[0-9a-f]{7,40}", version):
        return None
    numbers = _NUMBERS.findall(version.split("-", 1)[0])
    return tuple(int(n) for n in numbers) if numbers else None


def is_older(release: str, than: str) -> bool:
    """True only when both can be ordered and `release` is strictly older than `than`."""
    a, b = release_key(release), release_key(than)
    return a is not None and b is not None and a < b
