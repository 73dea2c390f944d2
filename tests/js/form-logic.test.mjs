// The pure core of form-logic.js: which fields a change re-evaluates, in which order, and
// what it reports. The DOM adapter is exercised in Chromium by bench/bench_form_logic.py.
import assert from "node:assert/strict";
import { test } from "node:test";

import {
  createEngine,
  dependsFromAsts,
  fieldOfKey,
  inputValue,
  IndexQueue,
  referencedFields,
} from "../../opencrf/static/opencrf/form-logic.js";

const num = (value) => ({ type: "number", value, pos: 0 });
const field = (name, code = null) => ({ type: "field", name, code, event: null, instance: null, pos: 0 });
const bin = (op, left, right) => ({ type: "binary", op, left, right, pos: 0 });
const sum = (...args) => ({ type: "call", name: "sum", args, pos: 0 });

// weight, height → bmi (calc) → obese (shown if bmi > 30); bmi_x2 reads bmi; race checkbox.
function studySpec() {
  const fields = {
    weight: { branching: null, calc: null, mode: "calc", type: "text" },
    height: { branching: null, calc: null, mode: "calc", type: "text" },
    bmi: {
      branching: null,
      calc: bin("/", field("weight"), bin("^", bin("/", field("height"), num(100)), num(2))),
      mode: "calc",
      type: "calc",
    },
    obese: { branching: bin(">", field("bmi"), num(30)), calc: null, mode: "calc", type: "yesno" },
    bmi_x2: { branching: null, calc: bin("*", field("bmi"), num(2)), mode: "calc", type: "calc" },
    race: { branching: null, calc: null, mode: "calc", type: "checkbox" },
    race_other: { branching: bin("=", field("race", "99"), num(1)), calc: null, mode: "calc", type: "text" },
  };
  return { fields, context: {}, depends: dependsFromAsts(fields) };
}

test("dependencies are derived from the ASTs when the spec has none", () => {
  assert.deepEqual(dependsFromAsts(studySpec().fields), {
    weight: ["bmi"],
    height: ["bmi"],
    bmi: ["obese", "bmi_x2"],
    race: ["race_other"],
  });
  assert.deepEqual([...referencedFields(studySpec().fields.race_other.branching)], ["race"]);
});

test("a checkbox key belongs to its field", () => {
  const { fields } = studySpec();
  assert.equal(fieldOfKey("race___99", fields), "race");
  assert.equal(fieldOfKey("weight", fields), "weight");
});

test("the first evaluation reports every field's visibility and the calculations", () => {
  const engine = createEngine(studySpec(), { weight: "90", height: "150" });
  const changes = engine.evaluateAll();
  assert.deepEqual(changes.calcs, { bmi: "40", bmi_x2: "80" });
  assert.deepEqual(changes.visibility, {
    weight: true, height: true, bmi: true, obese: true, bmi_x2: true, race: true, race_other: false,
  });
});

test("a change re-evaluates its dependents transitively and reports only what changed", () => {
  const engine = createEngine(studySpec(), { weight: "90", height: "150" });
  engine.evaluateAll();
  assert.deepEqual(engine.setValue("weight", "45"), { visibility: { obese: false }, calcs: { bmi: "20", bmi_x2: "40" } });
  assert.deepEqual(engine.setValue("weight", "45"), { visibility: {}, calcs: {} });
  assert.deepEqual(engine.setValue("height", ""), { visibility: {}, calcs: { bmi: "", bmi_x2: "" } });
  assert.equal(engine.values.bmi, "");
});

test("a checkbox option change shows the field that reads it", () => {
  const engine = createEngine(studySpec(), {});
  engine.evaluateAll();
  assert.deepEqual(engine.setValue("race___99", "1"), { visibility: { race_other: true }, calcs: {} });
  assert.deepEqual(engine.setValue("race___99", "0"), { visibility: { race_other: false }, calcs: {} });
});

test("dependents run in dictionary order, after the calculations above them", () => {
  // c (calc, first) reads b; b (calc) reads a; a change to a must settle b before c.
  const fields = {
    c: { branching: null, calc: bin("+", field("b"), num(1)), mode: "calc", type: "calc" },
    a: { branching: null, calc: null, mode: "calc", type: "text" },
    b: { branching: null, calc: bin("*", field("a"), num(10)), mode: "calc", type: "calc" },
    d: { branching: bin(">", field("c"), num(20)), calc: null, mode: "calc", type: "text" },
  };
  const engine = createEngine({ fields, depends: { a: ["b"], b: ["c"], c: ["d"] } }, { a: "1" });
  assert.deepEqual(engine.evaluateAll().calcs, { b: "10", c: "11" });
  const changes = engine.setValue("a", "3");
  assert.deepEqual(Object.keys(changes.calcs), ["b", "c"]);
  assert.deepEqual(changes, { visibility: { d: true }, calcs: { b: "30", c: "31" } });
});

test("a calculation cycle stops instead of looping", () => {
  const fields = {
    a: { branching: null, calc: sum(field("x"), field("b")), mode: "calc", type: "calc" },
    b: { branching: null, calc: sum(field("a"), num(1)), mode: "calc", type: "calc" },
    x: { branching: null, calc: null, mode: "calc", type: "text" },
  };
  const spec = { fields, depends: { a: ["b"], b: ["a"], x: ["a"] } };
  const engine = createEngine(spec, {});
  engine.evaluateAll();
  // a = x + b and b = a + 1 never settle; each is redone at most 8 times.
  const changes = engine.setValue("x", "1");
  assert.equal(Number(changes.calcs.b) - Number(changes.calcs.a), 1);
});

test("text calculations keep their text", () => {
  const fields = {
    name: { branching: null, calc: null, mode: "calc", type: "text" },
    greeting: {
      branching: null,
      calc: { type: "call", name: "concat", args: [{ type: "string", value: "Hi ", pos: 0 }, field("name")], pos: 0 },
      mode: "text",
      type: "text",
    },
  };
  const engine = createEngine({ fields }, { name: "Ana" });
  assert.deepEqual(engine.evaluateAll().calcs, { greeting: "Hi Ana" });
});

test("input values: the checked radio, a checkbox as 1/0, other inputs' value", () => {
  const radio = (value, checked) => ({ type: "radio", value, checked });
  assert.equal(inputValue([radio("1", false), radio("2", true)]), "2");
  assert.equal(inputValue([radio("1", false), radio("2", false)]), "");
  assert.equal(inputValue([{ type: "checkbox", value: "1", checked: true }]), "1");
  assert.equal(inputValue([{ type: "checkbox", value: "1", checked: false }]), "0");
  assert.equal(inputValue([{ type: "select-one", value: "3" }]), "3");
  assert.equal(inputValue([{ type: "text", value: "abc" }]), "abc");
});

test("the queue of pending fields gives the earliest first, each once", () => {
  const queue = new IndexQueue();
  for (const index of [5, 1, 9, 1, 3, 7, 0, 5]) queue.add(index);
  const popped = [];
  while (queue.size) popped.push(queue.pop());
  assert.deepEqual(popped, [0, 1, 3, 5, 7, 9]);
  queue.add(3); // a field may be queued again once it has been evaluated
  assert.deepEqual([queue.pop(), queue.size], [3, 0]);
});

// The page's context.data: {event: {instance: {column: value}}} (docs/subsystems/logic.md).
test("other events and the event's other forms are read from context.data by event and instance", () => {
  const at = (event, name) => ({ type: "field", name, code: null, event, instance: null, pos: 0 });
  const text = (value) => ({ type: "string", value, pos: 0 });
  const fields = {
    v_weight: { branching: null, calc: null, mode: "calc", type: "text" },
    v_bmi: {
      branching: null,
      calc: bin("/", field("v_weight"), bin("^", bin("/", at("baseline_arm_1", "height"), num(100)), num(2))),
      mode: "calc",
      type: "calc",
    },
    adherence: { branching: bin("=", at("screening_arm_1", "rand_group"), text("1")), calc: null, mode: "calc", type: "radio" },
    ae_seen: { branching: bin("=", field("ae_any"), text("1")), calc: null, mode: "calc", type: "text" },
  };
  const context = {
    event: "week_12_arm_1",
    events: ["screening_arm_1", "baseline_arm_1", "week_12_arm_1"],
    instance: 1,
    data: {
      screening_arm_1: { 1: { rand_group: "1" } },
      baseline_arm_1: { 1: { height: "200" } },
      week_12_arm_1: { 1: { ae_any: "1" } },
    },
  };
  const engine = createEngine({ fields, context, depends: dependsFromAsts(fields) }, { v_weight: "80" });
  const changes = engine.evaluateAll();
  assert.equal(changes.calcs.v_bmi, "20");
  assert.equal(engine.visibility.adherence, true);
  assert.equal(engine.visibility.ae_seen, true);
});
