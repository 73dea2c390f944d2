// Live branching logic and calculations on a data-entry form.
//
// The server renders the form (templates/dictionary/render/) and a JSON block
//   <script type="application/json" id="crf-logic">
//     {"fields":  {"<name>": {"branching": <AST|null>, "calc": <AST|null>,
//                             "mode": "calc"|"text"|"date", "type": "<field type>"}, …},
//      "context": {…GRAMMAR.md §6…},
//      "depends": {"<field>": ["<field whose branching or calc reads it>", …], …}}
// with "fields" in dictionary order. The ASTs come from opencrf/logic (Python); this file
// never parses logic text.
//
// Two layers: createEngine(spec) is the pure core (values → visibility and calculated
// values, re-evaluating only what a change can affect); initFormLogic(root) is the thin DOM
// adapter that feeds it input events and applies its changes.
//
// Live piping: the server wraps each piped reference to a field of this form in
//   <span class="crf-pipe" data-pipe="<field>" data-pipe-mode="label|value|checked|unchecked"
//         data-pipe-type="<field type>" data-pipe-choices='[[code, label(, column)], …]'>
// (opencrf/dictionary/piping.py). pipeText() redoes piping.py's text for a value; the adapter
// rewrites the span (textContent only) whenever that field or its calculation changes.
import { LogicEvaluationError, evaluate, formatNumber } from "./logic.js";

// A calculation cycle (a reads b, b reads a) must not loop for ever: each field is
// re-evaluated at most this many times per change.
const MAX_PASSES_PER_FIELD = 8;

// ---------------------------------------------------------------- pure core

/** Every field name an AST reads (checkbox options count as their field). */
export function referencedFields(ast, into = new Set()) {
  // A loop, not recursion: a chain of operators may be thousands of nodes long.
  const stack = ast ? [ast] : [];
  while (stack.length) {
    const node = stack.pop();
    if (node.type === "field") into.add(node.name);
    for (const child of [node.operand, node.left, node.right, ...(node.args ?? [])]) {
      if (child) stack.push(child);
    }
  }
  return into;
}

/** field → fields whose branching or calc read it, derived from the ASTs. */
export function dependsFromAsts(fields) {
  const depends = {};
  for (const [name, field] of Object.entries(fields)) {
    const read = referencedFields(field.calc, referencedFields(field.branching));
    for (const source of read) {
      if (!Object.hasOwn(depends, source)) depends[source] = [];
      depends[source].push(name);
    }
  }
  return depends;
}

/** The field a values key belongs to: `race___a` → `race`. */
export function fieldOfKey(key, fields) {
  if (Object.hasOwn(fields, key)) return key;
  const cut = key.indexOf("___");
  return cut > 0 ? key.slice(0, cut) : key;
}

/** A set of field positions that gives back the smallest first (a binary min-heap). */
export class IndexQueue {
  constructor() {
    this.heap = [];
    this.queued = new Set();
  }

  get size() {
    return this.heap.length;
  }

  add(index) {
    if (this.queued.has(index)) return;
    this.queued.add(index);
    const heap = this.heap;
    let child = heap.push(index) - 1;
    while (child > 0) {
      const parent = (child - 1) >> 1;
      if (heap[parent] <= heap[child]) break;
      [heap[parent], heap[child]] = [heap[child], heap[parent]];
      child = parent;
    }
  }

  pop() {
    const heap = this.heap;
    const smallest = heap[0];
    const last = heap.pop();
    if (heap.length) {
      heap[0] = last;
      this.siftDown();
    }
    this.queued.delete(smallest);
    return smallest;
  }

  siftDown() {
    const heap = this.heap;
    let parent = 0;
    for (;;) {
      const left = 2 * parent + 1;
      const right = left + 1;
      let least = parent;
      if (left < heap.length && heap[left] < heap[least]) least = left;
      if (right < heap.length && heap[right] < heap[least]) least = right;
      if (least === parent) return;
      [heap[parent], heap[least]] = [heap[least], heap[parent]];
      parent = least;
    }
  }
}

/** A calculated value as the text its input shows and the values object stores. */
function calcText(value) {
  return typeof value === "number" ? formatNumber(value) : String(value ?? "");
}

/**
 * evaluate() for the form. An error shows the field and blanks the calculation: one broken
 * expression must neither hide data nor stop the rest of the form.
 */
function safeEvaluate(ast, values, context, mode) {
  try {
    return evaluate(ast, values, context, mode);
  } catch (error) {
    if (error instanceof LogicEvaluationError) console.warn("OpenCRF logic:", error.message);
    else console.error("OpenCRF logic:", error);
    return mode === "logic" ? true : "";
  }
}

/**
 * The form's logic without a DOM.
 * spec: the crf-logic JSON; values: initial stored values ({name or field___code: text}).
 * Returns {values, visibility, evaluateAll(), setValue(key, value)}: evaluateAll and
 * setValue return the changes {visibility: {name: shown}, calcs: {name: text}}.
 */
export function createEngine(spec, values = {}) {
  const fields = spec.fields ?? {};
  const context = spec.context ?? {};
  const depends = spec.depends ?? dependsFromAsts(fields);
  // Field names are the JSON's keys; own-property checks keep `constructor` a plain name.
  const names = Object.keys(fields);
  const order = new Map(names.map((name, index) => [name, index]));
  const state = { values: { ...values }, visibility: {} };

  /** Re-evaluate one field; record what changed. Returns true if its calculated value changed. */
  function refresh(name, changes) {
    const field = fields[name];
    if (field.branching) {
      const shown = safeEvaluate(field.branching, state.values, context, "logic");
      if (state.visibility[name] !== shown) changes.visibility[name] = shown;
      state.visibility[name] = shown;
    } else if (!Object.hasOwn(state.visibility, name)) {
      state.visibility[name] = true;
    }
    if (!field.calc) return false;
    // @CALCDATE gives a date text; GRAMMAR's text mode covers it.
    const mode = field.mode === "calc" || !field.mode ? "calc" : "text";
    const text = calcText(safeEvaluate(field.calc, state.values, context, mode));
    if ((state.values[name] ?? "") === text) return false;
    state.values[name] = text;
    changes.calcs[name] = text;
    return true;
  }

  /**
   * Refresh `start` fields and, transitively, whatever reads a changed calculation, always
   * the earliest pending field first (dictionary order): a field is evaluated after the
   * calculations above it that it reads.
   */
  function propagate(start) {
    const changes = { visibility: {}, calcs: {} };
    const pending = new IndexQueue();
    for (const name of start) pending.add(order.get(name));
    const passes = new Map();
    while (pending.size) {
      const name = names[pending.pop()];
      const count = (passes.get(name) ?? 0) + 1;
      passes.set(name, count);
      if (count > MAX_PASSES_PER_FIELD) continue;
      if (refresh(name, changes)) for (const next of dependentsOf(name)) pending.add(order.get(next));
    }
    return changes;
  }

  function dependentsOf(name) {
    const listed = Object.hasOwn(depends, name) ? depends[name] : [];
    return listed.filter((dependent) => order.has(dependent));
  }

  return {
    values: state.values,
    visibility: state.visibility,
    evaluateAll() {
      const changes = { visibility: {}, calcs: {} };
      for (const name of order.keys()) refresh(name, changes);
      // A field that reads a calculation further down the form saw its old value: redo those.
      const behind = Object.keys(changes.calcs).flatMap((calc) =>
        dependentsOf(calc).filter((dependent) => order.get(dependent) <= order.get(calc)));
      const more = propagate(behind);
      Object.assign(changes.visibility, more.visibility);
      Object.assign(changes.calcs, more.calcs);
      for (const name of order.keys()) changes.visibility[name] = state.visibility[name];
      return changes;
    },
    setValue(key, value) {
      const text = value ?? "";
      if ((state.values[key] ?? "") === text) return { visibility: {}, calcs: {} };
      state.values[key] = text;
      return propagate(dependentsOf(fieldOfKey(key, fields)));
    },
  };
}

// ---------------------------------------------------------------- piping

/** What piping.py shows for a blank value (its BLANK), so a reader sees where data goes. */
export const PIPE_BLANK = "______";

/**
 * The text a piped reference shows: piping.py's `_piped` for the field `spec`
 * ({name, type, choices: [[code, label(, column)], …]}) in `mode` ("label", "value",
 * "checked" or "unchecked"), given the form's values ({name or field___code: text}).
 */
export function pipeText(spec, mode, values) {
  const choices = spec.choices ?? [];
  const own = (key) => (Object.hasOwn(values, key) ? values[key] ?? "" : "");
  let text;
  if (spec.type === "checkbox") {
    const checked = choices.map(([, , column]) => own(column) === "1");
    const chosen = choices.filter((_, index) => checked[index] !== (mode === "unchecked"));
    text = chosen.map(([code, label]) => (mode === "value" ? code : label)).join(", ");
  } else {
    const value = own(spec.name);
    const found = choices.find(([code]) => code === value);
    text = mode === "value" || !value || !found ? value : found[1];
  }
  return text || PIPE_BLANK;
}

// ---------------------------------------------------------------- DOM adapter

/** The stored value of one input's field key, from the cached inputs sharing its name. */
export function inputValue(inputs) {
  const first = inputs[0];
  if (first.type === "radio") return inputs.find((input) => input.checked)?.value ?? "";
  if (first.type === "checkbox") return first.checked ? "1" : "0";
  return first.value;
}

function cacheInputs(root) {
  const byName = new Map();
  for (const input of root.querySelectorAll("input[name], select[name], textarea[name]")) {
    if (input.type === "file") continue;
    if (!byName.has(input.name)) byName.set(input.name, []);
    byName.get(input.name).push(input);
  }
  return byName;
}

function cacheRows(root) {
  const rows = new Map();
  for (const row of root.querySelectorAll("[data-field]")) {
    // @HIDDEN rows stay hidden whatever the logic says.
    rows.set(row.dataset.field, { row, alwaysHidden: row.hasAttribute("data-hidden") && row.hidden });
  }
  return rows;
}

/**
 * Section headers and matrix tables, each with the fields it holds: a group whose fields are
 * all hidden is hidden too, as in REDCap.
 */
function cacheGroups(root, rows) {
  const groupsOf = new Map();
  const join = (element, names) => {
    const group = { element, names };
    for (const name of names) (groupsOf.get(name) ?? groupsOf.set(name, []).get(name)).push(group);
  };
  for (const matrix of root.querySelectorAll("[data-matrix]")) {
    join(matrix, [...matrix.querySelectorAll("[data-field]")].map((row) => row.dataset.field));
  }
  let section = null;
  for (const element of root.querySelectorAll("[data-section-of], [data-field]")) {
    if (element.hasAttribute("data-section-of")) {
      if (section) join(section.element, section.names);
      section = { element, names: [] };
    } else if (section) {
      section.names.push(element.dataset.field);
    }
  }
  if (section) join(section.element, section.names);
  return { groupsOf, rows };
}

function applyGroups({ groupsOf, rows }, names) {
  const touched = new Set(names.flatMap((name) => groupsOf.get(name) ?? []));
  for (const group of touched) {
    const hidden = group.names.length > 0 && group.names.every((name) => rows.get(name)?.row.hidden);
    if (group.element.hidden !== hidden) group.element.hidden = hidden;
  }
}

function applyVisibility(rows, visibility, announce) {
  for (const [name, shown] of Object.entries(visibility)) {
    const entry = rows.get(name);
    if (!entry) continue;
    const hidden = !shown || entry.alwaysHidden;
    if (entry.row.hidden === hidden) continue;
    entry.row.hidden = hidden;
    // Data entry listens to offer erasing the value of a field that became hidden.
    if (hidden && announce) {
      entry.row.dispatchEvent(new CustomEvent("crf:hidden", { bubbles: true, detail: { field: name } }));
    }
  }
}

function applyCalcs(inputs, calcs) {
  for (const [name, text] of Object.entries(calcs)) {
    for (const input of inputs.get(name) ?? []) input.value = text;
  }
}

/** field name → the live piping spans showing it, each with its parsed spec. */
function cachePipes(root) {
  const pipes = new Map();
  for (const span of root.querySelectorAll("span.crf-pipe[data-pipe]")) {
    const name = span.dataset.pipe;
    let choices = [];
    try {
      choices = JSON.parse(span.dataset.pipeChoices ?? "[]");
    } catch {
      continue; // Not written by the server: leave the server's text.
    }
    const spec = { name, type: span.dataset.pipeType ?? "", choices };
    if (!pipes.has(name)) pipes.set(name, []);
    pipes.get(name).push({ span, spec, mode: span.dataset.pipeMode ?? "label" });
  }
  return pipes;
}

function applyPipes(pipes, names, values) {
  for (const name of new Set(names)) {
    for (const { span, spec, mode } of pipes.get(name) ?? []) {
      const text = pipeText(spec, mode, values);
      if (span.textContent !== text) span.textContent = text;
    }
  }
}

/** Start live logic on the form under `root`; returns the engine (or null without a spec). */
export function initFormLogic(root = document) {
  const block = root.querySelector("script#crf-logic[type='application/json']");
  if (!block) return null;
  const spec = JSON.parse(block.textContent);
  const inputs = cacheInputs(root);
  const rows = cacheRows(root);
  const values = {};
  for (const [key, group] of inputs) values[key] = inputValue(group);
  const engine = createEngine(spec, values);

  const groups = cacheGroups(root, rows);
  const pipes = cachePipes(root);

  // `edited`: the field a person changed, whose piped text follows it with the calculations.
  const apply = (changes, announce, edited = []) => {
    applyVisibility(rows, changes.visibility, announce);
    applyGroups(groups, Object.keys(changes.visibility));
    applyCalcs(inputs, changes.calcs);
    if (pipes.size) applyPipes(pipes, [...edited, ...Object.keys(changes.calcs)], engine.values);
  };
  apply(engine.evaluateAll(), false);

  const onEdit = (event) => {
    const group = event.target?.name ? inputs.get(event.target.name) : undefined;
    if (!group || !group.includes(event.target)) return;
    const edited = [fieldOfKey(event.target.name, spec.fields ?? {})];
    apply(engine.setValue(event.target.name, inputValue(group)), true, edited);
  };
  root.addEventListener("input", onEdit);
  root.addEventListener("change", onEdit);
  return engine;
}

if (typeof document !== "undefined") {
  const start = () => initFormLogic(document);
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
}
