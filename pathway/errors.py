"""The one exception hierarchy of the package.

Bad input is reported as `Problem` values (file, line, column, message); the
exceptions below carry them to the CLI and HTTP boundaries, which turn them
into clean messages and exit codes. Findings about a child are never
exceptions.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong with an input file, located as precisely as known."""

    file: str
    line: int | None
    col: int | None
    message: str
    field: str | None = None

    def __str__(self) -> str:
        where = self.file
        if self.line is not None:
            where += f":{self.line}"
            if self.col is not None:
                where += f":{self.col}"
        return f"{where}: {self.message}"


class PathwayError(Exception):
    """Base of every error this package raises on purpose."""

    exit_code = 1


class ProblemsError(PathwayError):
    """Carries every problem found, so they can all be shown at once."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = sorted(problems, key=_problem_order)
        super().__init__("\n".join(str(p) for p in self.problems))


def _problem_order(p: Problem) -> tuple[str, int, int, str]:
    return (p.file, p.line or 0, p.col or 0, p.message)


class RulesError(ProblemsError):
    """The pathway's rule files are broken: nothing may be evaluated."""

    exit_code = 3


class InputError(ProblemsError):
    """A referral (or other user input) cannot be read or is not valid."""

    exit_code = 2


class OptionError(PathwayError):
    """A setting that can be judged only once the command runs (an address in use,
    `SOURCE_DATE_EPOCH`): bad input, exit 2. Option values are checked by argparse itself."""

    exit_code = 2


class ExportError(PathwayError):
    """The pathway loads, but cannot be written in another system's format (FHIR, REDCap)."""

    exit_code = 3

    def __init__(self, target: str, problems: list[str]) -> None:
        self.target = target
        self.problems = problems
        super().__init__(f"cannot export the pathway as {target}:\n" + "\n".join(f"  {p}" for p in problems))


class BackendUnavailable(PathwayError):
    """An optional evaluation backend is not installed or cannot run here."""

    exit_code = 4


class DurableLimitExceeded(BackendUnavailable):
    """The pathway cannot be run on durable-rules without hitting one of its limits."""


class DurableEngineError(PathwayError):
    """durable-rules did something it must not (both T and F fired, an action failed, ...)."""

    exit_code = 4


class CrossCheckMismatch(PathwayError):
    """Two backends disagreed: no report may be produced."""

    exit_code = 5

    def __init__(self, referral_id: str, differences: list[str]) -> None:
        self.referral_id = referral_id
        self.differences = differences
        super().__init__(
            f"cross-check failed for referral {referral_id}: the backends disagree on "
            + "; ".join(differences)
            + ". No report was produced."
        )
