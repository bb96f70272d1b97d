"""errlog-tui's first screen as its user waits for it, run by bench/tui.py in a fresh Python process: the app built
the way the `errlog-tui` command builds it (local mode from the environment's ERRLOG_DATA_DIR), run headless until
the queue shows rows. Prints one JSON line of seconds since this process's first line ran, as soon as it can.

    ERRLOG_DATA_DIR=/path python -m bench.tui_command
"""

from __future__ import annotations

import time

STARTED = time.perf_counter()

import asyncio  # noqa: E402  (after the clock starts: their import is part of the wait)
import json  # noqa: E402
import sys  # noqa: E402


async def rows(app: object, built: float) -> None:
    from tui.widgets import QueuePane

    async with app.run_test(size=(80, 24)) as pilot:  # type: ignore[attr-defined]
        while not pilot.app.screen.query(QueuePane) or pilot.app.screen.query_one(QueuePane).table.row_count == 0:
            await pilot.pause(0.005)
        shown = time.perf_counter() - STARTED
        print(json.dumps({"app_built": round(built, 3), "rows": round(shown, 3)}), flush=True)


def main() -> int:
    from tui.cli import build_app
    from tui.config import resolve_config

    app = build_app(resolve_config(), demo=False)
    asyncio.run(rows(app, time.perf_counter() - STARTED))
    return 0


if __name__ == "__main__":
    sys.exit(main())
