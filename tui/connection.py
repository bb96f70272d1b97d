"""How errlog-tui reaches a server: one given by the user, or a local one it starts (and fills, for the demo)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from tui.local import LocalInfo, LocalStack

if TYPE_CHECKING:
    from tui.demo_stack import DemoStack

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
        """Work that starts once the first screen is up and goes on while the console runs (the local worker, the
        demo's trickle of events); returns when there is none left."""

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
    _demo: DemoStack | None = None

    async def connect(self, progress: Progress) -> Link:
        if self.demo:
            from tui.demo_stack import start_demo

            self._demo = await start_demo(self.stack, progress)
            return Link(self._demo.info.server, self._demo.info.token, "demo", self._demo.info)
        progress(f"Starting the local collector in {self.stack.data_dir} ...")
        info = await self.stack.start(worker=False)  # background() starts it: its start would slow the first screen
        return Link(info.server, info.token, "local", info)

    async def background(self) -> None:
        if self._demo is not None:
            await self._demo.feed()
        else:
            self.stack.start_worker()

    def close(self) -> None:
        if self._demo is not None:
            self._demo.sink.close()
            self._demo = None
        self.stack.stop()
