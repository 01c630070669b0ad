"""The web app in-process (FastAPI's test client): every route, the same answers as the CLI, safe defaults."""
from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from markupsafe import escape

from pathway.conditions import to_data
from pathway.definition import Pathway
from pathway.service import check, referral_values
from pathway.web.app import create_app
from pathway.web.formdata import BodyError, parse_form
from pathway.yamlsrc import Located

from .conftest import EXAMPLE, FIXED, RULES, Result, TestClient, edit, example

Run = Callable[..., Result]
NOW = "2026-12-03T09:00:00Z"
SCRIPT = '<script>alert("x")</script> & more'
SCRIPT_ESCAPED = "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; more"


def form_pairs(referral: dict[str, Any]) -> list[tuple[str, str]]:
    """A referral as a browser would send the filled form."""
    pairs: list[tuple[str, str]] = []
    for key, value in referral.items():
        if value is None:
            continue
        items = value if isinstance(value, list) else [value]
        for v in items:
            pairs.append((key, ("yes" if v else "no") if isinstance(v, bool) else str(v)))
    return pairs


def post_form(client: TestClient, path: str, pairs: list[tuple[str, str]]) -> Any:
    """POST repeated names (checkboxes) as a browser does."""
    return client.post(path, content=urlencode(pairs),
                       headers={"content-type": "application/x-www-form-urlencoded"})


def cli_report(runner: Run, fmt: str, path: Path = EXAMPLE) -> str:
    r = runner("check", str(path), "--format", fmt, "--now", NOW)
    assert r.code == 0, r.err
    return r.out


def statuses(report_json: str) -> dict[str, str]:
    return {i["id"]: i["status"] for i in json.loads(report_json)["items"]}


# -- the form page ---------------------------------------------------------------

def test_form_is_generated_from_the_definition(client: TestClient, pathway: Pathway) -> None:
    r = client.get("/")
    assert r.status_code == 200
    page = r.text
    for section in pathway.form:
        assert f'<fieldset class="section" id="section-{section.id}">\n  <legend>{escape(section.title)}</legend>' in page
    for f in pathway.fields.values():
        if f.type in ("tristate", "choice", "multichoice"):
            assert re.search(rf'<fieldset class="field group" id="field-{f.id}"[^>]*>\s*<legend>{re.escape(escape(f.label))}</legend>', page)
            count = len(f.options) + (1 if f.type == "choice" else 0) + (3 if f.type == "tristate" else 0)
            assert page.count(f'name="{f.id}"') == count, f.id
        else:
            assert f'<label for="f-{f.id}">{escape(f.label)}' in page
            assert f'id="f-{f.id}" name="{f.id}"' in page
        if f.help:
            assert f'<p class="help" id="help-{f.id}">{escape(f.help)}</p>' in page
    age = pathway.fields["age_years"]
    assert 'type="number"' in page and f'min="{age.min:g}" max="{age.max:g}"' in page
    assert "<label for=\"f-age_years\">Age (years)</label>" in page
    # A date is typed as text in the order the help gives (the browser's date box shows its own order).
    assert re.search(r'<input type="text" id="f-referral_date" name="referral_date" '
                     r'aria-describedby="help-referral_date format-referral_date err-referral_date"[^>]* '
                     r'pattern="\[0-9\]\{4\}-\[0-9\]\{2\}-\[0-9\]\{2\}"', page)
    assert '<input type="date"' not in page
    assert ('<p class="format" id="format-referral_date">Year, month, day: for 14 October 2026, type '
            '<span class="nowrap">2026-10-14</span>.</p>') in page
    assert '<textarea id="f-notes" name="notes"' in page and 'maxlength="4000"' in page
    # Unknown is an explicit, default answer for tri-state and choice fields.
    assert '<input type="radio" id="f-diagnosis_cp-2" name="diagnosis_cp" value="unknown" checked>' in page


def test_dependent_questions_carry_their_condition(client: TestClient, pathway: Pathway) -> None:
    page = client.get("/").text
    dependent = [f for f in pathway.fields.values() if f.shown_when is not None]
    assert {f.id for f in dependent} >= {"oral_outcome", "local_outcome", "trial_method", "trial_response"}
    for f in dependent:
        cond = escape(json.dumps(to_data(f.shown_when), separators=(",", ":")))  # type: ignore[arg-type]
        assert f'id="field-{f.id}" data-field="{f.id}" data-type="{f.type}" data-shown-when="{cond}"' in page
    # Without JavaScript every question is shown, with a note saying when it applies.
    assert '<p class="when" id="when-oral_outcome">Asked when: Oral antispasticity medication tried = yes</p>' in page
    assert "hidden" not in re.search(r'<fieldset[^>]*id="field-oral_outcome"[^>]*>', page).group(0)  # type: ignore[union-attr]


def test_a_field_added_to_the_form_appears_without_code(rules_copy: Path) -> None:
    edit(rules_copy / "form.yaml", "      - id: notes\n",
         "      - id: mas_score\n        type: choice\n        label: Modified Ashworth Scale\n"
         "        source: common measure\n        options:\n          - {value: '0', label: '0'}\n"
         "          - {value: '1+', label: '1+'}\n      - id: notes\n")
    with TestClient(create_app(rules_copy, clock=lambda: FIXED)) as c:
        page = c.get("/").text
        assert "<legend>Modified Ashworth Scale</legend>" in page
        assert '<label for="f-mas_score-1">1+</label>' in page
        assert c.get("/api/pathway").json()["fields"][-2]["id"] == "mas_score"


def test_pages_have_no_inline_script_or_style(client: TestClient) -> None:
    for page in (client.get("/").text, client.post("/", data={"referral_id": "R-1"}).text):
        assert re.findall(r"<script\b[^>]*>", page) == ['<script src="/static/app.js" defer>']
        assert " style=" not in page and "<style" not in page
        assert not re.search(r"<[^>]+\son[a-z]+=", page)


def test_csp_and_security_headers(client: TestClient) -> None:
    r = client.get("/")
    csp = r.headers["content-security-policy"]
    assert csp == ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
                   "form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["x-frame-options"] == "DENY"
    assert r.headers["referrer-policy"] == "no-referrer"
    assert r.headers["cache-control"] == "no-store"
    for path in ("/api/pathway", "/static/app.js", "/no-such-page"):
        headers = client.get(path).headers
        assert "unsafe" not in headers["content-security-policy"]
        assert headers["x-content-type-options"] == "nosniff"


def test_static_files(client: TestClient) -> None:
    js = client.get("/static/app.js")
    assert js.status_code == 200 and js.headers["content-type"].startswith("text/javascript")
    assert "data-shown-when" in js.text
    css = client.get("/static/app.css")
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
    assert client.get("/favicon.ico").status_code == 204
    assert client.get("/static/nothing.js").status_code == 404


# -- the same answers as the CLI --------------------------------------------------

def test_report_page_is_the_cli_html_with_a_hashed_style(client: TestClient, runner: Run) -> None:
    r = post_form(client, "/report", form_pairs(example()))
    assert r.status_code == 200
    assert r.text == cli_report(runner, "html")
    style = re.search(r"<style>(.*?)</style>", r.text, re.S).group(1)  # type: ignore[union-attr]
    digest = base64.b64encode(hashlib.sha256(style.encode()).digest()).decode()
    assert r.headers["content-security-policy"] == (
        f"default-src 'none'; style-src 'sha256-{digest}'; img-src 'self'; base-uri 'none'; "
        "form-action 'none'; frame-ancestors 'none'")
    assert "<script" not in r.text


def test_api_check_is_the_cli_json_byte_for_byte(client: TestClient, runner: Run) -> None:
    r = client.post("/api/check", json=example())
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/json"
    assert r.content == cli_report(runner, "json").encode("utf-8")


def test_every_example_case_gives_the_cli_statuses_through_the_form(client: TestClient, pathway: Pathway) -> None:
    assert len(pathway.cases) > 20
    for case in pathway.cases:
        expected = check(pathway, referral_values(pathway, Located(case.file, case.referral)), at=FIXED)
        r = post_form(client, "/download/json", form_pairs(case.referral))
        assert r.status_code == 200, (case.name, r.text[:500])
        assert r.text == expected.to_json(), case.name
        assert all(statuses(r.text)[k] == v for k, v in case.expect.items()), case.name


def test_downloads(client: TestClient, runner: Run) -> None:
    pairs = form_pairs(example())
    for fmt, kind in (("html", "text/html; charset=utf-8"), ("md", "text/markdown; charset=utf-8"),
                      ("json", "application/json")):
        r = post_form(client, f"/download/{fmt}", pairs)
        assert r.status_code == 200
        assert r.headers["content-type"] == kind
        assert r.headers["content-disposition"] == f'attachment; filename="checklist-R-001.{fmt}"'
        assert r.text == cli_report(runner, fmt)
    assert post_form(client, "/download/pdf", pairs).status_code == 404
    bad = post_form(client, "/download/yaml", [("referral_id", "R-1"), ("age_years", "-1")])
    assert bad.status_code == 422 and "content-disposition" not in bad.headers
    assert '<li><a href="#f-age_years">Age: &#39;-1&#39; is out of range' in bad.text


def test_download_file_names_are_safe(client: TestClient) -> None:
    r = client.post("/download/md", data={"referral_id": 'R "1"/../x\ty'})
    assert r.status_code == 200
    assert r.headers["content-disposition"] == 'attachment; filename="checklist-R_1_.._x_y.md"'


def test_saved_yaml_round_trips_through_the_cli_and_the_form(client: TestClient, runner: Run, tmp_path: Path) -> None:
    data = example()
    data["notes"] = "Line one.\nLine two: <b>bold</b>?\n\nLast."
    r = post_form(client, "/download/yaml", form_pairs(data))
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/yaml; charset=utf-8"
    assert r.headers["content-disposition"] == 'attachment; filename="referral-R-001.yaml"'
    assert "notes: |-\n  Line one.\n  Line two: <b>bold</b>?\n\n  Last.\n" in r.text
    assert "orthotics" not in r.text  # unknown answers are left out, as in any referral file
    saved = tmp_path / "saved.yaml"
    saved.write_bytes(r.content)
    assert cli_report(runner, "json", saved) == client.post("/api/check", json=data).text
    # ...and it opens again into the form.
    opened = client.post("/open", files={"saved_file": ("saved.yaml", r.content, "application/yaml")},
                         data={"referral_id": "R-OLD"})
    assert opened.status_code == 200
    page = opened.text
    assert '<p class="notice" role="status">Opened saved.yaml: referral R-001.</p>' in page
    assert 'id="f-referral_id" name="referral_id"' in page and 'value="R-001"' in page and "R-OLD" not in page
    assert re.search(r'name="oral_outcome" value="not_tolerated" checked>', page)
    assert re.search(r'name="functional_impact" value="movement" checked>', page)
    assert re.search(r'name="functional_impact" value="posture">', page)
    assert ">Line one.\nLine two: &lt;b&gt;bold&lt;/b&gt;?\n\nLast.</textarea>" in page
    assert 'value="9"' in page and 'value="2026-10-14"' in page


# -- errors: beside the field, in plain words, nothing lost -------------------------

def test_an_error_keeps_everything_typed(client: TestClient) -> None:
    pairs = [("referral_id", ""), ("age_years", "abc"), ("diagnosis_cp", "yes"), ("gmfcs_level", "IV"),
             ("functional_impact", "movement"), ("functional_impact", "posture"), ("risks_discussed", "none"),
             ("risks_discussed", "infection"), ("notes", SCRIPT + "\r\nsecond line"), ("referral_date", "2026-02-30")]
    r = post_form(client, "/report", pairs)
    assert r.status_code == 422
    page = r.text
    assert '<p class="field-error" id="err-referral_id">This is required: it cannot be left empty.</p>' in page
    assert ('<p class="field-error" id="err-age_years">&#39;abc&#39; is not a number; allowed: a number from 0 to 25'
            ' years</p>') in page
    assert ('id="err-risks_discussed">&#39;none&#39; cannot be combined with other values; allowed: a list of infection,'
            ' catheter_malfunction, pump_failure, withdrawal, overdose, csf_leak_headache, loss_of_useful_tone,'
            ' lifelong_refills_and_replacement, none</p>') in page
    assert ('id="err-referral_date">No date is stored from this: type a date of the calendar as year-month-day '
            '(YYYY-MM-DD), such as 2026-10-14.</p>') in page
    assert '<h2>4 problems need correcting</h2>' in page
    assert '<li><a href="#f-age_years">Age: &#39;abc&#39; is not a number' in page
    # Every answer is still there, as typed.
    assert 'id="f-age_years" name="age_years" aria-describedby="help-age_years err-age_years" aria-invalid="true" value="abc"' in page
    assert 'value="2026-02-30"' in page
    for name, value in (("diagnosis_cp", "yes"), ("gmfcs_level", "IV"), ("functional_impact", "movement"),
                        ("functional_impact", "posture"), ("risks_discussed", "none"), ("risks_discussed", "infection")):
        assert re.search(rf'name="{name}" value="{value}" checked', page), (name, value)
    assert not re.search(r'name="diagnosis_cp" value="unknown" checked', page)
    assert f">{SCRIPT_ESCAPED}\nsecond line</textarea>" in page
    # The checklist beside the form still shows what can be read.
    assert 'id="panel-population.child_with_cp" data-item="population.child_with_cp" data-status="missing"' in page
    assert 'data-item="indication.functional_impact" data-status="met"' in page
    assert "3 answers are left out of this checklist until corrected" in page


def test_script_in_notes_is_escaped_byte_exact(client: TestClient) -> None:
    r = client.post("/report", data={"referral_id": "R-ESC", "notes": SCRIPT})
    assert r.status_code == 200
    assert f'<div class="notes">{SCRIPT_ESCAPED}</div>' in r.text
    assert "<script>" not in r.text
    page = client.post("/", data={"referral_id": "R-ESC", "notes": SCRIPT, "age_years": "x"}).text
    assert f">{SCRIPT_ESCAPED}</textarea>" in page
    assert page.count("<script") == 1
    id_page = client.post("/", data={"referral_id": '"><script>x()</script>', "age_years": "x"}).text
    assert 'value="&#34;&gt;&lt;script&gt;x()&lt;/script&gt;"' in id_page


def test_update_without_javascript_keeps_answers_and_shows_the_checklist(client: TestClient) -> None:
    r = client.post("/", data={"oral_tried": "yes", "oral_outcome": "adequate_control", "trial_status": "planned"})
    assert r.status_code == 200
    page = r.text
    assert "error-summary" not in page  # an empty referral id is not an error until a report is asked for
    assert 'data-item="prior.less_invasive_inadequate" data-status="missing"' in page
    assert 'data-item="trial.done" data-status="not_met"' in page
    assert "The trial is planned but not yet done" in page or "planned" in page
    assert re.search(r'name="oral_outcome" value="adequate_control" checked', page)


def test_preview_answers_json_for_the_live_checklist(client: TestClient) -> None:
    r = client.post("/preview", data={"trial_status": "done", "trial_response": "negative", "age_years": "99"})
    assert r.status_code == 200
    body = r.json()
    assert set(body) == {"panel", "errors", "summary"}
    assert body["errors"] == {"age_years": "&#39;99&#39; is out of range; allowed: a number from 0 to 25 years"
                              .replace("&#39;", "'")}
    assert 'data-item="trial.response" data-status="not_met"' in body["panel"]
    assert "1 answer is left out of this checklist until corrected" in body["panel"]
    assert body["summary"] == "2 of 24 applicable items documented; 2 points to discuss."


# -- open a saved referral ---------------------------------------------------------

def test_open_a_broken_file_keeps_the_form(client: TestClient) -> None:
    current = {"referral_id": "R-KEEP", "notes": "typed before opening"}
    bad = b"referral_id: R-9\nage_years: [1\n"
    r = client.post("/open", files={"saved_file": ("my.yaml", bad, "application/yaml")}, data=current)
    assert r.status_code == 422
    assert 'value="R-KEEP"' in r.text and ">typed before opening</textarea>" in r.text
    assert ("<p class=\"field-error\" id=\"err-saved-file\">my.yaml:2:12: not valid YAML: the list opened at line 2,"
            " column 12 is never closed: the file ends at line 3, column 1 without its &#39;]&#39;; the form is"
            " unchanged.</p>") in r.text


def test_open_a_file_with_bad_values_loads_the_rest_and_locates_each_problem(client: TestClient) -> None:
    content = b"referral_id: R-7\nspasticity_severity: very severe\nage_years: 12\ndiagnosis_cp: on\n"
    r = client.post("/open", files={"saved_file": ("r.yaml", content, "application/yaml")})
    assert r.status_code == 422
    page = r.text
    assert 'value="R-7"' in page and 'value="12"' in page
    assert ('<li><a href="#f-spasticity_severity-0">r.yaml:2:22: field &#39;spasticity_severity&#39;: &#39;very severe&#39;'
            ' is not an allowed value; allowed: mild, moderate, severe (or unknown)</a></li>') in page
    assert 'id="err-diagnosis_cp">&#39;on&#39; is not a tri-state answer' in page
    assert not re.search(r'name="spasticity_severity" value="[a-z]+" checked', page)


def test_a_file_that_replaced_the_form_says_so_and_counts_its_problems_once(client: TestClient) -> None:
    content = (b"referral_id: R-8\nspasticity_severity: very severe\nage_years: 40\ndiagnosis_cp: on\n"
               b"gmfcs_level: VI\n")
    r = client.post("/open", files={"saved_file": ("r.yaml", content, "application/yaml")},
                    data={"referral_id": "R-TYPED", "notes": "typed before opening"})
    assert r.status_code == 422
    page = r.text
    summary = page[page.index('<div class="error-summary"'):page.index("</div>", page.index('<div class="error-summary"'))]
    assert "<h2>4 problems need correcting</h2>" in summary
    assert summary.count("<li>") == 4
    assert ("<p>r.yaml: 4 problems; the answers that could be read are in the form, and each problem is shown beside "
            "its field. Correct each answer below, or open the file again once it is corrected.</p>") in summary
    assert "Everything you entered is kept" not in page  # it is not: the file's answers replaced them
    assert "R-TYPED" not in page and "typed before opening" not in page
    assert 'data-unsaved' not in page  # the answers are in the file: leaving loses nothing


def test_a_file_that_could_not_be_read_leaves_what_was_typed_and_says_so(client: TestClient) -> None:
    r = client.post("/open", files={"saved_file": ("my.yaml", b"referral_id: [\n", "application/yaml")},
                    data={"referral_id": "R-KEEP"})
    assert r.status_code == 422
    assert "<h2>1 problem needs correcting</h2>" in r.text
    assert "<p>Everything you entered is kept." in r.text
    assert '<form id="referral-form" method="post" action="/" accept-charset="utf-8" autocomplete="off" novalidate data-unsaved="true">' in r.text


def test_without_javascript_an_update_returns_to_the_buttons(client: TestClient) -> None:
    page = client.get("/").text
    assert '<button type="submit" formaction="/#actions" id="btn-update">Update the checklist</button>' in page
    assert '<div class="actions" id="actions" role="group" aria-labelledby="actions-title">' in page
    assert "data-unsaved" not in page  # a blank form has nothing to lose
    updated = post_form(client, "/", [("referral_id", "R-1"), ("diagnosis_cp", "yes")]).text
    assert "novalidate data-unsaved=\"true\">" in updated


def test_the_summary_bar_says_what_the_checklist_says(client: TestClient) -> None:
    page = post_form(client, "/", form_pairs(example())).text
    assert ('<div class="summary-bar" id="summary-bar">\n  <p><span id="bar-summary">17 of 22 applicable items '
            'documented; 3 points to discuss.</span> <a href="#checklist" class="bar-link">Checklist ↓</a></p>') in page
    assert '<p class="panel-summary" id="panel-summary">17 of 22 applicable items documented; 3 points to discuss.</p>' in page
    assert '<aside class="checklist" id="checklist" aria-labelledby="checklist-title" tabindex="0">' in page


def test_a_date_in_another_order_is_refused_beside_its_field_and_kept(client: TestClient) -> None:
    for typed in ("14102026", "14/10/2026", "2026-14-10", "10/14/2026"):
        r = post_form(client, "/download/json", [("referral_id", "R-1"), ("referral_date", typed)])
        assert r.status_code == 422, typed
        assert f'value="{escape(typed)}"' in r.text
        assert ('<li><a href="#f-referral_date">Referral date: No date is stored from this: type a date of the '
                'calendar as year-month-day (YYYY-MM-DD), such as 2026-10-14.</a></li>') in r.text
    r = post_form(client, "/download/json", [("referral_id", "R-1"), ("referral_date", "2026-10-14")])
    assert r.status_code == 200
    assert [a["value"] for a in r.json()["profile"] if a["field"] == "referral_date"] == ["2026-10-14"]


def test_open_a_hand_typed_file_reads_a_bare_no_as_the_check_does(client: TestClient) -> None:
    """`communicates_symptoms: no` (a choice of yes, partly, no; YAML 1.1 makes it false) opens as "no"."""
    content = b"referral_id: R-8\ncommunicates_symptoms: no\ndiagnosis_cp: no\n"
    r = client.post("/open", files={"saved_file": ("r.yaml", content, "application/yaml")})
    assert r.status_code == 200, r.text
    assert re.search(r'name="communicates_symptoms" value="no"[^>]* checked', r.text)
    assert re.search(r'name="diagnosis_cp" value="no"[^>]* checked', r.text)


def test_open_keeps_the_id_as_written_and_reads_a_bom(client: TestClient) -> None:
    """`referral_id: 0012` opens as 0012 (YAML 1.1 read it as octal 10), when the file is valid and when not."""
    r = client.post("/open", files={"saved_file": ("r.yaml", b"\xef\xbb\xbfreferral_id: 0012\nage_years: 010\n",
                                                   "application/yaml")})
    assert r.status_code == 200, r.text
    assert "Opened r.yaml: referral 0012." in r.text and 'value="10"' in r.text
    r = client.post("/open", files={"saved_file": ("r.json", b'{"referral_id": 1.50, "age_years": "0x1F"}',
                                                   "application/json")})
    assert r.status_code == 422
    assert 'value="1.50"' in r.text and "r.json:1:36: field &#39;age_years&#39;: &#39;0x1F&#39; is not a number" in r.text


def test_open_without_a_file_or_with_a_binary_file(client: TestClient) -> None:
    r = client.post("/open", files={"saved_file": ("", b"", "application/octet-stream")}, data={"referral_id": "R-2"})
    assert r.status_code == 422 and "Choose a saved referral file first" in r.text and 'value="R-2"' in r.text
    r = client.post("/open", files={"saved_file": ("x.json", b"\xff\xfe{", "application/json")})
    assert r.status_code == 422 and "x.json: not UTF-8 text; the form is unchanged." in r.text
    r = client.post("/open", files={"saved_file": ("list.json", b"[1, 2]", "application/json")})
    assert r.status_code == 422
    assert "list.json:1:1: a referral must be a mapping of field id to value, not a list; the form is unchanged." in r.text


# -- the JSON API --------------------------------------------------------------------

def test_api_check_rejects_bad_referrals_with_the_cli_messages(client: TestClient, runner: Run, tmp_path: Path) -> None:
    body = '{\n  "referral_id": "R-1",\n  "spasticity_severity": "extreme",\n  "colour": 1\n}'
    r = client.post("/api/check", content=body, headers={"content-type": "application/json"})
    assert r.status_code == 422
    assert r.json() == {"detail": "the referral is not valid: 2 problems", "problems": [
        {"field": "spasticity_severity", "line": 3, "column": 26,
         "message": "field 'spasticity_severity': 'extreme' is not an allowed value; allowed: mild, moderate, severe (or unknown)"},
        {"field": "colour", "line": 4, "column": 3,
         "message": "unknown field 'colour'"},
    ]}
    same = tmp_path / "r.json"
    same.write_text(body, encoding="utf-8")
    cli = runner("check", str(same))
    assert cli.code == 2
    for p in r.json()["problems"]:
        assert f"{same}:{p['line']}:{p['column']}: {p['message']}\n" in cli.err
    r = client.post("/api/check", json=[1])
    assert r.status_code == 422
    assert r.json()["problems"][0]["message"] == "a referral must be a mapping of field id to value, not a list"
    assert client.post("/api/check", json={}).json()["problems"][0]["message"].startswith("missing required field 'referral_id'")


def test_api_check_refuses_what_it_cannot_read(client: TestClient) -> None:
    r = client.post("/api/check", content=b"referral_id: R-1", headers={"content-type": "text/plain"})
    assert (r.status_code, r.json()) == (415, {"detail": "send the referral as application/json"})
    r = client.post("/api/check", content=b'{"referral_id": "R-\xff"}', headers={"content-type": "application/json"})
    assert (r.status_code, r.json()) == (400, {"detail": "the request body is not UTF-8 text", "problems": [
        {"field": None, "message": "not UTF-8 text", "line": 1, "column": 20}]})
    r = client.post("/api/check", content=b'{"referral_id": "R-1",}', headers={"content-type": "application/json"})
    assert r.status_code == 400
    assert r.json() == {"detail": "the request body is not valid JSON", "problems": [
        {"field": None, "message": "not valid JSON: Expecting property name enclosed in double quotes",
         "line": 1, "column": 23}]}
    r = client.post("/api/check", content=b"[" * 100_000, headers={"content-type": "application/json"})
    assert r.status_code == 400


def test_body_size_limit(client: TestClient) -> None:
    big = b'{"referral_id": "R-1", "notes": "' + b"x" * (300 * 1024) + b'"}'
    r = client.post("/api/check", content=big, headers={"content-type": "application/json"})
    assert (r.status_code, r.json()) == (413, {"detail": "the request body is larger than 256 KiB"})

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted as it arrives
        for _ in range(300):
            yield b"x" * 1024

    r = client.post("/report", content=chunks(), headers={"content-type": "application/x-www-form-urlencoded"})
    assert r.status_code == 413 and "larger than 256 KiB" in r.text
    assert r.headers["content-type"].startswith("text/html")


def test_form_routes_refuse_unreadable_bodies(client: TestClient) -> None:
    r = client.post("/report", json={"referral_id": "R-1"})
    assert r.status_code == 415 and "application/x-www-form-urlencoded" in r.text
    r = client.post("/report", content=b"referral_id=R-%FF", headers={"content-type": "application/x-www-form-urlencoded"})
    assert r.status_code == 400 and "not UTF-8" in r.text
    r = client.post("/open", content=b"--x\r\nbroken", headers={"content-type": "multipart/form-data; boundary=x"})
    assert r.status_code == 400 and "incomplete" in r.text


def test_multipart_parser_reads_what_browsers_send() -> None:
    body = (b"--b\r\nContent-Disposition: form-data; name=\"notes\"\r\n\r\nline 1\r\nline 2 \xc3\xa9\r\n"
            b"--b\r\nContent-Disposition: form-data; name=\"saved_file\"; filename=\"r\xc3\xa9f.yaml\"\r\n"
            b"Content-Type: application/yaml\r\n\r\nreferral_id: R-1\r\n\r\n--b--\r\n")
    form = parse_form(body, "multipart/form-data; boundary=b")
    assert form.fields == {"notes": ["line 1\r\nline 2 é"]}
    assert form.files["saved_file"].filename == "réf.yaml"
    assert form.files["saved_file"].content == b"referral_id: R-1\r\n"
    with pytest.raises(BodyError, match="boundary"):
        parse_form(b"", "multipart/form-data")


def test_api_pathway_describes_the_definition(client: TestClient, pathway: Pathway) -> None:
    r = client.get("/api/pathway")
    assert r.status_code == 200
    body = r.json()
    assert (body["id"], body["version"], body["rules_sha256"]) == (pathway.id, pathway.version, pathway.rules_sha256)
    assert [f["id"] for f in body["fields"]] == list(pathway.fields)
    assert [i["id"] for i in body["items"]] == [i.id for i in pathway.items]
    assert body["statuses"] == ["met", "not_met", "missing", "not_applicable"]
    oral = next(f for f in body["fields"] if f["id"] == "oral_outcome")
    assert oral["shown_when"] == {"field": "oral_tried", "in": ["yes"]}
    assert oral["options"][0] == {"value": "adequate_control", "label": "Adequate control", "exclusive": False}
    response = next(i for i in body["items"] if i["id"] == "trial.response")
    assert response["applies_when"] == {"field": "trial_status", "in": ["done"]}
    assert [s["fields"][0] for s in body["form"]][0] == "referral_id"


def test_openapi_documents_the_api(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    assert set(spec["paths"]) == {"/api/check", "/api/pathway"}
    op = spec["paths"]["/api/check"]["post"]
    assert op["requestBody"]["content"]["application/json"]["schema"] == {"anyOf": [
        {"$ref": "#/components/schemas/Referral"}, {"$ref": "#/components/schemas/QuestionnaireResponse"}]}
    assert op["responses"]["200"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Report"}
    assert op["responses"]["422"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/ProblemsOut"}
    assert set(op["responses"]) == {"200", "400", "413", "415", "422", "500"}
    assert op["responses"]["400"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/ProblemsOut"}
    referral = spec["components"]["schemas"]["Referral"]
    assert referral["required"] == ["referral_id"] and referral["additionalProperties"] is False
    assert client.get("/docs").status_code == 404  # no page that loads scripts from elsewhere


# -- logs: the request line only ---------------------------------------------------------

def test_an_internal_error_logs_no_content(pathway: Pathway, caplog: pytest.LogCaptureFixture) -> None:
    def broken_clock() -> dt.datetime:
        raise ValueError("R-SECRET-ID and a typed note")

    with TestClient(create_app(RULES, clock=broken_clock), raise_server_exceptions=False) as c, \
            caplog.at_level("DEBUG"):
        r = c.post("/api/check", json={"referral_id": "R-SECRET-ID", "notes": "a typed note"})
    assert r.status_code == 500
    assert r.json() == {"detail": "internal error; nothing was produced"}
    assert "POST /api/check: internal error (ValueError)" in caplog.text
    assert "SECRET" not in caplog.text and "typed note" not in caplog.text


def test_only_loopback_host_names_are_answered_when_bound_to_loopback() -> None:
    from fastapi.testclient import TestClient

    from pathway.web.app import create_app
    from pathway.web.command import hosts_for

    app = create_app(allowed_hosts=hosts_for("127.0.0.1"))
    assert TestClient(app, base_url="http://127.0.0.1:8000").get("/api/pathway").status_code == 200
    assert TestClient(app, base_url="http://localhost:8000").get("/api/pathway").status_code == 200
    assert TestClient(app, base_url="http://attacker.example").get("/api/pathway").status_code == 400
    assert hosts_for("0.0.0.0") is None


def test_invalid_questionnaire_response_gets_the_shared_path_messages() -> None:
    from fastapi.testclient import TestClient

    from pathway.web.app import create_app

    body = ('{"resourceType": "QuestionnaireResponse", "status": "completed",\n'
            ' "item": [{"linkId": "referral_id", "answer": [{"valueString": "R-1"}]},\n'
            '          {"linkId": "gmfcs", "answer": [{"valueString": "IV"}]}]}')
    r = TestClient(create_app()).post("/api/check", content=body, headers={"content-type": "application/json"})
    assert r.status_code == 422
    messages = [p["message"] for p in r.json()["problems"]]
    assert len(messages) == 1 and "linkId 'gmfcs'" in messages[0] and "unknown field 'resourceType'" not in messages[0]


def test_cross_check_disagreement_is_explained_not_a_bare_error(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("durable")
    from fastapi.testclient import TestClient

    from pathway.backends.durable import DurableEvaluator
    from pathway.web.app import create_app

    real = DurableEvaluator.truth
    monkeypatch.setattr(DurableEvaluator, "truth",
                        lambda self, v: [not t if t is not None else True for t in real(self, v)])
    r = TestClient(create_app(cross=True)).post("/api/check", json={"referral_id": "R-1", "diagnosis_cp": "yes"})
    assert r.status_code == 500
    assert r.json()["detail"].startswith("The two evaluation engines disagreed on this referral, so no checklist")
