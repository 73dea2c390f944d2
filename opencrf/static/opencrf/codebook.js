// The codebook's search box filters fields as one types (the server's ?q= does the same
// without JavaScript): a field shows when its text holds every word typed.
(function () {
  "use strict";
  const input = document.querySelector("[data-codebook-filter]");
  const none = document.querySelector("[data-codebook-none]");
  const printButton = document.querySelector("[data-codebook-print]");
  if (printButton) printButton.addEventListener("click", () => window.print());
  if (!input) return;

  function filter() {
    const words = input.value.toLowerCase().split(/\s+/).filter(Boolean);
    let shown = 0;
    for (const section of document.querySelectorAll("[data-codebook-instrument]")) {
      let inSection = 0;
      for (const row of section.querySelectorAll("[data-codebook-field]")) {
        const text = row.dataset.search || "";
        const match = words.every((word) => text.includes(word));
        row.hidden = !match;
        const header = row.previousElementSibling;
        if (header && header.hasAttribute("data-codebook-section")) header.hidden = !match;
        if (match) inSection += 1;
      }
      section.hidden = inSection === 0;
      shown += inSection;
    }
    if (none) none.hidden = shown > 0;
  }

  input.addEventListener("input", filter);
})();
