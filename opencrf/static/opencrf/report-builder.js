// The report builder: search fields, select a whole instrument, check the filter as typed.
// A module loaded from our own origin (no inline script, so the page's CSP holds).

const builder = document.querySelector(".crf-report-builder");

function searchFields(text) {
  const words = text.trim().toLowerCase().split(/\s+/).filter(Boolean);
  for (const item of builder.querySelectorAll(".crf-report-field")) {
    const haystack = item.dataset.search || "";
    item.hidden = !words.every((word) => haystack.includes(word));
  }
}

function selectForm(form) {
  const boxes = builder.querySelectorAll(`input[name="fields"][data-form="${CSS.escape(form)}"]`);
  const all = Array.from(boxes).every((box) => box.checked);
  for (const box of boxes) box.checked = !all;
}

let pending = null;
async function checkLogic(textarea, status) {
  const url = new URL(builder.dataset.checkUrl, window.location.href);
  url.searchParams.set("logic", textarea.value);
  const response = await fetch(url, { credentials: "same-origin" });
  if (!response.ok) return;
  const answer = await response.json();
  status.textContent = answer.problem || (textarea.value.trim() ? status.dataset.ok : "");
  status.classList.toggle("text-danger", Boolean(answer.problem));
  status.classList.toggle("text-success", !answer.problem);
  textarea.setAttribute("aria-invalid", answer.problem ? "true" : "false");
}

if (builder) {
  const search = builder.querySelector("#field-search");
  search?.addEventListener("input", () => searchFields(search.value));
  for (const button of builder.querySelectorAll(".crf-select-form")) {
    button.addEventListener("click", (event) => {
      event.preventDefault();
      selectForm(button.dataset.form);
    });
  }
  const logic = builder.querySelector("#filter-logic");
  const status = builder.querySelector("#filter-status");
  logic?.addEventListener("input", () => {
    clearTimeout(pending);
    pending = setTimeout(() => checkLogic(logic, status), 300);
  });
}
