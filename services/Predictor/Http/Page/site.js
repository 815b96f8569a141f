// The predictor's form. The server is the only validator: the form sends what was entered and shows the
// field violations of a 400 answer next to the fields they name.
"use strict";

(() => {
  const labels = {
    gender: "Gender",
    race_ethnicity: "Race / ethnicity",
    parental_level_of_education: "Parental level of education",
    lunch: "Lunch",
    test_preparation_course: "Test preparation course",
    reading_score: "Reading score",
    writing_score: "Writing score",
  };
  const defaultNumeric = [
    { name: "reading_score", min: 0, max: 100 },
    { name: "writing_score", min: 0, max: 100 },
  ];

  const $ = (id) => document.getElementById(id);
  const form = $("predict-form");
  const fields = $("fields");
  const button = $("predict-button");
  let schema = { categorical: [], numeric: [] };

  const humanize = (name) =>
    labels[name] ?? name.replace(/_/g, " ").replace(/^./, (c) => c.toUpperCase());

  // "student.readingScore", "students[0].reading_score", "ReadingScore" -> "reading_score".
  const fieldKey = (path) =>
    String(path ?? "")
      .split(".")
      .pop()
      .replace(/\[\d+\]/g, "")
      .replace(/([a-z0-9])([A-Z])/g, "$1_$2")
      .toLowerCase();

  const el = (tag, props = {}, children = []) => {
    const node = document.createElement(tag);
    Object.assign(node, props);
    for (const child of children) node.append(child);
    return node;
  };

  function fieldBox(name, control) {
    control.id = `field-${name}`;
    control.name = name;
    control.setAttribute("aria-describedby", `error-${name}`);
    const label = el("label", { htmlFor: control.id, textContent: humanize(name) });
    return el("div", { className: "field" }, [
      label,
      control,
      el("p", { id: `error-${name}`, className: "field-error" }),
    ]);
  }

  function render(info) {
    schema = {
      categorical: info.categoricalFields ?? [],
      numeric: info.numericFields?.length ? info.numericFields : defaultNumeric,
    };
    // With an odd number of selects, the one with the longest values spans the row, so the two score inputs
    // still sit side by side.
    const longest = (f) => Math.max(0, ...(f.allowedValues ?? []).map((v) => v.length));
    const wide = schema.categorical.length % 2 === 1
      ? schema.categorical.reduce((a, b) => (longest(b) > longest(a) ? b : a)).name
      : null;
    fields.replaceChildren(
      ...schema.categorical.map((f) => {
        const select = el("select", {}, [el("option", { value: "", textContent: "Choose\u2026" })]);
        for (const value of f.allowedValues ?? []) select.append(el("option", { value, textContent: value }));
        const box = fieldBox(f.name, select);
        if (f.name === wide) box.classList.add("wide");
        return box;
      }),
      ...schema.numeric.map((f) => {
        const input = el("input", { type: "number", step: "any", inputMode: "decimal" });
        input.placeholder = `${f.min ?? 0} to ${f.max ?? 100}`;
        const box = fieldBox(f.name, input);
        box.querySelector("label").append(
          el("span", { className: "hint", textContent: ` (${f.min ?? 0}\u2013${f.max ?? 100})` }));
        return box;
      }),
    );
    fields.removeAttribute("aria-busy");
    button.disabled = false;

    $("model-version").textContent = info.modelVersion ?? "unknown";
    $("model-trained").textContent = info.trainedAt
      ? `${info.trainedAt.slice(0, 10)} on ${info.trainingData?.name || "unknown data"}`
      : "\u2013";
    $("model-holdout").textContent = info.holdout
      ? `R\u00b2 ${Number(info.holdout.r2 ?? 0).toFixed(3)}, RMSE ${Number(info.holdout.rmse ?? 0).toFixed(2)}`
      : "\u2013";
    $("model-algorithm").textContent = info.algorithm || "\u2013";
  }

  function clearErrors() {
    for (const node of form.querySelectorAll(".field-error")) node.textContent = "";
    for (const node of form.querySelectorAll("[aria-invalid]")) node.removeAttribute("aria-invalid");
    $("form-error").hidden = true;
  }

  function showFormError(text) {
    $("form-error").textContent = text;
    $("form-error").hidden = false;
  }

  function clearResult(hint) {
    $("result").className = "result-empty";
    $("result-score").textContent = "\u2013";
    $("result-meter").style.width = "0";
    $("result-hint").textContent = hint;
    $("result-version").textContent = "\u2013";
  }

  function showErrors(body, status) {
    clearResult("Correct the highlighted input and press Predict again.");
    const violations = (body?.details ?? []).flatMap((d) => d.fieldViolations ?? []);
    const unplaced = [];
    for (const v of violations) {
      const key = fieldKey(v.field);
      const target = $(`error-${key}`);
      if (target) {
        target.textContent = v.description || body.message;
        $(`field-${key}`).setAttribute("aria-invalid", "true");
      } else {
        unplaced.push(v.description || v.field);
      }
    }
    if (violations.length === 0) unplaced.push(body?.message || `The server answered HTTP ${status}.`);
    if (unplaced.length) showFormError(unplaced.join(" "));
  }

  function showResult(answer) {
    const score = Number(answer.mathScore ?? 0);
    $("result").className = "";
    $("result-score").textContent = score.toFixed(1);
    $("result-meter").style.width = `${Math.max(0, Math.min(100, score))}%`;
    $("result-hint").textContent = "out of 100";
    $("result-version").textContent = answer.modelVersion ?? "unknown";
  }

  async function predict(event) {
    event.preventDefault();
    clearErrors();
    const student = {};
    for (const f of schema.categorical) student[f.name] = $(`field-${f.name}`).value;
    for (const f of schema.numeric) {
      const raw = $(`field-${f.name}`).value.trim();
      if (raw !== "") student[f.name] = Number(raw);
    }
    button.disabled = true;
    try {
      const res = await fetch("/v1/predict", {
        method: "POST",
        headers: { "Content-Type": "application/json", Accept: "application/json" },
        body: JSON.stringify(student),
      });
      const body = await res.json().catch(() => null);
      if (res.ok) showResult(body);
      else showErrors(body, res.status);
    } catch (err) {
      showFormError(`The predictor could not be reached: ${err.message}`);
    } finally {
      button.disabled = false;
    }
  }

  async function loadModel() {
    try {
      const res = await fetch("/v1/model", { headers: { Accept: "application/json" } });
      const body = await res.json().catch(() => null);
      if (!res.ok) throw new Error(body?.message || `HTTP ${res.status}`);
      $("banner").hidden = true;
      render(body);
    } catch (err) {
      $("banner").textContent = `The model is not available yet (${err.message}). Retrying\u2026`;
      $("banner").hidden = false;
      setTimeout(loadModel, 3000);
    }
  }

  form.addEventListener("submit", predict);
  form.addEventListener("reset", () => {
    clearErrors();
    clearResult("Fill in the form and press Predict.");
  });
  loadModel();
})();
