// The idle-timeout warning. <body> carries the seconds left before the session ends
// (data-session-seconds), the keep-alive URL and the translated texts; shortly before the
// end, an alert offers "Stay signed in", which POSTs to the keep-alive URL with the CSRF
// token of the page's forms. At the end, the page reloads and the server shows the login.
"use strict";

(() => {
  const body = document.body;
  const url = body.dataset.keepAliveUrl;
  const seconds = Number(body.dataset.sessionSeconds);
  if (!url || !Number.isFinite(seconds) || seconds <= 0) return;

  const WARN_SECONDS = Math.min(120, Math.max(10, Math.floor(seconds / 4)));
  let deadline = Date.now() + seconds * 1000;
  let timer = 0;
  let tick = 0;
  let alertBox = null;

  const secondsLeft = () => Math.max(0, Math.round((deadline - Date.now()) / 1000));
  const clock = (left) => `${Math.floor(left / 60)}:${String(left % 60).padStart(2, "0")}`;

  function csrfToken() {
    const input = document.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  function hide() {
    window.clearInterval(tick);
    if (alertBox) alertBox.remove();
    alertBox = null;
  }

  function show() {
    if (alertBox) return;
    alertBox = document.createElement("div");
    alertBox.className = "alert alert-warning d-flex flex-wrap align-items-center gap-2 session-warning";
    alertBox.setAttribute("role", "alert");
    alertBox.dataset.testid = "session-warning";
    const text = document.createElement("span");
    const left = document.createElement("strong");
    text.textContent = body.dataset.sessionWarning + " ";
    text.append(left);
    const button = document.createElement("button");
    button.type = "button";
    button.className = "btn btn-sm btn-primary";
    button.textContent = body.dataset.sessionStay;
    button.addEventListener("click", stay);
    alertBox.append(text, button);
    (document.querySelector("main") || body).prepend(alertBox);
    const update = () => { left.textContent = clock(secondsLeft()); };
    update();
    tick = window.setInterval(update, 1000);
  }

  function schedule() {
    window.clearTimeout(timer);
    const left = secondsLeft();
    if (left <= 0) {
      window.location.reload();
      return;
    }
    if (left <= WARN_SECONDS) {
      show();
      timer = window.setTimeout(schedule, left * 1000);
    } else {
      timer = window.setTimeout(schedule, (left - WARN_SECONDS) * 1000);
    }
  }

  async function stay() {
    try {
      const response = await fetch(url, {
        method: "POST",
        credentials: "same-origin",
        headers: { "X-CSRFToken": csrfToken(), "X-Requested-With": "fetch" },
      });
      if (!response.ok) throw new Error(String(response.status));
      const answer = await response.json();
      deadline = Date.now() + Number(answer.seconds_left) * 1000;
      hide();
      schedule();
    } catch (_error) {
      window.location.reload();
    }
  }

  schedule();
})();
