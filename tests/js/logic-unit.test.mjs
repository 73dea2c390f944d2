// Hand-made ASTs (GRAMMAR.md §4) that document the browser evaluator's behaviour. The shared
// corpus (logic.test.mjs) is the contract with Python; these tests pin down the pieces.
import assert from "node:assert/strict";
import { test } from "node:test";

import {
  LogicEvaluationError,
  MAX_STEPS,
  evaluate,
  exactExp,
  exactLog,
  exactPow,
  formatNumber,
  truthy,
} from "../../opencrf/static/opencrf/logic.js";

const num = (value) => ({ type: "number", value, pos: 0 });
const str = (value) => ({ type: "string", value, pos: 0 });
const bool = (value) => ({ type: "boolean", value, pos: 0 });
const field = (name, extra = {}) => ({ type: "field", name, code: null, event: null, instance: null, pos: 0, ...extra });
const smart = (name) => ({ type: "smart", name, pos: 0 });
const bin = (op, left, right) => ({ type: "binary", op, left, right, pos: 0 });
const neg = (operand) => ({ type: "unary", op: "-", operand, pos: 0 });
const fn = (name, ...args) => ({ type: "call", name, args, pos: 0 });

const calc = (ast, values = {}, context = {}) => evaluate(ast, values, context, "calc");
const text = (ast, values = {}, context = {}) => evaluate(ast, values, context, "text");
const logic = (ast, values = {}, context = {}) => evaluate(ast, values, context, "logic");

test("truthiness follows GRAMMAR §5", () => {
  assert.deepEqual(
    ["", "0", " 0.0 ", "abc", "1", 0, 2, NaN, true, false].map(truthy),
    [false, false, false, true, true, false, true, false, true, false],
  );
});

test("numbers are formatted like Number.prototype.toString, without -0", () => {
  assert.deepEqual([3, -12, 0.1, 0.1 + 0.2, 1e21, 1e-7, -0].map(formatNumber),
    ["3", "-12", "0.1", "0.30000000000000004", "1e+21", "1e-7", "0"]);
});

test("equality compares numerically when both sides look numeric, else as text", () => {
  assert.equal(logic(bin("=", field("a"), num(1)), { a: "1.0" }), true);
  assert.equal(logic(bin("=", field("a"), str("")), {}), true);
  assert.equal(logic(bin("<>", field("a"), num(0)), {}), true);
  assert.equal(logic(bin("=", str("abc"), str("ABC"))), false);
  assert.equal(logic(bin("=", bool(true), str("1"))), true);
  assert.equal(logic(bin("=", bool(true), str("true"))), false);
});

test("a blank value never satisfies an ordering", () => {
  for (const op of ["<", "<=", ">", ">="]) {
    assert.equal(logic(bin(op, field("bmi"), num(25)), {}), false, op);
  }
  assert.equal(logic(bin("<", str("10"), str("9"))), false);
  assert.equal(logic(bin("<", str("2024-01-09"), str("2024-01-10"))), true);
  // Code points, not UTF-16 units: U+FF5E sorts before U+1F600.
  assert.equal(logic(bin("<", str("\uff5e"), str("\u{1f600}"))), true);
});

test("arithmetic with blank, text, division by zero or overflow is blank", () => {
  assert.equal(calc(bin("+", field("a"), num(1))), "");
  assert.equal(calc(bin("*", str("x"), num(1))), "");
  assert.equal(calc(bin("/", num(1), num(0))), "");
  assert.equal(calc(bin("^", num(10), num(400))), "");
  assert.equal(calc(bin("^", neg(num(8)), bin("/", num(1), num(3)))), "");
  assert.equal(calc(bin("+", bool(true), str(" 2 "))), 3);
  assert.equal(calc(neg(num(0))), 0);
  assert.ok(Object.is(calc(neg(num(0))), 0));
});

test("small integer powers multiply step by step, as Python does", () => {
  assert.equal(calc(bin("^", num(1.1), num(3))), 1.1 * 1.1 * 1.1); // 1.3310000000000004
  assert.equal(calc(bin("^", num(10), neg(num(5)))), 1 / 100000);
  assert.equal(calc(bin("^", num(0), neg(num(1)))), "");
  assert.equal(calc(bin("^", num(0), num(0))), 1);
});

test("other powers, logarithms and exponentials are correctly rounded", () => {
  assert.equal(exactPow(10, -5), 1e-5); // V8's Math.pow gives 0.000009999999999999999
  assert.equal(exactPow(2, 0.5), Math.SQRT2);
  assert.equal(exactPow(-2, 3), -8);
  assert.equal(exactPow(0, 0), 1);
  assert.ok(Number.isNaN(exactPow(0, -1)));
  assert.equal(exactPow(858.58, 0.25), 5.4130893024156865);
  assert.equal(exactLog(1), 0);
  assert.equal(exactLog(Math.E), 1);
  assert.equal(exactExp(0), 1);
  assert.equal(exactExp(1), Math.E);
  assert.equal(exactExp(-800), 0);
});

test("rounding works on the decimal text", () => {
  assert.equal(calc(fn("round", num(1.005), num(2))), 1.01);
  assert.equal(calc(fn("round", num(-2.5))), -3);
  assert.equal(calc(fn("roundup", num(1.001), num(2))), 1.01);
  assert.equal(calc(fn("roundup", num(-1.001), num(2))), -1.01);
  assert.equal(calc(fn("rounddown", num(-1.009), num(2))), -1);
  assert.equal(calc(fn("round", num(1250), neg(num(2)))), 1300);
  assert.equal(calc(fn("round", num(1e-7), num(3))), 0);
  assert.equal(calc(fn("round", field("x"), num(1))), "");
});

test("datediff measures d2 − d1 in the unit, absolute unless signed", () => {
  const diff = (...args) => calc(fn("datediff", ...args.map(str)));
  assert.equal(diff("2024-01-10", "2024-01-01", "d"), 9);
  assert.equal(calc(fn("datediff", str("2024-01-10"), str("2024-01-01"), str("d"), bool(true))), -9);
  assert.equal(calc(fn("datediff", str("2024-01-10"), str("2024-01-01"), str("d"), str("ymd"), bool(true))), -9);
  assert.equal(diff("2024-03-30 12:00", "2024-03-31 12:00:30", "s"), 86430);
  assert.equal(diff("2000-01-01", "2000-01-01 06:00", "h"), 6);
  assert.equal(diff("2023-02-29", "2024-01-01", "d"), "");
  assert.equal(diff("", "2024-01-01", "d"), "");
  assert.equal(calc(fn("datediff", str("2000-01-01"), str("today"), str("y")), {}, { today: "2000-12-31" }),
    365 / 365.2425);
});

test("date parts and the day of the week", () => {
  assert.equal(calc(fn("year", str("2024-02-29 10:00"))), 2024);
  assert.equal(calc(fn("dayoftheweek", str("2024-01-01"))), 1); // a Monday
  assert.equal(calc(fn("dayoftheweek", str("1969-12-28"))), 7); // a Sunday
  assert.equal(calc(fn("month", str("2024-13-01"))), "");
});

test("aggregates skip blank and text arguments", () => {
  const values = { a: "2", b: "", c: "x", d: "4" };
  const args = ["a", "b", "c", "d"].map((name) => field(name));
  assert.equal(calc(fn("sum", ...args), values), 6);
  assert.equal(calc(fn("mean", ...args), values), 3);
  assert.equal(calc(fn("min", ...args), values), 2);
  assert.equal(calc(fn("median", ...args), values), 3);
  assert.equal(calc(fn("stdev", ...args), values), Math.SQRT2);
  assert.equal(calc(fn("stdev", field("a")), values), "");
  assert.equal(calc(fn("max", field("b"), field("c")), values), "");
});

test("text functions count code points and match without case", () => {
  assert.equal(calc(fn("length", str("a😀b"))), 3);
  assert.equal(text(fn("left", str("😀bc"), num(2))), "😀b");
  assert.equal(text(fn("right", str("ab😀"), num(1))), "😀");
  assert.equal(text(fn("mid", str("abcdef"), num(2), num(3))), "bcd");
  assert.equal(calc(fn("find", str("C"), str("😀abc"))), 4);
  assert.equal(calc(fn("find", str("z"), str("abc"))), 0);
  assert.equal(logic(fn("contains", str("Hello"), str("ELL"))), true);
  assert.equal(logic(fn("not_contain", str("Hello"), str("ELL"))), false);
  assert.equal(text(fn("concat_ws", str("-"), str("a"), str(""), num(2.5))), "a-2.5");
  assert.equal(text(fn("replace_text", str("aAa"), str("a"), str("b"))), "bAb");
  assert.equal(text(fn("upper", fn("trim", str("  ab ")))), "AB");
});

test("checkbox options are 1 or 0, keyed by the lower-cased code", () => {
  const values = { race___a: "1", race____99: "1" };
  assert.equal(text(field("race", { code: "A" }), values), "1");
  assert.equal(text(field("race", { code: "-99" }), values), "1");
  assert.equal(text(field("race", { code: "b" }), values), "0");
});

test("fields of other events and instances come from context.data", () => {
  const context = {
    event: "visit_2_arm_1",
    events: ["baseline_arm_1", "visit_2_arm_1", "visit_3_arm_1"],
    instance: 2,
    data: {
      baseline_arm_1: { 1: { weight: "70" } },
      visit_2_arm_1: { 1: { bp: "120" }, 3: { bp: "140" } },
    },
  };
  const values = { bp: "130" };
  const read = (extra) => text(field(extra.name ?? "bp", extra), values, context);
  assert.equal(read({ name: "weight", event: "baseline_arm_1" }), "70");
  assert.equal(read({ name: "weight", event: { smart: "previous-event-name" } }), "70");
  assert.equal(read({ name: "weight", event: { smart: "next-event-name" } }), "");
  assert.equal(read({ instance: "previous" }), "120");
  assert.equal(read({ instance: "current" }), "130");
  assert.equal(read({ instance: "last" }), "140");
  assert.equal(read({ instance: "first" }), "120");
  assert.equal(read({ instance: 3 }), "140");
  assert.equal(read({ instance: 9 }), "");
});

test("smart variables read the context", () => {
  const context = { record: "101", arm_number: 2, instance: 3, user: "site_a_sam" };
  assert.equal(text(smart("record-name"), {}, context), "101");
  assert.equal(calc(smart("arm-number"), {}, context), 2);
  assert.equal(calc(smart("current-instance"), {}, context), 3);
  assert.equal(text(smart("record-dag-name"), {}, context), "");
});

test("only the branch taken by if is evaluated", () => {
  const ast = fn("if", bin(">", field("age"), num(17)), str("adult"), bin("/", num(1), num(0)));
  assert.equal(text(ast, { age: "18" }), "adult");
  assert.equal(text(ast, { age: "" }), "");
});

test("a field named like an Object property is still just a field", () => {
  assert.equal(text(field("constructor")), "");
});

test("evaluation stops after the step limit", () => {
  const wide = (n) => fn("sum", ...Array.from({ length: n }, () => num(1)));
  assert.equal(calc(wide(MAX_STEPS - 1)), MAX_STEPS - 1); // the call is a step too
  assert.throws(() => calc(wide(MAX_STEPS)), LogicEvaluationError);
});
