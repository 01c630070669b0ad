"""The one path from a referral to a report, shared by the CLI and the web app.

Reading files is here (thin I/O around the pure engine); evaluation and
report building are pure functions of the pathway, the answers and a clock.
"""
from __future__ import annotations

import datetime as dt
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from .backends import get_evaluator
from .definition import Pathway
from .engine import Findings, cross_check, evaluate
from .errors import Code, InputError, OptionError, OtherCommandsFile, Problem
from .filekinds import CSV_SUFFIXES, JSONL_SUFFIXES
from .inputs import referral_document
from .referral import Values, validate
from .report import Report, build_report
from .yamlsrc import Located, LoadFailure, load_text


MANY_KINDS = {**{suffix: "CSV" for suffix in CSV_SUFFIXES}, **{suffix: "JSON Lines" for suffix in JSONL_SUFFIXES}}
"""The files of many referrals, by suffix, and what each is called."""


def now(env: Mapping[str, str] | None = None) -> dt.datetime:
    """The report clock: `SOURCE_DATE_EPOCH` when set (reproducible builds), else the real time."""
    env = os.environ if env is None else env
    epoch = env.get("SOURCE_DATE_EPOCH")
    if epoch:
        try:
            return dt.datetime.fromtimestamp(int(epoch), tz=dt.timezone.utc)
        except (ValueError, OverflowError, OSError):
            raise OptionError(f"SOURCE_DATE_EPOCH must be a whole number of seconds, not {epoch!r}") from None
    return dt.datetime.now(tz=dt.timezone.utc)


def read_document(path: str | Path, encoding: str | None = None) -> Located:
    """Read one referral file (YAML or JSON: UTF-8 with or without a BOM, UTF-16 with a BOM, or in
    `encoding`) with positions; `-` is standard input. A file of many referrals (CSV, JSONL) is
    refused, naming the commands that read it."""
    import shlex
    import sys

    from .csvlayout import Reading, encoding_of, not_decodable

    name = str(path)
    kind = MANY_KINDS.get(Path(name).suffix.lower())
    if kind is not None and name != "-":
        raise OtherCommandsFile(f"{name} is a {kind} file of many referrals, and `pathway check` reads one (a .yaml, "
                                f".yml or .json file): use `pathway audit {shlex.quote(name)}` or "
                                f"`pathway mdt {shlex.quote(name)}`")
    try:
        raw = sys.stdin.buffer.read() if name == "-" else Path(path).read_bytes()
    except FileNotFoundError:
        raise InputError([Problem(name, None, None, "file not found", code=Code.FILE_NOT_FOUND)]) from None
    except IsADirectoryError:
        raise InputError([Problem(name, None, None, "is a folder, not a referral file",
                                  code=Code.IS_A_FOLDER)]) from None
    except OSError as exc:
        raise InputError([Problem(name, None, None, f"cannot read: {exc.strerror}", code=Code.CANNOT_READ)]) from None
    codec = encoding_of(raw, Reading(encoding))
    try:
        text = raw.decode(codec).removeprefix("\ufeff")
    except UnicodeDecodeError as exc:
        bom = 3 if codec == "utf-8-sig" and raw.startswith(b"\xef\xbb\xbf") else 0
        raise InputError([not_decodable(name, raw, codec, exc.start + bom, csv_file=False)]) from None
    try:
        return load_text(text, "<stdin>" if name == "-" else name)
    except LoadFailure as exc:
        raise InputError([exc.problem]) from None


def referral_values(pathway: Pathway, doc: Located, data: Any = None, prefix: tuple[str | int, ...] = ()) -> Values:
    """Validated answers of one referral, or `InputError` with every problem located.

    What the document is (a plain referral, or a FHIR QuestionnaireResponse whose
    answers are the referral) is for the reading layer to say: `inputs.referral_document`.
    """
    raw, doc, prefix = referral_document(pathway, doc, doc.data if data is None else data, prefix)
    values, problems = validate(raw, tuple(pathway.fields.values()), doc, prefix)
    if values is None:
        raise InputError(problems)
    return values


def validate_referral(
    pathway: Pathway, doc: Located, data: Any = None, prefix: tuple[str | int, ...] = (),
) -> tuple[Values | None, list[Problem]]:
    """`referral_values` without raising: for batch readers that count and list rejections."""
    try:
        return referral_values(pathway, doc, data, prefix), []
    except InputError as exc:
        return None, exc.problems


def find(pathway: Pathway, values: Mapping[str, Any], engine: str = "python", cross: bool = False) -> Findings:
    """Evaluate with the chosen backend, or with every backend when cross-checking."""
    if cross:
        evaluators = [get_evaluator("python", pathway), get_evaluator("durable", pathway)]
        if engine != "python":
            evaluators.reverse()
        return cross_check(pathway, values, evaluators)
    return evaluate(pathway, values, get_evaluator(engine, pathway))


def check(
    pathway: Pathway, values: Mapping[str, Any], *, at: dt.datetime, engine: str = "python", cross: bool = False,
) -> Report:
    """Answers in, report out."""
    return build_report(pathway, find(pathway, values, engine, cross), at)


def backends_for(engine: str, cross: bool) -> Sequence[str]:
    return ("python", "durable") if cross else (engine,)
