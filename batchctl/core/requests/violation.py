"""One problem found in a request (``Violation``) and how a ``FILE:LINE:`` report words it."""

from __future__ import annotations

from dataclasses import dataclass

from batchctl.core.flags import KEYS, Flags
from batchctl.core.requests.ruletable import RULES, worded


@dataclass(frozen=True)
class Violation:
    rule: str
    field: str  # the field's path inside params, as the API names it: "messages.1.content.0.type"
    message: str  # as the API words it, after "FIELD: "
    warning: bool = False  # not an error: reported, nothing refused
    fix: str = ""  # what fixes this one, when it says more than the rule's hint
    source: str = ""  # where the fact was read (a model catalogue), when not the rule's source

    def hint(self, flags: Flags = KEYS) -> str:
        """What fixes it, in batchctl's words (the message is the API's), with the options it
        names as ``flags`` names them."""
        if self.warning:
            return ""
        return worded(self.fix or RULES[self.rule].hint, flags)


def describe(violation: Violation, name: str, flags: Flags = KEYS) -> str:
    """One violation as the message of a problem line: field, the API's words, the fix, and
    the rule with its source."""
    hint = violation.hint(flags)
    source = violation.source or RULES[violation.rule].source
    return (f"{name}.{violation.field}: {violation.message}" + (f"; {hint}" if hint else "")
            + f" [{violation.rule}; source: {source}]")
