"""Load a pathway folder into a checked `Pathway`, or fail once with every problem.

A pathway folder holds `pathway.yaml`, `form.yaml`, `items.yaml` and
`examples/*.yaml`; its seeds folder holds `manifest.yaml` and the source
documents. Rule files are validated like source code: unknown keys, dangling
field or item references, values a field cannot take, and seed quotes that are
not verbatim are all load errors, reported as `file:line:col: message`.
"""
from __future__ import annotations

import hashlib
import typing
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from . import conditions as C
from .definition import (
    STATUSES,
    CaseSpec,
    Case,
    Citation,
    CitationSpec,
    DiscussionPoint,
    ExamplesSpec,
    FieldSpec,
    FormField,
    FormSection,
    FormSpec,
    Item,
    ItemSpec,
    ItemsSpec,
    Option,
    Pathway,
    PathwaySpec,
    Section,
    Seed,
    SeedManifest,
    SourceSpec,
    StatusWord,
    SummaryWording,
)
from .errors import Code, Problem, RulesError
from .fieldkinds import KINDS, FieldKind
from .referral import as_written, validate as validate_referral
from .suggest import did_you_mean, one_of
from .yamlsrc import Located, LoadFailure, Path_, load_yaml

ID_FIELD = "referral_id"
"""The field every referral is named by, in every report, packet, export and audit."""

M = TypeVar("M", bound=BaseModel)
RULE_FILES = ("pathway.yaml", "form.yaml", "items.yaml")


def rules_sha256(folder: Path) -> str:
    """Hash of the rule files that decide a report (pathway, form, items).

    Example cases are excluded: adding a test case changes no report. Seeds
    need no hash: every quote is checked verbatim against them at load.
    """
    digest = hashlib.sha256()
    for name in RULE_FILES:
        path = folder / name
        digest.update(name.encode() + b"\0")
        digest.update(path.read_bytes() if path.is_file() else b"")
        digest.update(b"\0")
    return digest.hexdigest()


class _Loader:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.problems: list[Problem] = []
        self.field_shapes: dict[str, C.FieldShape] = {}
        self.broken_items: set[str] = set()
        self.broken_sources: set[str] = set()

    # -- reading ------------------------------------------------------------

    def read(self, path: Path) -> Located | None:
        shown = str(path)
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            self.problems.append(Problem(shown, None, None, "file not found", code=Code.FILE_NOT_FOUND))
            return None
        except (OSError, UnicodeDecodeError) as exc:
            self.problems.append(Problem(shown, None, None, f"cannot read file: {exc}", code=Code.CANNOT_READ))
            return None
        try:
            return load_yaml(text, shown, libyaml=True)
        except LoadFailure as exc:
            self.problems.append(exc.problem)
            return None

    def model(self, doc: Located | None, cls: type[M], prefix: Path_ = ()) -> M | None:
        if doc is None:
            return None
        data = doc.data
        for key in prefix:
            data = data[key]
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            for err in exc.errors():
                self.problems.append(_pydantic_problem(doc, cls, prefix, err))
            return None

    def each(self, doc: Located, raw: list[Any], path: Path_, cls: type[M]) -> tuple[list[tuple[int, M]], set[str]]:
        """Validate list elements one by one, so one bad entry hides no other problem.

        Returns the valid entries with their index, and the ids of the invalid ones
        (so references to them are not reported a second time as unknown).
        """
        good: list[tuple[int, M]] = []
        broken: set[str] = set()
        for i in range(len(raw)):
            spec = self.model(doc, cls, path + (i,))
            if spec is not None:
                good.append((i, spec))
            elif isinstance(raw[i], dict) and isinstance(raw[i].get("id"), str):
                broken.add(raw[i]["id"])
        return good, broken

    # -- the whole pathway ---------------------------------------------------

    def load(self, examples: bool = True) -> Pathway:
        docs = {name: self.read(self.folder / name) for name in RULE_FILES}
        spec = self.model(docs["pathway.yaml"], PathwaySpec)
        form_spec = self.model(docs["form.yaml"], FormSpec)
        items_spec = self.model(docs["items.yaml"], ItemsSpec)
        seeds = self.seeds(spec, docs["pathway.yaml"]) if spec else {}
        if spec is None or form_spec is None or items_spec is None:
            raise RulesError(self.problems)
        sections = tuple(Section(s.id, s.title, s.description) for s in spec.sections)
        sources = {s.id: s for s in spec.sources}
        self.unique(docs["pathway.yaml"], [s.id for s in spec.sections], ("sections",), "section")
        clash = set(sources) & set(seeds)
        for sid in sorted(clash):
            self.problems.append(docs["pathway.yaml"].at(  # type: ignore[union-attr]
                ("sources",), f"source id '{sid}' is also a seed id", code=Code.DUPLICATE_ID))
        form = self.form(form_spec, docs["form.yaml"])  # type: ignore[arg-type]
        fields = {f.id: f for s in form for f in s.fields}
        items = self.items(items_spec, docs["items.yaml"], fields, {s.id for s in sections}, seeds, sources)  # type: ignore[arg-type]
        evidence_source = self.evidence(spec, docs["pathway.yaml"], seeds)  # type: ignore[arg-type]
        summary = self.summary(spec, docs["pathway.yaml"])  # type: ignore[arg-type]
        self.profile(spec, docs["pathway.yaml"], fields)  # type: ignore[arg-type]
        if self.problems:
            raise RulesError(self.problems)
        pathway = Pathway(
            id=spec.id,
            title=spec.title,
            short_title=spec.short_title or spec.title,
            version=spec.version,
            checklist=spec.checklist,
            description=spec.description.strip(),
            disclaimer=" ".join(spec.disclaimer.split()),
            rules_sha256=rules_sha256(self.folder),
            sections=sections,
            form=form,
            items=items,
            evidence_source=evidence_source,
            evidence_introduction=" ".join(spec.evidence.introduction.split()),
            evidence=tuple(spec.evidence.quotes),
            explanations={str(k): v for k, v in spec.explanations.items()},
            status_words={str(k): StatusWord(w.label, w.icon) for k, w in spec.status_words.items()},
            summary=summary,
            profile=tuple(spec.profile),
            seeds=tuple(seeds.values()),
            sources=tuple(spec.sources),
            canonical=spec.canonical,
        )
        cases = self.examples(pathway) if examples else ()
        if self.problems:
            raise RulesError(self.problems)
        object.__setattr__(pathway, "cases", cases)
        return pathway

    def summary(self, spec: PathwaySpec, doc: Located) -> SummaryWording:
        """The status words must cover every status; the summary's placeholders must be the ones filled in."""
        for status in STATUSES:
            if status not in spec.status_words:
                self.problems.append(doc.at(("status_words",), f"'status_words': missing the words for '{status}'",
                                            code=Code.MISSING_STATUS_WORD))
        labels = [w.label.casefold() for w in spec.status_words.values()]
        for k, (status, w) in enumerate(spec.status_words.items()):
            if w.label.casefold() in labels[:k]:
                self.problems.append(doc.at(("status_words", status, "label"),
                                            f"'status_words.{status}': the word '{w.label}' is used for two statuses",
                                            code=Code.DUPLICATE_STATUS_WORD))
        s = spec.summary
        wording = SummaryWording(" ".join(s.sentence.split()), (s.points.zero, s.points.one, s.points.other),
                                 " ".join(s.note.split()))
        checks: list[tuple[Path_, str, dict[str, Any]]] = [
            (("summary", "sentence"), s.sentence, {"documented": 1, "applicable": 1, "points": ""}),
            (("summary", "points", "other"), s.points.other, {"count": 2}),
        ]
        for path, text, names in checks:
            try:
                text.format(**names)
            except (KeyError, IndexError, ValueError) as exc:
                known = ", ".join("{" + n + "}" for n in names)
                where = ".".join(map(str, path))
                self.problems.append(doc.at(path, f"'{where}': cannot fill in {exc}; it may use {known}",
                                            code=Code.UNKNOWN_PLACEHOLDER))
        return wording

    def profile(self, spec: PathwaySpec, doc: Located, fields: dict[str, FormField]) -> None:
        for k, name in enumerate(spec.profile):
            if name not in fields and name not in self.field_shapes:
                self.problems.append(doc.at(("profile", k),
                                            f"'profile': unknown field '{name}'{did_you_mean(name, fields)}",
                                            code=Code.UNKNOWN_FIELD))

    def unique(self, doc: Located | None, ids: list[str], path: Path_, what: str) -> None:
        seen: set[str] = set()
        for i, ident in enumerate(ids):
            if ident in seen and doc is not None:
                self.problems.append(doc.at(path + (i, "id"), f"duplicate {what} id '{ident}'", code=Code.DUPLICATE_ID))
            seen.add(ident)

    # -- seeds ---------------------------------------------------------------

    def seeds(self, spec: PathwaySpec, doc: Located | None) -> dict[str, Seed]:
        folder = (self.folder / spec.seeds).resolve()
        if doc is not None and not (folder / "manifest.yaml").is_file():   # located at `seeds:`, not nowhere
            self.problems.append(doc.at(("seeds",), f"'seeds': no seed manifest (manifest.yaml) in {folder}",
                                        code=Code.NO_SEED_MANIFEST))
            return {}
        manifest_doc = self.read(folder / "manifest.yaml")
        manifest = self.model(manifest_doc, SeedManifest)
        if manifest is None or manifest_doc is None:
            return {}
        out: dict[str, Seed] = {}
        for i, s in enumerate(manifest.seeds):
            path = folder / s.file
            try:
                text = path.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                missing = isinstance(exc, FileNotFoundError)
                reason = "file not found" if missing else f"cannot read: {exc}"
                self.problems.append(manifest_doc.at(("seeds", i, "file"), f"seed '{s.id}': {s.file}: {reason}",
                                                     code=Code.FILE_NOT_FOUND if missing else Code.CANNOT_READ))
                self.broken_sources.add(s.id)
                continue
            out[s.id] = Seed(s.id, s.file, s.title, s.what, text)
        return out

    # -- form ----------------------------------------------------------------

    def form(self, spec: FormSpec, doc: Located) -> tuple[FormSection, ...]:
        self.unique(doc, [s.id for s in spec.sections], ("sections",), "form section")
        specs: list[tuple[int, list[tuple[int, FieldSpec]]]] = []
        shapes: dict[str, C.FieldShape] = {}
        seen: set[str] = set()
        for i, s in enumerate(spec.sections):
            good, broken = self.each(doc, s.fields, ("sections", i, "fields"), FieldSpec)
            specs.append((i, good))
            shapes.update({fid: C.FieldShape(None) for fid in broken})
            for j, f in good:
                if f.id in seen:
                    self.problems.append(doc.at(("sections", i, "fields", j, "id"), f"duplicate field id '{f.id}'",
                                                code=Code.DUPLICATE_ID))
                seen.add(f.id)
                opts = tuple(o.value for o in f.options or ())
                shapes[f.id] = C.FieldShape(f.type, KINDS[f.type].codes or opts)
        self.referral_id(specs, doc, set(shapes) - seen)
        self.field_shapes = shapes
        parser = C.Parser(doc, shapes)
        sections = []
        for (i, good), s in zip(specs, spec.sections):
            fields = [self.field(f, s.id, ("sections", i, "fields", j), doc, parser) for j, f in good]
            sections.append(FormSection(s.id, s.title, s.description, tuple(fields)))
        self.problems.extend(parser.problems)
        return tuple(sections)

    def referral_id(self, specs: list[tuple[int, list[tuple[int, FieldSpec]]]], doc: Located,
                    broken: set[str]) -> None:
        """Every report, packet, export and audit names a referral by its `referral_id`: the form
        must have it, as required text (a field whose definition is broken is reported already)."""
        if ID_FIELD in broken:
            return
        found = [(i, j, f) for i, good in specs for j, f in good if f.id == ID_FIELD]
        if not found:
            self.problems.append(doc.at(("sections",), f"the form has no field '{ID_FIELD}': every report, packet"
                                        f" and audit names a referral by it; add {{id: {ID_FIELD}, type: text,"
                                        " required: true}", code=Code.NO_REFERRAL_ID))
        elif found[0][2].type is not FieldKind.TEXT or not found[0][2].required:
            i, j, _ = found[0]
            self.problems.append(doc.at(("sections", i, "fields", j, "id"), f"field '{ID_FIELD}' must be text and"
                                        " required (type: text, required: true): every report, packet and audit"
                                        " names a referral by it", code=Code.NO_REFERRAL_ID))

    def field(self, f: FieldSpec, section: str, at: Path_, doc: Located, parser: C.Parser) -> FormField:
        kind = KINDS[f.type]
        if kind.listed and not f.options:
            self.problems.append(doc.at(at + ("type",), f"field '{f.id}': a {f.type} field needs options",
                                        code=Code.NEEDS_OPTIONS))
        if not kind.listed and f.options:
            self.problems.append(doc.at(at + ("options",), f"field '{f.id}': a {f.type} field takes no options",
                                        code=Code.TAKES_NO_OPTIONS))
        if not kind.ranged and (f.min is not None or f.max is not None):
            self.problems.append(doc.at(at + ("type",), f"field '{f.id}': min and max apply to number fields only",
                                        code=Code.RANGE_ON_NON_NUMBER))
        if kind.ranged and f.min is not None and f.max is not None and f.min > f.max:
            self.problems.append(doc.at(at + ("min",), f"field '{f.id}': min is greater than max",
                                        code=Code.MIN_ABOVE_MAX))
        values = [o.value for o in f.options or ()]
        for k, v in enumerate(values):
            if v in values[:k]:
                self.problems.append(doc.at(at + ("options", k, "value"), f"field '{f.id}': duplicate option '{v}'",
                                            code=Code.DUPLICATE_OPTION))
            if v.lower() == "unknown":
                self.problems.append(doc.at(at + ("options", k, "value"),
                                            f"field '{f.id}': 'unknown' is built in and cannot be an option",
                                            code=Code.RESERVED_OPTION))
        shown = parser.parse(f.shown_when, at + ("shown_when",)) if f.shown_when is not None else None
        if shown is not None and C.reads_absence(shown):
            self.problems.append(doc.at(at + ("shown_when",), f"field '{f.id}': 'answered: false' belongs in a"
                                        " discussion point's 'when' only", code=Code.WRONG_OPERATOR))
        return FormField(
            id=f.id, type=f.type, label=f.label, section=section, help=f.help, required=f.required,
            options=tuple(Option(o.value, o.label, o.exclusive) for o in f.options or ()),
            min=f.min, max=f.max, unit=f.unit, max_length=f.max_length, shown_when=shown, source=f.source,
        )

    # -- items ---------------------------------------------------------------

    def items(
        self, spec: ItemsSpec, doc: Located, fields: dict[str, FormField], section_ids: set[str],
        seeds: dict[str, Seed], sources: dict[str, SourceSpec],
    ) -> tuple[Item, ...]:
        parser = C.Parser(doc, self.field_shapes)
        good, self.broken_items = self.each(doc, spec.items, ("items",), ItemSpec)
        seen: set[str] = set()
        point_ids: set[str] = set()
        out = []
        for i, it in good:
            at: Path_ = ("items", i)
            if it.id in seen:
                self.problems.append(doc.at(at + ("id",), f"duplicate item id '{it.id}'", code=Code.DUPLICATE_ID))
            seen.add(it.id)
            if it.section not in section_ids:
                self.problems.append(doc.at(at + ("section",),
                                            f"item '{it.id}': unknown section '{it.section}'"
                                            f"{did_you_mean(it.section, section_ids)}", code=Code.UNKNOWN_SECTION))
            holds = parser.parse(it.holds, at + ("holds",))
            applies = parser.parse(it.applies_when, at + ("applies_when",)) if it.applies_when is not None else None
            for key, cond in (("holds", holds), ("applies_when", applies)):
                if cond is not None and C.reads_absence(cond):
                    self.problems.append(doc.at(at + (key,), f"item '{it.id}': 'answered: false' belongs in a"
                                                f" discussion point's 'when'; a status never reads a missing answer"
                                                f" as anything but unknown", code=Code.WRONG_OPERATOR))
            citations = self.citations(it.citations, doc, at + ("citations",), seeds, sources)
            points = []
            for k, d in enumerate(it.discussion):
                dat = at + ("discussion", k)
                if d.id in point_ids:
                    self.problems.append(doc.at(dat + ("id",), f"duplicate discussion point id '{d.id}'",
                                                code=Code.DUPLICATE_ID))
                point_ids.add(d.id)
                if (d.when is None) == (d.when_status is None):
                    self.problems.append(doc.at(dat, f"discussion point '{d.id}' needs exactly one of 'when' or"
                                                " 'when_status'", code=Code.WHEN_OR_WHEN_STATUS))
                when = parser.parse(d.when, dat + ("when",)) if d.when is not None else None
                points.append(DiscussionPoint(
                    d.id, " ".join(d.text.split()), when, tuple(d.when_status or ()),
                    self.citations(d.citations, doc, dat + ("citations",), seeds, sources),
                ))
            for k, name in enumerate(it.shows):
                if name not in fields and name not in self.field_shapes:
                    self.problems.append(doc.at(at + ("shows", k),
                                                f"item '{it.id}': unknown field '{name}'{did_you_mean(name, fields)}",
                                                code=Code.UNKNOWN_FIELD))
            if holds is not None:
                out.append(Item(it.id, it.section, it.title, holds, applies, {str(k): v for k, v in it.explain.items()},
                                citations, tuple(points), it.source, tuple(it.shows)))
        self.problems.extend(parser.problems)
        return tuple(out)

    def citations(
        self, specs: list[CitationSpec], doc: Located, at: Path_, seeds: dict[str, Seed],
        sources: dict[str, SourceSpec],
    ) -> tuple[Citation, ...]:
        out = []
        for k, c in enumerate(specs):
            cat = at + (k,)
            if c.source in seeds:
                seed = seeds[c.source]
                if not c.quote:
                    self.problems.append(doc.at(cat, f"a citation of seed '{c.source}' needs a verbatim 'quote'",
                                                code=Code.MISSING_QUOTE))
                    continue
                if c.quote not in seed.text:
                    self.problems.append(doc.at(cat + ("quote",), _not_verbatim(c.quote, seed), code=Code.NOT_VERBATIM))
                    continue
                out.append(Citation(c.source, seed.title, quote=c.quote, reference=c.reference))
            elif c.source in sources:
                if c.quote:
                    self.problems.append(doc.at(cat + ("quote",),
                                                f"source '{c.source}' is not a bundled seed, so a quote cannot be"
                                                " checked; cite it by 'reference' (section) instead",
                                                code=Code.QUOTE_NOT_CHECKABLE))
                    continue
                if not c.reference:
                    self.problems.append(doc.at(cat, f"a citation of '{c.source}' needs a 'reference'"
                                                " (e.g. a section number)", code=Code.MISSING_REFERENCE))
                    continue
                out.append(Citation(c.source, sources[c.source].title, reference=c.reference))
            elif c.source not in self.broken_sources:
                known = list(seeds) + list(sources)
                self.problems.append(doc.at(cat + ("source",),
                                            f"unknown source '{c.source}'{did_you_mean(c.source, known)};"
                                            f" known: {one_of(known)}", code=Code.UNKNOWN_SOURCE))
        return tuple(out)

    def evidence(self, spec: PathwaySpec, doc: Located, seeds: dict[str, Seed]) -> Citation:
        ev = spec.evidence
        seed = seeds.get(ev.source)
        if seed is None and ev.source in self.broken_sources:
            return Citation(ev.source, ev.source)
        if seed is None:
            self.problems.append(doc.at(("evidence", "source"),
                                        f"the evidence summary must quote a seed; unknown seed '{ev.source}'"
                                        f"{did_you_mean(ev.source, seeds)}", code=Code.UNKNOWN_SOURCE))
            return Citation(ev.source, ev.source)
        for k, quote in enumerate(ev.quotes):
            if quote not in seed.text:
                self.problems.append(doc.at(("evidence", "quotes", k), _not_verbatim(quote, seed),
                                            code=Code.NOT_VERBATIM))
        return Citation(seed.id, seed.title)

    # -- examples ------------------------------------------------------------

    def examples(self, pathway: Pathway) -> tuple[Case, ...]:
        folder = self.folder / "examples"
        files = sorted(folder.glob("*.yaml")) if folder.is_dir() else []
        if not files:
            self.problems.append(Problem(str(folder), None, None, "a pathway needs example cases (examples/*.yaml)",
                                         code=Code.NO_EXAMPLES))
            return ()
        item_ids = [i.id for i in pathway.items]
        point_ids = [d.id for i in pathway.items for d in i.discussion]
        fields = tuple(pathway.fields.values())
        cases = []
        names: set[str] = set()
        for path in files:
            doc = self.read(path)
            spec = self.model(doc, ExamplesSpec)
            if spec is None or doc is None:
                continue
            good, _broken = self.each(doc, spec.cases, ("cases",), CaseSpec)
            for k, case in good:
                at: Path_ = ("cases", k)
                if case.name in names:
                    self.problems.append(doc.at(at + ("name",), f"duplicate case name '{case.name}'",
                                                code=Code.DUPLICATE_ID))
                names.add(case.name)
                _values, problems = validate_referral(case.referral, fields, doc, at + ("referral",))
                self.problems.extend(problems)
                for item_id in case.expect:
                    if item_id not in item_ids and item_id not in self.broken_items:
                        self.problems.append(doc.at(at + ("expect", item_id),
                                                    f"unknown item '{item_id}'{did_you_mean(item_id, item_ids)}",
                                                    code=Code.UNKNOWN_ITEM, key=True))
                for j, pid in enumerate(case.expect_discussion or ()):
                    if pid not in point_ids:
                        self.problems.append(doc.at(at + ("expect_discussion", j),
                                                    f"unknown discussion point '{pid}'{did_you_mean(pid, point_ids)}",
                                                    code=Code.UNKNOWN_POINT))
                line = doc.values.get(at, (None, None))[0]
                referral = as_written(case.referral, pathway.fields, doc, at + ("referral",))
                cases.append(Case(case.name, str(path), line, dict(referral), dict(case.expect),
                                  tuple(case.expect_discussion) if case.expect_discussion is not None else None,
                                  case.description))
        return tuple(cases)


def _not_verbatim(quote: str, seed: Seed) -> str:
    hint = ""
    if _loose(quote) in _loose(seed.text):
        hint = " (it differs only in punctuation or spacing: copy the characters exactly, e.g. '‐' U+2010 hyphens)"
    short = quote if len(quote) <= 120 else quote[:117] + "..."
    return f"quote is not verbatim in seed '{seed.id}' ({seed.file}){hint}: \"{short}\""


def _loose(text: str) -> str:
    table = str.maketrans({"‐": "-", "‑": "-", "–": "-", "—": "-", "’": "'", "‘": "'", "“": '"', "”": '"'})
    return " ".join(text.translate(table).split())


def _model_at(cls: type[BaseModel], loc: tuple[Any, ...]) -> type[BaseModel] | None:
    """The model class a pydantic error location points into (for did-you-mean)."""
    current: Any = cls
    keyed = False   # the next part is a key of a mapping, not a field name
    for part in loc:
        if isinstance(part, int) or keyed:
            keyed = False
            continue
        if not (isinstance(current, type) and issubclass(current, BaseModel)) or part not in current.model_fields:
            return None
        current = current.model_fields[part].annotation
        origin = typing.get_origin
        while origin(current) in (list, dict, typing.Union, type(None)) or str(origin(current)) == "types.UnionType":
            keyed = keyed or typing.get_origin(current) is dict
            args = [a for a in typing.get_args(current) if a is not type(None)]
            if not args:
                break
            current = args[-1] if typing.get_origin(current) is dict else args[0]
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None


def _pydantic_problem(doc: Located, cls: type[BaseModel], prefix: Path_, err: Any) -> Problem:
    loc = tuple(err["loc"])
    path = prefix + loc
    kind = err["type"]
    if kind == "extra_forbidden":
        owner = _model_at(cls, loc[:-1])
        known = list(owner.model_fields) if owner else []
        hint = did_you_mean(str(loc[-1]), known)
        return doc.at(path, f"unknown key '{loc[-1]}'{hint}" + (f"; allowed: {one_of(known)}" if known else ""),
                      code=Code.UNKNOWN_KEY, key=True)
    if kind == "missing":
        return doc.at(path[:-1], f"missing required key '{loc[-1]}'", code=Code.MISSING_REQUIRED_KEY)
    where = ".".join(str(p) for p in loc)
    if kind in ("model_type", "dict_type", "model_attributes_type", "dataclass_type"):
        found = type(err.get("input")).__name__
        shown = {"list": "a list", "str": "text", "NoneType": "nothing", "int": "a number", "float": "a number",
                 "bool": "true/false"}.get(found, found)
        return doc.at(path, (f"'{where}': " if where else "") + f"expected a mapping of keys to values, not {shown}",
                      code=Code.NOT_A_MAPPING)
    msg = err["msg"]
    code = Code.NOT_A_LIST if kind == "list_type" else Code.INVALID_VALUE
    if kind in ("literal_error", "enum"):  # a Literal, or an enum such as a field's type
        msg = "must be " + msg.removeprefix("Input should be ")
        code = Code.NOT_ALLOWED_VALUE
    return doc.at(path, f"'{where}': {msg[0].lower()}{msg[1:]}" if where else msg, code=code)


def load_pathway(folder: str | Path, *, examples: bool = True) -> Pathway:
    """Load and check one pathway folder; raise `RulesError` listing every problem.

    `examples=False` leaves out the example cases (the pathway's own tests, which
    `pathway validate` and `pathway test` read): for a command that only evaluates
    referrals and whose start-up time counts, such as the audit."""
    folder = Path(folder)
    if not (folder / "pathway.yaml").is_file():
        raise RulesError([Problem(str(folder), None, None, "not a pathway folder (no pathway.yaml)",
                                  code=Code.NO_PATHWAY)])
    return _Loader(folder).load(examples=examples)
