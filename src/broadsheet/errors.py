"""The errors broadsheet reports to its users: located diagnostics and exit codes.

A user's own mistake never becomes a traceback. Every check collects
`Diagnostic`s, prints them as `PATH:LINE:COL: error: FIELD: message`, and the
command exits with the code of the exception that carried them.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable, Sequence

import msgspec

LINE_BREAKS = "[\x00-\x1f\x7f-\x9f\u2028\u2029]"
"""What breaks a line, or is no text at all: C0 and C1 control characters and Unicode's line and paragraph
separators. A diagnostic shows each as an escape, a name may hold none."""

EXIT_OK = 0
EXIT_INPUT = 1
EXIT_USAGE = 2


class Severity(enum.Enum):
    ERROR = "error"
    WARNING = "warning"


class Diagnostic(msgspec.Struct, frozen=True, order=True):
    """One finding about a file, with the place a user should look."""

    path: str
    line: int
    col: int
    field: str
    message: str
    severity: Severity = Severity.ERROR

    def __str__(self) -> str:
        where = self.path
        if self.line:
            where += f":{self.line}"
            if self.col:
                where += f":{self.col}"
        field = f"{self.field}: " if self.field else ""
        line = f"{where + ': ' if where else ''}{self.severity.value}: {field}{self.message}"
        # One diagnostic, one line, whatever a file's text put in a label or message.
        return re.sub(LINE_BREAKS, lambda match: f"\\u{ord(match.group()):04x}", line)

    @property
    def is_error(self) -> bool:
        return self.severity is Severity.ERROR


class BroadsheetError(Exception):
    """Base of every error that is the user's to fix; carries its exit code."""

    exit_code = EXIT_INPUT

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class UsageError(BroadsheetError):
    """The command line itself is wrong (exit 2)."""

    exit_code = EXIT_USAGE


class InvalidInput(BroadsheetError):
    """A file the user wrote is wrong; carries every diagnostic found in it."""

    def __init__(self, diagnostics: Sequence[Diagnostic]) -> None:
        self.diagnostics = tuple(sorted(diagnostics))
        super().__init__("\n".join(str(d) for d in self.diagnostics))


def errors_in(diagnostics: Iterable[Diagnostic]) -> list[Diagnostic]:
    return [d for d in diagnostics if d.is_error]
