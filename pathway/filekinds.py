"""What a file or a document holds, decided here once for every reader (`pathway check`, the
web app, the MDT packet, the audit): by suffix, which files hold referrals; by content, whether
a parsed document is a plain referral or a FHIR resource. Shared by the audit's sizing, which
runs before anything heavy is imported (this module imports only the standard library's enum
and pathlib)."""
from __future__ import annotations

from enum import Enum
from pathlib import PurePath

REFERRAL_SUFFIXES = (".yaml", ".yml", ".json")
JSONL_SUFFIXES = (".jsonl", ".ndjson")
CSV_SUFFIXES = (".csv", ".tsv")
ALL_SUFFIXES = REFERRAL_SUFFIXES + JSONL_SUFFIXES + CSV_SUFFIXES
MANY_SUFFIXES = JSONL_SUFFIXES + CSV_SUFFIXES
"""Files of many referrals, which the audit cuts into batches of records (the others go in batches of files)."""
COMPRESSED_SUFFIXES = {".gz": "gunzip", ".bz2": "bunzip2", ".xz": "unxz", ".zst": "unzstd", ".zip": "unzip"}
"""Compressed files, refused by name with the tool that decompresses them: every reader, row
and columnar, reads plain text."""
SPREADSHEET_SUFFIXES = (".xlsx", ".xlsm", ".xls", ".ods")
"""Workbooks, refused with the way to save them as CSV."""


def hidden(name: str) -> bool:
    """A hidden file or folder (its name starts with "."), which reading a folder leaves out:
    tools' own files, and the `.NAME.part` files outputs are written as."""
    return name.startswith(".")


def read_in_folder(relative: PurePath) -> bool:
    """Whether a file at `relative` inside a folder named as an input is read as referrals
    (an output that would be is refused: it would overwrite an input, or be read as one)."""
    return relative.suffix.lower() in ALL_SUFFIXES and not any(hidden(part) for part in relative.parts)


FHIR_KEY = "resourceType"
"""What marks a FHIR resource: no field id can be it (ids are lower case)."""


class DocumentKind(Enum):
    """What one parsed document (a file, a JSONL line, a request body) is."""

    REFERRAL = "referral"
    """A plain referral: a mapping of field id to value."""
    FHIR = "fhir"
    """A FHIR resource, read as a QuestionnaireResponse to the pathway's Questionnaire (its reader
    refuses any other resource, naming it)."""
    OTHER = "other"
    """Not a mapping: no referral (the referral validation says what it is instead)."""


def document_kind(data: object) -> DocumentKind:
    """Whether a parsed document is a FHIR resource, a plain referral mapping, or neither."""
    if not isinstance(data, dict):
        return DocumentKind.OTHER
    return DocumentKind.FHIR if FHIR_KEY in data else DocumentKind.REFERRAL
