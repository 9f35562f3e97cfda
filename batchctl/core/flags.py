"""How the caller names the options that core's messages mention.

Core words some messages about an option it was given ("--max-queued 5 is smaller than a part of
7 requests"). It does not know the command line: the caller hands its names in, as ``Flags`` in
the options value it builds (the CLI's one table is ``batchctl.cli.flags.FLAGS``). An option the
caller did not name is shown by its key, which is the keyword a Python caller passed it as
(``max_queued``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Flags:
    """Option key (a core parameter's name) -> how the caller names it (``--max-queued``)."""

    names: Mapping[str, str] = field(default_factory=dict)

    def __getitem__(self, option: str) -> str:
        return self.names.get(option, option)

    def but(self, **names: str) -> Flags:
        """These flags with some options named otherwise (a value read from the environment
        is named by its variable)."""
        return Flags({**self.names, **names})


#: No names given: each option is shown by its key.
KEYS = Flags()


class Flag(str):
    """An option in a command line core suggests (``NextStep.args``), by its key: the caller
    shows it with its own name for it (the CLI: ``batchctl.cli.render.output.command_line``);
    as a plain string it is the key."""

    __slots__ = ()
