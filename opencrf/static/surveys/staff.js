// Staff survey pages: copy a survey link, and check the survey queue's logic as it is typed.
// A module loaded from our own origin (no inline script, so the page's CSP holds).

async function copyLink(button) {
  const input = document.getElementById(button.dataset.copy);
  if (!input) return;
  try {
    await navigator.clipboard.writeText(input.value);
  } catch {
    input.select();
    document.execCommand("copy");
  }
  const label = button.textContent;
  button.textContent = button.dataset.copied;
  setTimeout(() => {
    button.textContent = label;
  }, 1500);
}

for (const button of document.querySelectorAll(".crf-copy")) {
  button.addEventListener("click", () => copyLink(button));
}

const settings = document.querySelector(".crf-survey-settings");
const logic = settings?.querySelector("#id_queue_logic");
const status = settings?.querySelector("#queue-logic-status");
let pending = null;

async function checkLogic() {
  const url = new URL(settings.dataset.checkUrl, window.location.href);
  url.searchParams.set("logic", logic.value);
  const response = await fetch(url, { credentials: "same-origin" });
  if (!response.ok) return;
  const answer = await response.json();
  status.textContent = answer.problem || (logic.value.trim() ? status.dataset.ok : "");
  status.classList.toggle("text-danger", Boolean(answer.problem));
  status.classList.toggle("text-success", !answer.problem);
  logic.setAttribute("aria-invalid", answer.problem ? "true" : "false");
}

if (logic && status) {
  logic.setAttribute("aria-describedby", "queue-logic-status");
  logic.addEventListener("input", () => {
    clearTimeout(pending);
    pending = setTimeout(checkLogic, 300);
  });
}
