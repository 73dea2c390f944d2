/**
 * Data entry page behaviour (loaded as a module, CSP-safe: no inline code).
 *
 * - When branching logic hides a field that holds a value, ask whether to erase it
 *   (`crf:hidden`, sent by form-logic.js); erasing fires input events so calculations follow.
 * - An untouched slider is not submitted, so it stays blank rather than saving its midpoint.
 * - Warn before leaving the page with unsaved changes.
 * - Enter in a one-line input does not submit the form (as in REDCap); Enter in a textarea
 *   still starts a new line and Enter on a button still presses it.
 * - A link of the error or warning summary focuses its field (not only scrolls to it).
 * Date and time pickers and searchable dropdowns are widgets.js, loaded beside this module.
 * Translated texts come from `data-` attributes on the form.
 */

// Input types whose Enter does their own job (press, choose a file); in any other input
// Enter would submit the form.
const ENTER_PRESSES = new Set(["submit", "button", "image", "reset", "file"]);

const form = document.getElementById("crf-entry");

function inputsOf(row) {
  return [...row.querySelectorAll("input[name], select[name], textarea[name]")].filter(
    (input) => input.type !== "file" && !input.disabled && !input.readOnly,
  );
}

function hasValue(input) {
  if (input.type === "radio" || input.type === "checkbox") return input.checked;
  if (input.type === "range") return input.dataset.touched === "1" || input.hasAttribute("value");
  return input.value !== "";
}

function clear(input) {
  if (input.type === "radio" || input.type === "checkbox") input.checked = false;
  else if (input.type === "range") {
    input.removeAttribute("value");
    delete input.dataset.touched;
  } else input.value = "";
  input.dispatchEvent(new Event("input", { bubbles: true }));
  input.dispatchEvent(new Event("change", { bubbles: true }));
}

function onHidden(event) {
  const row = event.target;
  const inputs = inputsOf(row);
  if (!inputs.some(hasValue)) return;
  const question = form.dataset.eraseQuestion;
  const label = row.querySelector(".crf-label, .crf-matrix-label")?.textContent?.trim() ?? "";
  if (window.confirm(label ? `${question}\n\n${label}` : question)) inputs.forEach(clear);
}

function trackSliders() {
  for (const slider of form.querySelectorAll("input[type='range']")) {
    slider.addEventListener("input", () => { slider.dataset.touched = "1"; });
  }
  form.addEventListener("submit", () => {
    for (const slider of form.querySelectorAll("input[type='range']")) {
      if (!hasValue(slider)) slider.disabled = true;
    }
  });
}

function warnBeforeLeaving() {
  let dirty = false;
  let submitting = false;
  // Widgets (widgets.js) write values for a person's click and say so in `detail.widget`.
  const mark = (event) => { if (event.isTrusted || event.detail?.widget) dirty = true; };
  form.addEventListener("input", mark);
  form.addEventListener("change", mark);
  form.addEventListener("submit", () => { submitting = true; });
  window.addEventListener("beforeunload", (event) => {
    if (!dirty || submitting) return;
    event.preventDefault();
    event.returnValue = form.dataset.leaveWarning ?? "";
  });
}

function markErrors() {
  for (const error of form.querySelectorAll(".crf-error")) {
    const row = error.previousElementSibling;
    if (!row) continue;
    for (const input of row.querySelectorAll("input, select, textarea")) {
      input.setAttribute("aria-invalid", "true");
      input.setAttribute("aria-describedby", error.id);
      if (input.classList.contains("form-control") || input.classList.contains("form-select")) {
        input.classList.add("is-invalid");
      }
    }
  }
}

/** Summary links (`data-focus`) move the focus to their field's input, so typing can start. */
function focusFromSummary(event) {
  const link = event.target instanceof Element ? event.target.closest("a[data-focus]") : null;
  if (!link) return;
  const target = document.getElementById(link.dataset.focus);
  if (!target) return;
  event.preventDefault();
  target.scrollIntoView({ block: "center" });
  target.focus({ preventScroll: true });
}

function keepEnterFromSubmitting(event) {
  if (event.key !== "Enter" || event.isComposing) return;
  const target = event.target;
  if (target instanceof HTMLInputElement && !ENTER_PRESSES.has(target.type)) event.preventDefault();
}

if (form) {
  form.addEventListener("keydown", keepEnterFromSubmitting);
  form.addEventListener("crf:hidden", onHidden);
  trackSliders();
  warnBeforeLeaving();
  markErrors();
  document.addEventListener("click", focusFromSummary);
}
