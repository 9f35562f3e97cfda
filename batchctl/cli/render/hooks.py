"""How hooks are shown (``batchctl.core.workflows.hooks``): what a hook prints goes to stderr as
it printed it (on a terminal through the console, which keeps a wait's live bars below it), so
stdout stays the command's own; each attempt's end is said on stderr; a
failure is a warning, and the command ends with exit 11 (``HookFailedError``) unless it has a
failure of its own to end with."""

from __future__ import annotations

from batchctl.cli.context import AppContext
from batchctl.cli.render import output
from batchctl.core.errors import HookFailedError
from batchctl.core.events import Event
from batchctl.core.plural import counted


class HookView:
    """Shows a command's hook events; ``again`` says when a failed hook runs again."""

    def __init__(self, actx: AppContext, again: str) -> None:
        self.actx = actx
        self.again = again
        self.failures: list[HookFailedError] = []
        self.ran = 0  # attempts made, failed or not

    def show(self, event: Event) -> bool:
        """Show ``event`` if it is a hook's (True), else leave it (False)."""
        from batchctl.core.workflows.hooks import HookOutput, HookRan, HookSkipped

        if isinstance(event, HookOutput):
            if self.actx.stderr_tty:  # through the console: above a wait's live progress bars
                self.actx.err.print(event.line, markup=False, highlight=False, emoji=False,
                                    soft_wrap=True)
                return True
            stream = self.actx.io.stderr
            stream.write(event.line + "\n")  # the user's own command's output, as it wrote it
            stream.flush()
        elif isinstance(event, HookRan):
            self.ran += 1
            if event.error is None:
                output.info(self.actx, f"hook for {event.subject}: done")
            else:
                self.failures.append(event.error)
                output.warn(self.actx, f"{event.error.message}; {self.again}")
        elif isinstance(event, HookSkipped):
            if event.succeeded_before:
                output.info(self.actx, f"hook for {event.subject}: succeeded before, not run again")
        else:
            return False
        return True

    def failure(self) -> HookFailedError | None:
        """What to end with: the first failure (naming how many there were), or None."""
        if not self.failures:
            return None
        first = self.failures[0]
        if len(self.failures) == 1:
            return HookFailedError(first.message, hint=self.again)
        return HookFailedError(f"{counted(len(self.failures), 'hook')} failed; the first: "
                               f"{first.message}", hint=self.again)
