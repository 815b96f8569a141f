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
    fields.replaceChildren(
      ...schema.categorical.map((f) => {
        const select = el("select", {}, [el("option", { value: "", textContent: "Choose\u2026" })]);
        for (const value of f.allowedValues ?? []) select.append(el("option", { value, textContent: value }));
        return fieldBox(f.name, select);
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

    const metrics = info.holdout
      ? `, holdout R\u00b2 ${Number(info.holdout.r2 ?? 0).toFixed(3)}, RMSE ${Number(info.holdout.rmse ?? 0).toFixed(2)}`
      : "";
    const trained = info.trainedAt ? `, trained ${info.trainedAt.slice(0, 10)}` : "";
    $("model-summary").textContent =
      `${info.modelVersion ?? "unknown"} (${info.algorithm || "ML.NET"}${trained}${metrics})`;
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

  function showErrors(body, status) {
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
    $("result").className = "result-empty";
    $("result-score").textContent = "\u2013";
    $("result-meter").style.width = "0";
    $("result-hint").textContent = "Fill in the form and press Predict.";
  });
  loadModel();
})();
