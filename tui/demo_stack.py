"""The demo's local stack, started and filled: what `errlog-tui --demo` and `errlog demo` both run."""

from __future__ import annotations

from dataclasses import dataclass

from tui.demo import DemoProject, Progress, Sink, demo_environment, feed, fill
from tui.local import LocalInfo, LocalStack


@dataclass
class DemoStack:
    """A running demo: the collector's address and admin token, its projects, and the stand-in ntfy server."""

    stack: LocalStack
    info: LocalInfo
    projects: dict[str, DemoProject]
    sink: Sink

    async def feed(self) -> None:
        """A new occurrence of some demo error every few seconds, until cancelled."""
        await feed(self.info.server, self.projects)

    def close(self) -> None:
        self.sink.close()
        self.stack.stop()


async def start_demo(stack: LocalStack, progress: Progress) -> DemoStack:
    """Start `stack` (a demo stack) with the demo's channels and fill its database: fully the first time, with a
    fresh burst of events on later starts. On failure the servers are stopped again."""
    sink = Sink()
    try:
        stack.extra_env.update(demo_environment(await sink.start()))
        progress(f"Starting the local collector in {stack.data_dir} ...")
        info = await stack.start()
        projects = await fill(stack, info, progress)
        info.projects = await stack.projects()
    except BaseException:
        sink.close()
        stack.stop()
        raise
    return DemoStack(stack, info, projects, sink)
