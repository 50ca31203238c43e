"""Errors a user can fix: the CLI prints them as one message, without a traceback, and exits with 2."""

from collections.abc import Sequence


class UserError(Exception):
    """An expected mistake (bad input, missing sweep): nothing was started."""


class SpecError(UserError):
    """A sweep file that cannot run; ``problems`` holds one sentence per problem, all found at once."""

    def __init__(self, source: str, problems: Sequence[str]):
        self.source = source
        self.problems = list(problems)
        super().__init__("\n".join(f"{source}: {problem}" for problem in self.problems))
