// OpenCRF page behaviour that needs no framework. Loaded with `defer` on every page.
"use strict";

document.addEventListener("submit", (event) => {
  // A form submitted once shows it is working and cannot be sent twice by a double click.
  const form = event.target;
  if (!(form instanceof HTMLFormElement) || form.dataset.submitted) return;
  form.dataset.submitted = "1";
  window.setTimeout(() => {
    form.querySelectorAll("button[type=submit]").forEach((button) => { button.disabled = true; });
  }, 0);
});
