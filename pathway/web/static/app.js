/* The referral form's live behaviour. Without this script the form still works: every question is
   shown and the buttons submit to the server. With it: dependent questions appear only when they
   apply, and the checklist beside the form updates as the clinician answers. */
(function () {
  "use strict";

  var form = document.getElementById("referral-form");
  var panel = document.getElementById("panel");
  var bar = document.getElementById("bar-summary"); /* the summary that stays in view on a narrow screen */
  var live = document.getElementById("live-status");
  if (!form || !panel) { return; }

  var DEBOUNCE_MS = 250;
  var timer = null;
  var inFlight = null;

  /* ---- reading answers: unknown (null) when unanswered, as the server does ---- */

  function fieldBox(id) { return document.getElementById("field-" + id); }

  function answer(id) {
    var box = fieldBox(id);
    if (!box) { return null; }
    var type = box.getAttribute("data-type");
    var controls = form.elements.namedItem(id);
    if (type === "multichoice") {
      var chosen = [];
      box.querySelectorAll("input[type=checkbox]").forEach(function (el) { if (el.checked) { chosen.push(el.value); } });
      return chosen.length ? chosen : null;
    }
    var value = "";
    if (type === "tristate" || type === "choice") {
      var picked = box.querySelector("input[type=radio]:checked");
      var select = box.querySelector("select");
      value = picked ? picked.value : (select ? select.value : "");
    } else if (controls && "value" in controls) {
      value = controls.value;
    }
    value = (value || "").trim();
    if (value === "" || value.toLowerCase() === "unknown") { return null; }
    if (type === "number") { var n = Number(value); return isNaN(n) ? null : n; }
    return value;
  }

  /* ---- three-valued (Kleene) conditions, the same language as the pathway's rules ---- */

  var notAsked = {}; /* field id -> true: questions whose condition is documented false (applyDependencies) */

  function evaluate(c) {
    var results, i;
    if (c.all) {
      results = c.all.map(evaluate);
      if (results.indexOf(false) >= 0) { return false; }
      return results.indexOf(null) >= 0 ? null : true;
    }
    if (c.any) {
      results = c.any.map(evaluate);
      if (results.indexOf(true) >= 0) { return true; }
      return results.indexOf(null) >= 0 ? null : false;
    }
    if (c.not) { var r = evaluate(c.not); return r === null ? null : !r; }
    if (notAsked[c.field]) { return false; } /* a question not asked meets no test */
    var v = answer(c.field);
    if (v === null) { return null; }
    if (c["in"]) { return c["in"].indexOf(v) >= 0; }
    if ("lt" in c) { return v < c.lt; }
    if ("le" in c) { return v <= c.le; }
    if ("gt" in c) { return v > c.gt; }
    if ("ge" in c) { return v >= c.ge; }
    if (c.contains_any) {
      for (i = 0; i < c.contains_any.length; i++) { if (v.indexOf(c.contains_any[i]) >= 0) { return true; } }
      return false;
    }
    if (c.contains_all) {
      for (i = 0; i < c.contains_all.length; i++) { if (v.indexOf(c.contains_all[i]) < 0) { return false; } }
      return true;
    }
    return true; /* answered */
  }

  var dependents = Array.prototype.slice.call(form.querySelectorAll("[data-shown-when]")).map(function (box) {
    return { id: box.getAttribute("data-field"), box: box, when: JSON.parse(box.getAttribute("data-shown-when")) };
  });

  /* The questions not asked, decided as the server decides them (pathway/applicable.py): in form order,
     in passes until one finds nothing new, a question whose condition is documented false. They are
     hidden, and their answers are kept and sent: the server sets them aside and the checklist says so,
     as it does for the same form sent without this script. A question whose condition is unknown is
     shown if it holds an answer (that answer is used), else hidden until it applies; one with a
     message to correct is shown. */
  function applyDependencies() {
    notAsked = {};
    for (var round = 0; round <= dependents.length; round++) {
      var found = false;
      dependents.forEach(function (d) {
        if (!notAsked[d.id] && evaluate(d.when) === false) { notAsked[d.id] = true; found = true; }
      });
      if (!found) { break; }
    }
    dependents.forEach(function (d) {
      var state = notAsked[d.id] ? false : evaluate(d.when);
      d.box.hidden = !(state === true || (state === null && answer(d.id) !== null) || d.box.classList.contains("invalid"));
    });
  }

  dependents.forEach(function (d) {
    var note = d.box.querySelector(".when");
    if (note) { note.hidden = true; }
  });

  /* ---- "none" and the like cannot be combined with other choices ---- */

  form.addEventListener("change", function (event) {
    var el = event.target;
    if (el.type !== "checkbox" || !el.checked) { return; }
    var box = el.closest(".field");
    box.querySelectorAll("input[type=checkbox]").forEach(function (other) {
      if (other === el) { return; }
      if (el.hasAttribute("data-exclusive") || other.hasAttribute("data-exclusive")) { other.checked = false; }
    });
  });

  /* ---- messages beside the fields ---- */

  var serverErrors = {};
  var triedToSubmit = false;

  function showError(id, message) {
    var box = fieldBox(id);
    var slot = document.getElementById("err-" + id);
    if (!box || !slot) { return; }
    slot.textContent = message || "";
    box.classList.toggle("invalid", Boolean(message));
    var first = box.querySelector("input, select, textarea");
    box.querySelectorAll("input, select, textarea").forEach(function (el) {
      if (message && el === first) { el.setAttribute("aria-invalid", "true"); } else { el.removeAttribute("aria-invalid"); }
    });
  }

  /* What the browser knows without asking: a number it could not read, and (once a report or a
     download was asked for) a required answer left empty. */
  function isDate(text) {
    var m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text);
    if (!m) { return false; }
    var d = new Date(0);
    d.setUTCFullYear(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
    return d.getUTCFullYear() === Number(m[1]) && d.getUTCMonth() === Number(m[2]) - 1 && d.getUTCDate() === Number(m[3]);
  }

  function clientErrors() {
    var errors = {};
    form.querySelectorAll("input[type=number]").forEach(function (el) {
      if (!el.disabled && el.validity && el.validity.badInput) { errors[el.name] = "This is not a number."; }
    });
    /* A date typed in another order (14102026) is never taken for some other date: YYYY-MM-DD, a day of
       the calendar, or nothing. The server says the same, and checks it again. */
    form.querySelectorAll("input[data-date-message]").forEach(function (el) {
      var text = el.value.trim();
      if (!el.disabled && text && !isDate(text)) { errors[el.name] = el.getAttribute("data-date-message"); }
    });
    if (triedToSubmit) {
      form.querySelectorAll("[aria-required=true]").forEach(function (el) {
        if (!el.disabled && !el.value.trim()) { errors[el.name] = "This is required: it cannot be left empty."; }
      });
    }
    return errors;
  }

  /* Shows every current message, clears the rest; returns the field ids at fault, in form order.
     While the answers are newer than the server's last look at them, only the browser's own
     findings count: the server checks the submission itself. */
  function showErrors() {
    var stale = timer !== null || inFlight !== null;
    var errors = Object.assign({}, stale ? {} : serverErrors, clientErrors());
    var ids = [];
    form.querySelectorAll("[data-field]").forEach(function (box) {
      var id = box.getAttribute("data-field");
      showError(id, errors[id] || "");
      if (errors[id]) { ids.push(id); }
    });
    applyDependencies(); /* an answer to correct is shown, even to a question not asked */
    return ids;
  }

  /* ---- the live checklist ---- */

  function formBody() {
    var body = new URLSearchParams();
    new FormData(form).forEach(function (value, name) {
      if (typeof value === "string") { body.append(name, value); }
    });
    return body;
  }

  function refresh() {
    timer = null;
    if (inFlight) { inFlight.abort(); }
    var controller = new AbortController();
    inFlight = controller;
    fetch("/preview", { method: "POST", body: formBody(), signal: controller.signal,
                        headers: { "Accept": "application/json" } })
      .then(function (response) {
        if (!response.ok) { throw new Error("preview failed: " + response.status); }
        return response.json();
      })
      .then(function (data) {
        if (inFlight !== controller) { return; }
        inFlight = null;
        panel.innerHTML = data.panel;
        panel.setAttribute("data-updated", String(Date.now()));
        live.textContent = "Checklist updated. " + data.summary;
        if (bar) { bar.textContent = data.summary; }
        serverErrors = data.errors || {};
        showErrors();
      })
      .catch(function (err) {
        if (err && err.name === "AbortError") { return; }
        if (inFlight === controller) { inFlight = null; }
        live.textContent = "The checklist could not be updated; use Update the checklist.";
      });
  }

  function schedule() {
    applyDependencies();
    if (timer) { clearTimeout(timer); }
    timer = setTimeout(refresh, DEBOUNCE_MS);
  }

  form.addEventListener("input", schedule);
  form.addEventListener("change", schedule);

  /* ---- submitting: catch what can be caught here, the server checks everything again ---- */

  /* On the click, before the browser opens a tab for the report: a cancelled click submits nothing. */
  form.addEventListener("click", function (event) {
    var button = event.target.closest ? event.target.closest("button[type=submit]") : null;
    if (!button || button.id === "btn-open") { return; }
    if (button.id === "btn-update") {
      event.preventDefault();
      refresh();
      return;
    }
    triedToSubmit = true;
    var ids = showErrors();
    if (ids.length) {
      event.preventDefault();
      var target = fieldBox(ids[0]).querySelector("input, select, textarea");
      if (target) { target.focus(); }
      live.textContent = ids.length + (ids.length === 1 ? " answer needs" : " answers need") + " correcting first.";
    }
  });

  /* Enter in a text field submits with the first button, "Update the checklist": here, no reload. */
  form.addEventListener("submit", function (event) {
    if (event.submitter && event.submitter.id === "btn-update") {
      event.preventDefault();
      refresh();
    }
  });

  /* ---- work is easy to lose: a warning before leaving with answers that are not saved ---- */

  /* Unsaved: answered here, or sent back by the server after an update or a problem. Saving the
     referral (YAML) saves them; a submission carries them along (no warning while it leaves). */
  var unsaved = form.hasAttribute("data-unsaved");
  var submitting = null;

  function edited(event) { if (event.target.type !== "file") { unsaved = true; } }
  form.addEventListener("input", edited);
  form.addEventListener("change", edited);

  form.addEventListener("submit", function (event) {
    if (event.defaultPrevented) { return; }
    if (event.submitter && event.submitter.id === "btn-yaml") { unsaved = false; }
    if (submitting) { clearTimeout(submitting); }
    /* a download leaves the page where it is: after a moment, leaving it warns again */
    submitting = setTimeout(function () { submitting = null; }, 1500);
  });

  window.addEventListener("beforeunload", function (event) {
    if (!unsaved || submitting) { return; }
    event.preventDefault();
    event.returnValue = ""; /* older browsers ask for this as well */
  });

  window.addEventListener("pageshow", function () { applyDependencies(); });
  applyDependencies();
  var summary = document.getElementById("error-summary");
  if (summary) {
    triedToSubmit = true; /* the server already asked for the required answers */
    summary.focus();
  } else {
    refresh();
  }
})();
