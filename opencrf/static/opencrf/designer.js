// The online designer in the browser: sends the field and instrument forms without a page
// reload and puts the server's re-rendered field list in place, drag and drop, the field
// name suggested from the label, the branching logic builder, the live logic check (by the
// server's parser, the one that will judge the save), the action tag picker and the
// "test with a record" button. Every form also works without this module.
//
// The pure helpers are exported for tests/js/designer.test.mjs; the DOM part runs only in a
// browser (it is skipped when `document` is missing).

const NOT_NAME = /[^a-z0-9]+/g;

/** A variable name from a label, as designer_services.name_from_label makes it. */
export function nameFromLabel(label, taken = [], limit = 26, fallback = "field") {
  const ascii = label.normalize("NFKD").replace(/[^\x00-\x7f]/g, "");
  const words = ascii.toLowerCase().split(NOT_NAME).filter(Boolean);
  let base = words.join("_").slice(0, limit).replace(/^_+|_+$/g, "");
  if (!base || !/^[a-z]/.test(base)) base = base ? `${fallback}_${base}`.replace(/_+$/, "") : fallback;
  return uniqueName(base, new Set(taken));
}

export function uniqueName(base, taken) {
  if (!taken.has(base)) return base;
  let number = 2;
  while (taken.has(`${base}_${number}`)) number += 1;
  return `${base}_${number}`;
}

/** One condition of the builder: `[field] = '1'`; numbers stay bare, text is quoted. */
export function conditionText(field, op, value) {
  const plain = /^-?\d+(\.\d+)?$/.test(value.trim());
  const quoted = plain ? value.trim() : `'${value.replace(/'/g, "")}'`;
  return `[${field}] ${op} ${quoted}`;
}

/** `existing` with `condition` joined by `and` / `or` (the condition alone when blank). */
export function joinCondition(existing, condition, join) {
  const current = existing.trim();
  return current ? `${current} ${join} ${condition}` : condition;
}

/** The builder's field choices: a checkbox offers one entry per code, `field(code)`. */
export function builderOptions(fields) {
  const options = [];
  for (const field of fields) {
    if (field.type === "descriptive") continue;
    if (field.type === "checkbox") {
      for (const code of choiceCodes(field.choices)) options.push({ value: `${field.name}(${code})`, values: ["1", "0"] });
    } else {
      options.push({ value: field.name, values: valuesOf(field) });
    }
  }
  return options;
}

export function choiceCodes(text) {
  return text.split("|").map((part) => part.split(",")[0].trim()).filter(Boolean);
}

function valuesOf(field) {
  if (field.type === "yesno" || field.type === "truefalse") return ["1", "0"];
  return choiceCodes(field.choices || "");
}

/** Where a dragged item goes: before the item dropped on (its first field). */
export function dropTarget(item) {
  return (item.dataset.fields || "").split(" ")[0] || "";
}

// ---------------------------------------------------------------- DOM

function showError(message) {
  const box = document.getElementById("designer-error");
  if (!box) return;
  box.textContent = message || "";
  box.classList.toggle("d-none", !message);
}

async function postAction(form, extra) {
  const body = new FormData(form);
  for (const [key, value] of Object.entries(extra)) body.set(key, value);
  const response = await fetch(form.action, {
    method: "POST",
    body,
    credentials: "same-origin",
    headers: { "X-Requested-With": "fetch" },
  });
  if (response.ok) {
    const holder = document.querySelector("[data-designer]");
    holder.innerHTML = await response.text();
    showError("");
    initFieldList(holder);
    return true;
  }
  const answer = await response.json().catch(() => ({ error: response.statusText }));
  showError(answer.error);
  return false;
}

function initFieldList(holder) {
  const form = holder.querySelector("#designer-actions");
  if (!form) return;
  form.addEventListener("submit", (event) => {
    const op = event.submitter ? event.submitter.value : "";
    // Deleting goes through the confirmation page, which says how much data the field holds.
    if (op.startsWith("delete:")) return;
    event.preventDefault();
    const focus = event.submitter ? event.submitter.dataset.testid : "";
    postAction(form, { op }).then(() => {
      // Keyboard users keep their place: the same button of the moved field has focus again.
      const again = focus && holder.querySelector(`[data-testid="${CSS.escape(focus)}"]`);
      if (again) again.focus();
    });
  });
  let dragged = null;
  for (const item of holder.querySelectorAll(".dz-item")) {
    item.addEventListener("dragstart", (event) => {
      dragged = item;
      event.dataTransfer.effectAllowed = "move";
      event.dataTransfer.setData("text/plain", item.dataset.fields);
    });
    item.addEventListener("dragover", (event) => {
      if (dragged && dragged !== item && !item.classList.contains("dz-fixed-top")) {
        event.preventDefault();
        item.classList.add("dz-over");
      }
    });
    item.addEventListener("dragleave", () => item.classList.remove("dz-over"));
    item.addEventListener("drop", (event) => {
      event.preventDefault();
      item.classList.remove("dz-over");
      if (!dragged || dragged === item) return;
      const name = dropTarget(dragged);
      const isStatus = item.classList.contains("dz-fixed");
      postAction(form, { op: `before:${name}`, target: isStatus ? "" : dropTarget(item) });
      dragged = null;
    });
  }
}

function initInstrumentReorder(table) {
  const form = document.getElementById("designer-reorder-form");
  if (!form) return;
  let dragged = null;
  const rows = Array.from(table.querySelectorAll("tbody tr"));
  rows.forEach((row, index) => {
    row.addEventListener("dragstart", () => { dragged = row; });
    row.addEventListener("dragover", (event) => { if (dragged && index > 0) event.preventDefault(); });
    row.addEventListener("drop", (event) => {
      event.preventDefault();
      if (!dragged || dragged === row) return;
      form.elements.instrument.value = dragged.dataset.instrument;
      form.elements.position.value = String(index + 1);
      form.submit();
    });
  });
}

function debounce(fn, wait) {
  let timer = null;
  return (...args) => {
    window.clearTimeout(timer);
    timer = window.setTimeout(() => fn(...args), wait);
  };
}

async function checkLogic(url, textarea, status) {
  const address = new URL(url, window.location.href);
  address.searchParams.set("text", textarea.value);
  const response = await fetch(address, { credentials: "same-origin" });
  if (!response.ok) return;
  const answer = await response.json();
  status.textContent = textarea.value.trim() ? answer.message : "";
  status.classList.toggle("text-danger", !answer.ok);
  status.classList.toggle("text-success", answer.ok);
  textarea.setAttribute("aria-invalid", answer.ok ? "false" : "true");
}

function showColumns(editor) {
  const type = editor.querySelector("[name=field_type]").value;
  const shown = {
    choices: ["dropdown", "radio", "checkbox", "slider"],
    calculation: ["calc", "sql"],
    validation: ["text"],
    validation_min: ["text", "slider"],
    validation_max: ["text", "slider"],
    show_number: ["slider"],
    matrix_group_name: ["radio", "checkbox"],
    matrix_ranking: ["radio", "checkbox"],
  };
  for (const [column, types] of Object.entries(shown)) {
    const box = editor.querySelector(`[data-col="${column}"]`);
    if (box) box.hidden = !types.includes(type);
  }
}

function initEditor(editor) {
  const fields = JSON.parse(document.getElementById("designer-fields-data").textContent);
  const taken = JSON.parse(document.getElementById("designer-taken").textContent);
  const type = editor.querySelector("[name=field_type]");
  type.addEventListener("change", () => showColumns(editor));
  showColumns(editor);
  initNameSuggestion(editor, taken);
  let lastLogic = editor.querySelector("[name=branching_logic]");
  for (const name of ["branching_logic", "calculation"]) {
    const textarea = editor.querySelector(`[name=${name}]`);
    const status = textarea.closest(".dz-col").querySelector("[data-logic-status]");
    const run = debounce(() => checkLogic(editor.dataset.checkUrl, textarea, status), 250);
    textarea.addEventListener("input", run);
    textarea.addEventListener("focus", () => { lastLogic = textarea; });
    if (textarea.value.trim()) run();
  }
  initBuilder(editor, fields);
  for (const button of editor.querySelectorAll("[data-insert]")) {
    button.addEventListener("click", () => insertText(lastLogic, button.dataset.insert));
  }
  initTags(editor);
  initCalcTest(editor);
}

function initNameSuggestion(editor, taken) {
  const label = editor.querySelector("[name=field_label]");
  const name = editor.querySelector("[name=field_name]");
  const hint = editor.querySelector("[data-name-hint]");
  let typed = editor.dataset.new !== "1" || name.value !== "";
  name.addEventListener("input", () => {
    typed = name.value !== "";
    const ok = /^[a-z][a-z0-9_]*$/.test(name.value) && !taken.includes(name.value);
    name.setAttribute("aria-invalid", ok || !name.value ? "false" : "true");
    hint.textContent = ok || !name.value ? "" : hint.dataset.badName;
  });
  label.addEventListener("input", () => {
    if (!typed) name.value = nameFromLabel(label.value, taken);
  });
}

function insertText(textarea, text) {
  if (!textarea) return;
  const start = textarea.selectionStart ?? textarea.value.length;
  const end = textarea.selectionEnd ?? textarea.value.length;
  textarea.value = textarea.value.slice(0, start) + text + textarea.value.slice(end);
  textarea.dispatchEvent(new Event("input"));
  textarea.focus();
}

function initBuilder(editor, fields) {
  const box = editor.querySelector("[data-builder]");
  if (!box) return;
  const select = box.querySelector("[data-b-field]");
  const list = box.querySelector("datalist");
  const options = builderOptions(fields);
  for (const option of options) select.add(new Option(option.value, option.value));
  const fillValues = () => {
    const chosen = options.find((option) => option.value === select.value);
    list.replaceChildren(...(chosen ? chosen.values : []).map((value) => new Option(value, value)));
  };
  select.addEventListener("change", fillValues);
  fillValues();
  box.querySelector("[data-b-add]").addEventListener("click", () => {
    const logic = editor.querySelector("[name=branching_logic]");
    const condition = conditionText(select.value, box.querySelector("[data-b-op]").value, box.querySelector("[data-b-value]").value);
    logic.value = joinCondition(logic.value, condition, box.querySelector("[data-b-join]").value);
    logic.dispatchEvent(new Event("input"));
  });
}

function initTags(editor) {
  const box = editor.querySelector("[data-tags]");
  if (!box) return;
  const pick = box.querySelector("[data-tag-pick]");
  const help = box.querySelector("[data-tag-help]");
  pick.addEventListener("change", () => { help.textContent = pick.selectedOptions[0].dataset.help; });
  box.querySelector("[data-tag-add]").addEventListener("click", () => {
    const annotation = editor.querySelector("[name=field_annotation]");
    annotation.value = annotation.value.trim() ? `${annotation.value.trim()} ${pick.value}` : pick.value;
  });
}

function initCalcTest(editor) {
  const box = editor.querySelector("[data-calc-test]");
  const run = box && box.querySelector("[data-t-run]");
  if (!run) return;
  run.addEventListener("click", async () => {
    const body = new FormData();
    body.set("csrfmiddlewaretoken", editor.querySelector("[name=csrfmiddlewaretoken]").value);
    body.set("expression", editor.querySelector("[name=calculation]").value);
    body.set("record", box.querySelector("[data-t-record]").value);
    body.set("event", box.querySelector("[data-t-event]").value);
    const response = await fetch(editor.dataset.calcUrl, { method: "POST", body, credentials: "same-origin" });
    const answer = await response.json().catch(() => ({ ok: false, message: response.statusText }));
    const result = box.querySelector("[data-t-result]");
    result.textContent = answer.ok ? `= ${answer.value === "" ? result.dataset.blank : answer.value}` : answer.message;
    result.classList.toggle("text-danger", !answer.ok);
  });
}

if (typeof document !== "undefined") {
  const holder = document.querySelector("[data-designer]");
  if (holder) initFieldList(holder);
  const table = document.querySelector("[data-designer-reorder]");
  if (table) initInstrumentReorder(table);
  const editor = document.querySelector("[data-editor]");
  if (editor) initEditor(editor);
}
