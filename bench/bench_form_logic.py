"""Time live form logic in headless Chromium on a 1,000-field instrument.

    python bench/bench_form_logic.py [--fields 1000] [--runs 50]

Builds a 1,000-field instrument (text, number, radio and checkbox fields; about 300 with
branching logic reading earlier fields, about 100 calculations chained one after the other),
parses its logic with opencrf.logic, and writes a self-contained page to a temporary folder:
the field rows as the renderer marks them up, the `crf-logic` JSON block, and
static/opencrf/form-logic.js with logic.js beside it. Python's http.server serves the folder on
127.0.0.1 and Playwright drives /usr/bin/chromium.

Inside the page, performance.now() measures one change: dispatching an `input` event on a
field with many dependents and the synchronous update that follows (and, separately, with the
style and layout it forces). Two drivers: a radio button read by 100 branching rules and by
the head of the calculation chain, and a number that feeds all 100 calculations. Also timed:
the first full evaluation (initFormLogic on a copy of the form). Target: one change in 16 ms
or less (one frame at 60 Hz).
"""

from __future__ import annotations

import argparse
import functools
import html
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from opencrf.logic import parse  # noqa: E402

STATIC = ROOT / "opencrf" / "static" / "opencrf"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
KINDS = ("text", "number", "radio", "checkbox")
DRIVER = "f0001"  # radio 0/1/2: 100 branching rules and the calculation chain read it
BASE = "f0002"  # number: every calculation reads it
CHOICES = (("0", "No"), ("1", "Yes"), ("2", "Unknown"))


# ---------------------------------------------------------------- the instrument


def field_name(index: int) -> str:
    return f"f{index:04d}"


def field_kind(index: int) -> str:
    if index == 1:
        return "radio"
    if index == 2:
        return "number"
    if index % 10 == 0:
        return "calc"
    return KINDS[index % 4]


def earlier(index: int, kind: str, *, back: int = 1) -> str:
    """The name of a field of `kind` before `index` (the `back`-th one counting backwards)."""
    for other in range(index - 1, 2, -1):
        if field_kind(other) == kind:
            back -= 1
            if back == 0:
                return field_name(other)
    return BASE


def calculation(index: int) -> str:
    """Each calculation reads the one before it, the base number and a nearby number."""
    if index == 10:
        return f"[{BASE}] * [{DRIVER}]"
    previous = field_name(index - 10)
    number = earlier(index, "number")
    return f"round([{previous}] + [{BASE}] * 2 + sum([{number}], 1) / 3, 2)"


def branching(index: int) -> str | None:
    """About 300 rules: a third read the driver, a third a calculation, a third other fields."""
    rest = index % 10
    if rest == 1:
        return f"[{DRIVER}] = '1' and [{earlier(index, 'text')}] <> 'skip'"
    if rest == 4:
        checkbox = earlier(index, "checkbox")
        calc = field_name(max(10, index - index % 10))
        return f"[{checkbox}(2)] = '1' or [{calc}] > {index // 2}"
    if rest == 7:
        number, text = earlier(index, "number"), earlier(index, "text")
        return (
            f"sum([{number}], [{earlier(index, 'number', back=2)}]) > 5 or contains([{text}], 'x')"
        )
    return None


def initial_value(index: int, kind: str) -> str:
    if index == 1:
        return "1"
    if kind == "number":
        return str(index % 13)
    if kind == "text":
        return "abc" if index % 3 else "xyz"
    if kind == "radio":
        return CHOICES[index % 3][0]
    return ""


def walk(node: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield node
    for key in ("operand", "left", "right"):
        if key in node:
            yield from walk(node[key])
    for arg in node.get("args", []):
        yield from walk(arg)


def build_spec(count: int) -> tuple[dict[str, Any], dict[str, str]]:
    """The crf-logic JSON and the stored values of the instrument."""
    fields: dict[str, Any] = {}
    values: dict[str, str] = {}
    for index in range(1, count + 1):
        name, kind = field_name(index), field_kind(index)
        logic = branching(index) if index > 2 else None
        calc = calculation(index) if kind == "calc" else None
        fields[name] = {
            "branching": parse(logic) if logic else None,
            "calc": parse(calc) if calc else None,
            "mode": "calc",
            "type": kind,
        }
        if kind == "checkbox":
            for code, _ in CHOICES:
                values[f"{name}___{code}"] = "1" if (index + int(code)) % 3 == 0 else "0"
        elif kind != "calc":
            values[name] = initial_value(index, kind)
    depends: dict[str, list[str]] = {}
    for name, field in fields.items():
        read = {
            node["name"]
            for ast in (field["branching"], field["calc"])
            if ast
            for node in walk(ast)
            if node["type"] == "field"
        }
        for source in sorted(read):
            depends.setdefault(source, []).append(name)
    return {"fields": fields, "context": {"record": "1", "instance": 1}, "depends": depends}, values


# ---------------------------------------------------------------- the page


def input_markup(name: str, kind: str, values: dict[str, str]) -> str:
    ident = f"id-{name}"
    if kind in ("radio", "checkbox"):
        options = []
        for code, label in CHOICES:
            column = f"{name}___{code}" if kind == "checkbox" else name
            value = "1" if kind == "checkbox" else code
            checked = values.get(column) == value
            mark = " checked" if checked else ""
            options.append(
                f'<div class="form-check"><input class="form-check-input" type="{kind}" '
                f'id="{ident}-{code}" name="{column}" value="{value}"{mark}>'
                f'<label class="form-check-label" for="{ident}-{code}">{label}</label></div>'
            )
        role = "radiogroup" if kind == "radio" else "group"
        return f'<div class="crf-choices" role="{role}">{"".join(options)}</div>'
    css = "form-control crf-calc" if kind == "calc" else "form-control"
    extra = " readonly" if kind == "calc" else (' inputmode="decimal"' if kind == "number" else "")
    value = html.escape(values.get(name, ""))
    return f'<input type="text" class="{css}" id="{ident}" name="{name}" value="{value}"{extra}>'


def row_markup(index: int, spec: dict[str, Any], values: dict[str, str]) -> str:
    name = field_name(index)
    kind = spec["fields"][name]["type"]
    data_type = {"number": "text", "calc": "calc"}.get(kind, kind)
    header = ""
    if index % 50 == 1:
        header = (
            f'<h2 class="crf-section" data-section-of="{name}">Section {index // 50 + 1}</h2>\n'
        )
    return (
        f'{header}<div class="crf-field" data-field="{name}" data-type="{data_type}">'
        f'<label class="crf-label" id="id-{name}-label" for="id-{name}">Question {index}</label>'
        f'<div class="crf-input">{input_markup(name, kind, values)}</div></div>'
    )


# The page links the shipped form stylesheet (its `content-visibility` rule lets Chromium skip
# layout of rows outside the viewport); --plain measures without it.
SHIPPED_CSS = '<link rel="stylesheet" href="crf.css">'


def page_markup(spec: dict[str, Any], values: dict[str, str], count: int, extra_css: str) -> str:
    rows = "\n".join(row_markup(index, spec, values) for index in range(1, count + 1))
    # `</` must not end the JSON block early (the server's block has the same concern).
    data = json.dumps(spec, separators=(",", ":")).replace("</", "<\\/")
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        "<title>form logic bench</title>"
        '<link rel="stylesheet" href="crf.css">'
        f"{extra_css}</head><body>\n"
        f'<form id="crf"><div class="crf-form">\n{rows}\n</div>\n'
        f'<script type="application/json" id="crf-logic">{data}</script></form>\n'
        '<script type="module" src="form-logic.js"></script>\n'
        "</body></html>\n"
    )


def write_site(folder: Path, count: int, extra_css: str) -> None:
    spec, values = build_spec(count)
    page = page_markup(spec, values, count, extra_css)
    (folder / "index.html").write_text(page, encoding="utf-8")
    for name in ("form-logic.js", "logic.js", "crf.css"):
        shutil.copy(STATIC / name, folder / name)


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


def serve(folder: Path) -> ThreadingHTTPServer:
    handler = functools.partial(QuietHandler, directory=str(folder))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


# ---------------------------------------------------------------- measuring in the page

MEASURE = """
async ({driver, base, runs, warmup}) => {
  const form = document.getElementById("crf");
  const frame = () => new Promise((done) => requestAnimationFrame(() => setTimeout(done, 0)));
  const hiddenRows = () => form.querySelectorAll("[data-field][hidden]").length;

  async function timeChanges(change) {
    const update = [], withLayout = [], flipped = [];
    for (let i = 0; i < warmup + runs; i += 1) {
      const before = hiddenRows();
      const target = change(i);
      const t0 = performance.now();
      target.dispatchEvent(new Event("input", { bubbles: true }));
      const t1 = performance.now();
      void document.body.offsetHeight; // style and layout, as the next frame would
      const t2 = performance.now();
      if (i >= warmup) {
        update.push(t1 - t0);
        withLayout.push(t2 - t0);
        flipped.push(Math.abs(hiddenRows() - before));
      }
      await frame();
    }
    return { update, withLayout, flipped };
  }

  const radios = [...form.querySelectorAll(`input[name="${driver}"]`)];
  const radio = await timeChanges((i) => {
    const target = radios[i % 2 === 0 ? 0 : 1];
    target.checked = true;
    return target;
  });
  const number = form.querySelector(`input[name="${base}"]`);
  const typing = await timeChanges((i) => {
    number.value = String(5 + (i % 7));
    return number;
  });

  const { initFormLogic } = await import("./form-logic.js");
  const init = [];
  for (let i = 0; i < 7; i += 1) {
    const copy = form.cloneNode(true);
    document.body.append(copy);
    const t0 = performance.now();
    initFormLogic(copy);
    init.push(performance.now() - t0);
    copy.remove();
    await frame();
  }
  // The same forced layout after hiding and showing one row, without any logic: what the
  // page's size alone costs per frame.
  const row = form.querySelector("[data-field]:not([hidden])");
  const layoutOnly = [];
  for (let i = 0; i < warmup + runs; i += 1) {
    const t0 = performance.now();
    row.hidden = !row.hidden;
    void document.body.offsetHeight;
    if (i >= warmup) layoutOnly.push(performance.now() - t0);
    await frame();
  }
  const calcs = form.querySelectorAll("input.crf-calc").length;
  return { radio, typing, init, layoutOnly, calcs, hidden: hiddenRows() };
}
"""


def summary(times: list[float]) -> str:
    ordered = sorted(times)
    p90 = ordered[max(0, round(0.9 * len(ordered)) - 1)]
    median = statistics.median(ordered)
    return f"median {median:6.2f} ms   p90 {p90:6.2f} ms   max {ordered[-1]:6.2f} ms"


def machine() -> str:
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()} CPUs ({model}), {platform.system()} {platform.release()}"


def run(count: int, runs: int, warmup: int, extra_css: str) -> None:
    from playwright.sync_api import sync_playwright

    folder = Path(tempfile.mkdtemp(prefix="opencrf-bench-logic-"))
    server = serve(folder)
    try:
        write_site(folder, count, extra_css)
        size = (folder / "index.html").stat().st_size
        url = f"http://127.0.0.1:{server.server_address[1]}/index.html"
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda error: errors.append(str(error)))
            page.goto(url, wait_until="load")
            result = page.evaluate(
                MEASURE, {"driver": DRIVER, "base": BASE, "runs": runs, "warmup": warmup}
            )
            version = browser.version
            browser.close()
        if errors:
            raise SystemExit(f"page errors: {errors}")
    finally:
        server.shutdown()
        shutil.rmtree(folder, ignore_errors=True)

    print(f"machine: {machine()}; Chromium {version}")
    print(f"instrument: {count} fields, {result['calcs']} calculations, page {size / 1024:.0f} KiB")
    print(f"one change, {runs} runs after {warmup} warm-ups (target <= 16 ms):")
    for label, key in (
        ("radio read by 100 rules + chain", "radio"),
        ("number read by 100 calcs", "typing"),
    ):
        measured = result[key]
        print(f"  {label:32s} update        {summary(measured['update'])}")
        print(f"  {'':32s} update+layout {summary(measured['withLayout'])}")
        flipped = statistics.median(measured["flipped"])
        print(f"  {'':32s} rows shown/hidden per change: {flipped:.0f}")
    label = "one row hidden/shown, no logic"
    print(f"  {label:32s} layout        {summary(result['layoutOnly'])}")
    print(f"first full evaluation (initFormLogic, 7 runs): {summary(result['init'])}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--fields", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument(
        "--plain", action="store_true", help="leave out the shipped crf.css (for comparison)"
    )
    options = parser.parse_args()
    extra_css = "" if options.plain else SHIPPED_CSS
    run(options.fields, options.runs, options.warmup, extra_css)


if __name__ == "__main__":
    main()
