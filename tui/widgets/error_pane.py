"""The triage actions on errors, shared by the panes that show errors (queue and detail)."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any

from textual.binding import Binding, BindingType

from tui.messages import ErrorsChanged, ErrorsTouched
from tui.models import ErrorSummary
from tui.widgets.pane import Pane

# The dialogs are imported where they open: tui.screens imports the console, which imports these panes.

VERBS = {
    "resolve": "Resolve",
    "reopen": "Reopen",
    "acknowledge": "Acknowledge",
    "assign": "Assign",
    "ignore": "Ignore",
    "escalate": "Escalate",
    "comment": "Comment on",
}
DONE = {
    "resolve": "Resolved",
    "reopen": "Reopened",
    "acknowledge": "Acknowledged",
    "assign": "Assigned",
    "ignore": "Ignored",
    "escalate": "Escalated",
    "comment": "Commented on",
}
# Bulk actions that are hard to undo or page people ask first; acknowledging and commenting do not.
CONFIRM_BULK = ("resolve", "reopen", "assign", "ignore", "escalate")


ACTION_BINDINGS: list[BindingType] = [
    Binding("K", "acknowledge", "Ack", id="acknowledge", tooltip="Acknowledge: you are on it"),
    Binding("a", "assign", "Assign", id="assign", tooltip="Assign to a developer (on-call first, with workload)"),
    Binding("r", "resolve", "Resolve", id="resolve"),
    Binding("e", "escalate", "Escalate", id="escalate", tooltip="Escalate to the next on-call level, with a reason"),
    Binding("i", "ignore", "Ignore", id="ignore", tooltip="Ignore (snooze) for a while, N events or users"),
    Binding("A", "auto_assign", "Auto-assign", id="auto_assign", tooltip="Assign to the least loaded on-call"),
    Binding("R", "reopen", "Reopen", id="reopen"),
    Binding("c", "comment", "Comment", id="comment"),
    Binding("y", "copy_id", "Copy id", id="copy_id", tooltip="Copy the error id to the clipboard"),
]


class ErrorPane(Pane):
    """A pane whose current error(s) the action keys apply to. Subclasses say which errors are targeted, and put
    ACTION_BINDINGS among their own bindings (so the footer shows the most used keys first)."""

    def targets(self) -> list[ErrorSummary]:
        """The errors an action applies to now: the selection, else the one under the cursor."""
        raise NotImplementedError

    def _targets(self) -> list[ErrorSummary]:
        targets = self.targets()
        if not targets:
            self.notify("No error here to act on", severity="warning", timeout=3)
        return targets

    # ---- the actions ----

    def action_resolve(self) -> None:
        self.start("resolve")

    def action_reopen(self) -> None:
        self.start("reopen")

    def action_acknowledge(self) -> None:
        self.start("acknowledge")

    def action_auto_assign(self) -> None:
        self.start("assign", auto=True)

    def action_assign(self) -> None:
        targets = self._targets()
        if targets:
            self.run_worker(
                self._pick_assignee(targets), group="action", description="Load developers", exit_on_error=False
            )

    async def _pick_assignee(self, targets: list[ErrorSummary]) -> None:
        from tui.screens.assign_picker import AssignPicker

        workload = await self.client.workload()
        if not workload:
            self.notify("No developers yet: add some with `errlog developer add`", severity="warning")
            return

        def chosen(developer_id: int | None) -> None:
            if developer_id is not None:
                self.start("assign", targets=targets, confirmed=True, developer_id=developer_id)

        self.app.push_screen(AssignPicker(workload, count=len(targets)), chosen)

    def action_ignore(self) -> None:
        from tui.screens.ignore_dialog import IgnoreDialog

        targets = self._targets()
        if targets:
            self.app.push_screen(
                IgnoreDialog(len(targets)),
                lambda body: None if body is None else self.start("ignore", targets=targets, confirmed=True, **body),
            )

    def action_escalate(self) -> None:
        from tui.screens.text_prompt import TextPrompt

        targets = self._targets()
        if targets:
            self.app.push_screen(
                TextPrompt("Escalate to the next on-call level. Why?", placeholder="reason", max_length=500),
                lambda reason: (
                    None if reason is None else self.start("escalate", targets=targets, confirmed=True, reason=reason)
                ),
            )

    def action_comment(self) -> None:
        from tui.screens.text_prompt import TextPrompt

        targets = self._targets()
        if targets:
            self.app.push_screen(
                TextPrompt("Comment", placeholder="what you found, what you did"),
                lambda body: None if body is None else self.start("comment", targets=targets, body=body),
            )

    def action_copy_id(self) -> None:
        targets = self._targets()
        if targets:
            text = ",".join(str(t.id) for t in targets)
            self.app.copy_to_clipboard(text)
            self.notify(f"Copied {'error id' if len(targets) == 1 else 'error ids'} {text}", timeout=3)

    # ---- running them ----

    def start(
        self, action: str, *, targets: list[ErrorSummary] | None = None, confirmed: bool = False, **body: Any
    ) -> None:
        """Run `action` on the targets, asking first for a bulk action that is hard to undo."""
        targets = targets if targets is not None else self._targets()
        if not targets:
            return
        if len(targets) > 1 and action in CONFIRM_BULK and not confirmed:
            from tui.screens.confirm import ConfirmScreen

            question = f"{VERBS[action]} {len(targets)} errors?"
            self.app.push_screen(
                ConfirmScreen(question, yes=VERBS[action]),
                lambda ok: self._run(action, targets, body) if ok else None,
            )
            return
        self._run(action, targets, body)

    def _run(self, action: str, targets: list[ErrorSummary], body: dict[str, Any]) -> None:
        ids = [t.id for t in targets]
        label = f"{VERBS[action]} #{ids[0]}" if len(ids) == 1 else f"{VERBS[action]} {len(ids)} errors"
        work: Awaitable[None] = self._perform(action, ids, body)
        # Not exclusive: a second action must not cancel a first one already sent.
        self.run_worker(work, group="action", description=label, exit_on_error=False)

    async def _perform(self, action: str, ids: list[int], body: dict[str, Any]) -> None:
        if len(ids) == 1:
            updated = await self.client.act(ids[0], action, **body)
            self.post_message(ErrorsChanged([updated]))
            self.notify(confirmation(action, updated, body), timeout=3)
            return
        outcome = await self.client.bulk(action, ids, **body)
        self.post_message(ErrorsTouched(ids))
        message = f"{DONE[action]} {outcome.succeeded} of {outcome.matched} errors"
        failures = [r for r in outcome.results if not r.ok]
        if failures:
            message += f"; #{failures[0].id}: {failures[0].error}"
        self.notify(message, severity="warning" if failures else "information", timeout=5 if failures else 3)


def confirmation(action: str, error: ErrorSummary, body: dict[str, Any]) -> str:
    """The brief line confirming what the server now holds."""
    what = f"#{error.id}"
    if action == "assign":
        who = error.assignee.name if error.assignee else "nobody"
        return f"Assigned {what} to {who}" + (" (on call, least loaded)" if body.get("auto") else "")
    if action == "escalate":
        who = f" ({error.assignee.name})" if error.assignee else ""
        return f"Escalated {what} to level {error.escalation_level}{who}"
    if action == "ignore":
        from tui.screens.ignore_dialog import describe_ignore

        return f"Ignored {what} {describe_ignore(body)}"
    if action == "comment":
        return f"Comment added to {what}"
    return f"{DONE[action]} {what}"
