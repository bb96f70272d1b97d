"""Messages to one person that are not about an error (their on-call shift starts): kept on the notification like
an alert's message, told apart by `kind`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

NOTICE_KIND = "notice"


@dataclass(frozen=True)
class Notice:
    title: str
    body: str

    def to_payload(self) -> dict[str, Any]:
        return {"kind": NOTICE_KIND, "title": self.title, "body": self.body}

    @classmethod
    def from_payload(cls, data: Mapping[str, Any]) -> Notice:
        return cls(title=str(data["title"]), body=str(data["body"]))


def is_notice(payload: Mapping[str, Any]) -> bool:
    return payload.get("kind") == NOTICE_KIND
