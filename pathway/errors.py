"""The one exception hierarchy of the package.

Bad input is reported as `Problem` values (file, line, column, message, and a
stable `Code` saying what kind of problem it is); the exceptions below carry
them to the CLI and HTTP boundaries, which turn them into clean messages and
exit codes. Findings about a child are never exceptions.
"""
from __future__ import annotations

from dataclasses import dataclass, field as _field
from enum import Enum


class Code(str, Enum):
    """What kind of problem a `Problem` is: stable ids for programs, so that nothing branches on a
    message's wording (yamllint's `LintProblem.rule`). Messages may be reworded; codes stay."""

    # reading and writing files
    FILE_NOT_FOUND = "file-not-found"
    IS_A_FOLDER = "is-a-folder"
    CANNOT_READ = "cannot-read"
    CANNOT_WRITE = "cannot-write"
    NOT_UTF8 = "not-utf8"
    FILE_TOO_LARGE = "file-too-large"
    NOT_A_REFERRAL_FILE = "not-a-referral-file"
    NO_REFERRAL_FILES = "no-referral-files"
    NO_PATHWAY = "no-pathway"
    BROKEN_LINK = "broken-link"
    NOT_A_REGULAR_FILE = "not-a-regular-file"
    COMPRESSED_FILE = "compressed-file"
    EMPTY_INPUT = "empty-input"
    OUTPUT_IS_INPUT = "output-is-input"
    SAME_OUTPUT = "same-output"
    # syntax of YAML, JSON and CSV
    YAML_SYNTAX = "yaml-syntax"
    JSON_SYNTAX = "json-syntax"
    CSV_SYNTAX = "csv-syntax"
    YAML_ALIAS = "yaml-alias"
    YAML_TAG = "yaml-tag"
    TOO_DEEP = "too-deep"
    KEY_NOT_A_NAME = "key-not-a-name"
    DUPLICATE_KEY = "duplicate-key"
    TOO_MANY_CELLS = "too-many-cells"
    TOO_FEW_CELLS = "too-few-cells"
    CUT_OFF = "cut-off"
    DUPLICATE_COLUMN = "duplicate-column"
    CELL_TOO_LARGE = "cell-too-large"
    MISSPELT_COLUMN = "misspelt-column"
    LABELS_EXPORT = "labels-export"
    HEADER_PROBLEM = "header-problem"
    NOT_A_CHECKBOX_VALUE = "not-a-checkbox-value"
    # the shape of a document
    NOT_A_MAPPING = "not-a-mapping"
    NOT_A_LIST = "not-a-list"
    UNKNOWN_KEY = "unknown-key"
    UNEXPECTED_KEY = "unexpected-key"
    MISSING_REQUIRED_KEY = "missing-required-key"
    INVALID_VALUE = "invalid-value"
    # a referral's answers
    UNKNOWN_FIELD = "unknown-field"
    MISSING_REQUIRED_FIELD = "missing-required-field"
    NOT_ALLOWED_VALUE = "not-allowed-value"
    EXCLUSIVE_COMBINED = "exclusive-combined"
    OUT_OF_RANGE = "out-of-range"
    NOT_A_NUMBER = "not-a-number"
    NOT_A_DATE = "not-a-date"
    NOT_TEXT = "not-text"
    TOO_LONG = "too-long"
    NOT_UNICODE = "not-unicode"
    TOO_MANY_PROBLEMS = "too-many-problems"
    # a pathway's rule files
    DUPLICATE_ID = "duplicate-id"
    DUPLICATE_OPTION = "duplicate-option"
    RESERVED_OPTION = "reserved-option"
    NEEDS_OPTIONS = "needs-options"
    TAKES_NO_OPTIONS = "takes-no-options"
    RANGE_ON_NON_NUMBER = "range-on-non-number"
    MIN_ABOVE_MAX = "min-above-max"
    NO_REFERRAL_ID = "no-referral-id"
    UNKNOWN_SECTION = "unknown-section"
    UNKNOWN_ITEM = "unknown-item"
    UNKNOWN_POINT = "unknown-point"
    UNKNOWN_SOURCE = "unknown-source"
    UNKNOWN_PLACEHOLDER = "unknown-placeholder"
    MISSING_STATUS_WORD = "missing-status-word"
    DUPLICATE_STATUS_WORD = "duplicate-status-word"
    WHEN_OR_WHEN_STATUS = "when-or-when-status"
    NO_SEED_MANIFEST = "no-seed-manifest"
    NO_EXAMPLES = "no-examples"
    NOT_VERBATIM = "not-verbatim"
    MISSING_QUOTE = "missing-quote"
    QUOTE_NOT_CHECKABLE = "quote-not-checkable"
    MISSING_REFERENCE = "missing-reference"
    # conditions (holds, applies_when, when, shown_when)
    NOT_A_CONDITION = "not-a-condition"
    OPERATOR_COUNT = "operator-count"
    WRONG_OPERATOR = "wrong-operator"
    # a FHIR QuestionnaireResponse read as a referral
    NOT_A_QUESTIONNAIRE_RESPONSE = "not-a-questionnaire-response"
    ENTERED_IN_ERROR = "entered-in-error"
    WRONG_QUESTIONNAIRE = "wrong-questionnaire"
    BAD_IDENTIFIER = "bad-identifier"
    CONFLICTING_ID = "conflicting-id"
    BAD_ITEM = "bad-item"
    UNKNOWN_LINK_ID = "unknown-link-id"
    UNEXPECTED_ANSWER = "unexpected-answer"
    DUPLICATE_ANSWER = "duplicate-answer"
    TOO_MANY_ANSWERS = "too-many-answers"
    ANSWER_VALUE_COUNT = "answer-value-count"
    WRONG_ANSWER_TYPE = "wrong-answer-type"
    BAD_CODING = "bad-coding"
    WRONG_CODE_SYSTEM = "wrong-code-system"

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong with an input file, located as precisely as known; `code` says what kind
    of thing (required: there is no problem without one)."""

    file: str
    line: int | None
    col: int | None
    message: str
    field: str | None = None
    code: Code = _field(kw_only=True)

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


class OtherCommandsFile(PathwayError):
    """A file another command reads (a CSV or JSONL file of many referrals given to `check`): bad input,
    exit 2, said in one line naming the commands that read it."""

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
