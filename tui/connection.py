"""How errlog-tui reaches a server: one given by the user, or a local one it starts (and fills, for the demo)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from tui.local import LocalInfo, LocalStack

Progress = Callable[[str], None]


@dataclass(frozen=True)
class Link:
    """A server ready to answer, the token to send, and, in local mode, what services need to reach it."""

    server: str
    token: str
    label: str
    local: LocalInfo | None = None


class Connector(Protocol):
    async def connect(self, progress: Progress) -> Link: ...

    async def background(self) -> None:
        """Work that goes on while the console runs (the demo's trickle of events); returns when there is none."""

    def close(self) -> None: ...


@dataclass
class RemoteConnector:
    server: str
    token: str
    label: str

    async def connect(self, progress: Progress) -> Link:
        return Link(self.server, self.token, self.label)

    async def background(self) -> None:
        return None

    def close(self) -> None:
        pass


@dataclass
class LocalConnector:
    """Starts the collector and worker as subprocesses; with `demo`, fills their separate database first and keeps
    sending an event now and then while the console runs."""

    stack: LocalStack
    demo: bool = False
    _sink: Any = None
    _feed: Any = None

    async def connect(self, progress: Progress) -> Link:
        if self.demo:
            from tui.demo import Sink, demo_environment

            self._sink = Sink()
            self.stack.extra_env.update(demo_environment(await self._sink.start()))
        progress(f"Starting the local collector in {self.stack.data_dir} ...")
        info = await self.stack.start()
        if self.demo:
            from tui.demo import ensure_projects, feed, fill

            await fill(self.stack, info, progress)
            info.projects = await self.stack.projects()
            projects = await ensure_projects(self.stack, progress)
            self._feed = lambda: feed(info.server, projects)
        return Link(info.server, info.token, "demo" if self.demo else "local", info)

    async def background(self) -> None:
        if self._feed is not None:
            await self._feed()

    def close(self) -> None:
        if self._sink is not None:
            self._sink.close()
            self._sink = None
        self.stack.stop()
