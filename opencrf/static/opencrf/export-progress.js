// The export archive: polls the status of queued and running exports, moves their progress
// bars, and reloads the page once one has ended (to show its download link and checksum).
// A module loaded from our own origin (no inline script, so the page's CSP holds).

const table = document.querySelector(".crf-export-archive");
const POLL_MS = 1500;

function pending() {
  return Array.from(table.querySelectorAll("tr[data-export]")).filter((row) =>
    ["queued", "running"].includes(row.dataset.status),
  );
}

function show(row, state) {
  const label = row.querySelector("[data-running]");
  if (label && state.status === "running") label.textContent = label.dataset.running;
  const bar = row.querySelector("progress");
  if (bar) bar.value = state.percent;
  const rows = row.querySelector("[data-rows-label]");
  if (rows) {
    rows.textContent = `${state.rows_written} / ~${state.rows_expected} ${rows.dataset.rowsLabel}`;
  }
}

async function poll() {
  const rows = pending();
  if (!rows.length) return;
  const url = new URL(table.dataset.statusUrl, window.location.href);
  for (const row of rows) url.searchParams.append("id", row.dataset.export);
  try {
    const response = await fetch(url, { credentials: "same-origin" });
    if (response.ok) {
      const answer = await response.json();
      for (const state of answer.exports) {
        const row = table.querySelector(`tr[data-export="${state.id}"]`);
        if (!row) continue;
        if (state.status !== row.dataset.status && !["queued", "running"].includes(state.status)) {
          window.location.reload();
          return;
        }
        row.dataset.status = state.status;
        show(row, state);
      }
    }
  } catch (error) {
    // A dropped connection: try again at the next tick.
  }
  window.setTimeout(poll, POLL_MS);
}

if (table) window.setTimeout(poll, POLL_MS);
