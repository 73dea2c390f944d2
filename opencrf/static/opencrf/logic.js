// OpenCRF logic evaluator for the browser: evaluates the AST that opencrf/logic (Python)
// parses from branching logic and calculations. The contract is opencrf/logic/GRAMMAR.md;
// both evaluators run the same corpus and must give identical results. Text is never parsed
// here and nothing is ever passed to eval.
//
// Map of this module:
//   values      – blank, numeric-looking strings, truthiness, number ↔ text (§5, §7)
//   operators   – comparison, ordering, arithmetic (§5)
//   references  – fields in this or another event / instance, smart variables (§3, §6)
//   functions   – the dispatch table of §8
//   exact math  – correctly rounded exp, log and pow: V8's Math.exp/log/pow are one unit
//                 in the last place off for a few % of inputs (Math.pow(10, -5) is
//                 0.000009999999999999999); Python's libm almost never is
//   evaluate    – the entry point and the limits of §9, walking the AST as Python does

export const MAX_STEPS = 100_000;
export const STEP_LIMIT_MESSAGE = "the expression takes more than 100,000 steps to evaluate";

export class LogicEvaluationError extends Error {
  constructor(message) {
    super(message);
    this.name = "LogicEvaluationError";
  }
}

// ---------------------------------------------------------------- values (§5, §7)

// A decimal comma (`1,54`, how number_comma_decimal fields store numbers) reads as a point.
const NUMERIC = /^[-+]?([0-9]+\.?[0-9]*|\.[0-9]+|[0-9]*,[0-9]+)$/;
// Only ASCII white space is trimmed, as in opencrf/logic/numbers.py (TRIMMED).
const EDGE_SPACE = /^[ \t\n\r\f\v]+|[ \t\n\r\f\v]+$/g;

const SPACE_CODES = new Set([0x20, 0x09, 0x0a, 0x0d, 0x0c, 0x0b]);

function stripSpace(text) {
  // Most values have no edge space: skip the regular expression for them.
  const edged = SPACE_CODES.has(text.charCodeAt(0)) || SPACE_CODES.has(text.charCodeAt(text.length - 1));
  return edged ? text.replace(EDGE_SPACE, "") : text;
}

/** The number of a numeric-looking string, else null (also when too large for a double). */
function numberOfText(text) {
  const trimmed = stripSpace(text);
  if (!NUMERIC.test(trimmed)) return null;
  const number = Number(trimmed.replace(",", "."));
  return Number.isFinite(number) ? number : null;
}

/** A value as a number (booleans are 1/0), or null when blank or not numeric. */
export function toNumber(value) {
  if (typeof value === "number") return Number.isNaN(value) ? null : value;
  if (typeof value === "boolean") return value ? 1 : 0;
  if (typeof value === "string") return numberOfText(value);
  return null;
}

export function isBlank(value) {
  return value === "" || value === null || value === undefined;
}

/** Truthiness for and, or, if and the result of branching logic. */
export function truthy(value) {
  if (typeof value === "boolean") return value;
  if (typeof value === "number") return value !== 0 && !Number.isNaN(value);
  if (isBlank(value)) return false;
  const number = numberOfText(value);
  return number === null ? true : number !== 0;
}

/** Numbers as text, like JavaScript's Number.prototype.toString (GRAMMAR §7). */
export function formatNumber(n) {
  return String(n); // String(-0) is already "0".
}

/** Any value as text: blank stays "", numbers by §7, booleans as 1/0. */
export function toText(value) {
  if (typeof value === "string") return value;
  if (typeof value === "number") return formatNumber(value);
  if (typeof value === "boolean") return value ? "1" : "0";
  return "";
}

/** A finite number, else blank: the result of every arithmetic step. */
function numberOrBlank(n) {
  if (!Number.isFinite(n)) return "";
  return n === 0 ? 0 : n; // no -0 ever escapes
}

// ---------------------------------------------------------------- operators (§5)

// toNumber and toText both turn booleans into 1/0, as §5 asks of comparisons.
function isEqual(left, right) {
  const x = toNumber(left);
  const y = toNumber(right);
  if (x !== null && y !== null) return x === y;
  return toText(left) === toText(right);
}

/** -1, 0 or 1 comparing by Unicode code points (JS's < compares UTF-16 units). */
export function compareCodePoints(a, b) {
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    const x = a.codePointAt(i);
    const y = b.codePointAt(j);
    if (x !== y) return x < y ? -1 : 1;
    i += x > 0xffff ? 2 : 1;
    j += y > 0xffff ? 2 : 1;
  }
  if (i < a.length) return 1;
  return j < b.length ? -1 : 0;
}

const ORDER_TESTS = {
  "<": (c) => c < 0,
  "<=": (c) => c <= 0,
  ">": (c) => c > 0,
  ">=": (c) => c >= 0,
};

function compareOrder(op, left, right) {
  // Choice (GRAMMAR §5): a blank value never satisfies a range.
  if (isBlank(left) || isBlank(right)) return false;
  const x = toNumber(left);
  const y = toNumber(right);
  let order;
  if (x !== null && y !== null) order = x < y ? -1 : x > y ? 1 : 0;
  else order = compareCodePoints(toText(left), toText(right));
  return ORDER_TESTS[op](order);
}

const ARITHMETIC = {
  "+": (a, b) => a + b,
  "-": (a, b) => a - b,
  "*": (a, b) => a * b,
  "/": (a, b) => (b === 0 ? NaN : a / b),
  "^": power,
};

// Small integer exponents multiply step by step, as opencrf/logic/numbers.py does.
const MAX_MULTIPLIED_EXPONENT = 64;

function power(base, exponent) {
  if (!Number.isInteger(exponent) || Math.abs(exponent) > MAX_MULTIPLIED_EXPONENT) {
    return exactPow(base, exponent);
  }
  let result = 1;
  for (let i = 0; i < Math.abs(exponent); i += 1) result *= base;
  if (exponent >= 0) return result;
  return result === 0 ? NaN : 1 / result;
}

function arithmetic(op, left, right) {
  const a = toNumber(left);
  const b = toNumber(right);
  if (a === null || b === null) return "";
  return numberOrBlank(ARITHMETIC[op](a, b));
}

// ---------------------------------------------------------------- references (§3, §6)

function isObject(value) {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

function ownValue(object, key) {
  return isObject(object) && Object.hasOwn(object, key) ? object[key] : undefined;
}

/** A context entry as text: strings as they are, numbers by §7, anything else blank. */
function contextText(value) {
  if (typeof value === "string") return value;
  return typeof value === "number" && Number.isFinite(value) ? formatNumber(value) : "";
}

const INSTANCE_KEY = /^[0-9]+$/;

/** A positive instance number (an integer or digits), else 1. */
function contextInstance(value) {
  if (Number.isInteger(value) && value > 0) return value;
  if (typeof value === "string" && INSTANCE_KEY.test(value) && Number(value) > 0) return Number(value);
  return 1;
}

/** What references read besides `values`, with every context entry checked once. */
function referenceScope(context) {
  const events = Array.isArray(context.events) ? context.events.filter((e) => typeof e === "string") : [];
  return {
    event: contextText(context.event),
    events,
    instance: contextInstance(context.instance),
    data: isObject(context.data) ? context.data : {},
  };
}

/** The unique event name an event smart variable stands for, or null. */
function eventSmart(name, scope) {
  if (name === "event-name") return scope.event;
  const { events } = scope;
  if (!events.length) return null;
  if (name === "first-event-name") return events[0];
  if (name === "last-event-name") return events[events.length - 1];
  const index = events.indexOf(scope.event);
  if (index < 0) return null;
  return events[index + (name === "next-event-name" ? 1 : -1)] ?? null;
}

function resolveEvent(event, scope) {
  if (event === null || event === undefined) return scope.event;
  return typeof event === "string" ? event : eventSmart(event.smart, scope);
}

const INSTANCE_OFFSETS = { previous: -1, current: 0, next: 1 };

/** Instances with data in `event`; the current instance counts in the current event. */
function instancesOf(event, scope) {
  const stored = ownValue(scope.data, event);
  const found = isObject(stored)
    ? Object.keys(stored).filter((key) => INSTANCE_KEY.test(key) && Number(key) > 0).map(Number)
    : [];
  if (event === scope.event) found.push(scope.instance);
  return found;
}

/** The instance a reference reads, or null (the previous of instance 1, no data at all). */
function resolveInstance(instance, event, scope) {
  // Another event without an instance reads its non-repeating data, instance 1.
  if (instance === null || instance === undefined) return event === scope.event ? scope.instance : 1;
  if (typeof instance === "number") return instance;
  if (instance in INSTANCE_OFFSETS) {
    const number = scope.instance + INSTANCE_OFFSETS[instance];
    return number >= 1 ? number : null;
  }
  const present = instancesOf(event, scope);
  if (!present.length) return null;
  return instance === "first" ? Math.min(...present) : Math.max(...present);
}

/** The stored text of `key`: `values` for the current event and instance, else context.data. */
function lookup(event, instance, key, env) {
  const { scope } = env;
  let stored;
  if (event === scope.event && instance === scope.instance && Object.hasOwn(env.values, key)) {
    stored = env.values[key];
  } else {
    stored = ownValue(ownValue(ownValue(scope.data, event), String(instance)), key);
  }
  return typeof stored === "string" ? stored : "";
}

/** The `field___code` key of a checkbox option (opencrf.dictionary.choices.checkbox_column). */
export function checkboxKey(field, code) {
  return `${field}___${String(code).toLowerCase().replace(/[^a-z0-9]/gu, "_")}`;
}

function readField(node, env) {
  const event = resolveEvent(node.event, env.scope);
  const instance = event === null ? null : resolveInstance(node.instance, event, env.scope);
  const isOption = node.code !== null && node.code !== undefined;
  const key = isOption ? checkboxKey(node.name, node.code) : node.name;
  const stored = instance === null ? "" : lookup(event, instance, key, env);
  // A checkbox option is "1" or "0", never blank (GRAMMAR §3).
  if (isOption) return stored === "1" ? "1" : "0";
  return stored;
}

// Smart variables that read one context entry, as text.
const CONTEXT_TEXT = {
  "record-name": "record",
  "record-dag-name": "dag",
  "record-dag-id": "dag_id",
  "event-label": "event_label",
  "event-id": "event_id",
  "arm-number": "arm_number",
  "arm-label": "arm_label",
  "user-name": "user",
  "user-role-name": "user_role",
  "user-dag-name": "user_dag",
  "project-id": "project_id",
};
const EVENT_SMART = new Set([
  "event-name", "previous-event-name", "next-event-name", "first-event-name", "last-event-name",
]);

function readSmart(node, env) {
  const { name } = node;
  const { scope } = env;
  if (Object.hasOwn(CONTEXT_TEXT, name)) return contextText(env.context[CONTEXT_TEXT[name]]);
  if (EVENT_SMART.has(name)) return eventSmart(name, scope) ?? "";
  if (name === "event-number") {
    const index = scope.events.indexOf(scope.event);
    return index < 0 ? "" : String(index + 1);
  }
  // [first-instance], [current-instance]…: the instance number in the current event.
  const instance = resolveInstance(name.replace(/-instance$/, ""), scope.event, scope);
  return instance === null ? "" : String(instance);
}

// ---------------------------------------------------------------- dates

const DATE_TIME = /^([0-9]{4})-([0-9]{2})-([0-9]{2})(?: ([0-9]{2}):([0-9]{2})(?::([0-9]{2}))?)?$/;
const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

function isLeapYear(year) {
  return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
}

function daysInMonth(year, month) {
  return month === 2 && isLeapYear(year) ? 29 : DAYS_IN_MONTH[month - 1];
}

/** Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil). */
function daysFromCivil(year, month, day) {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yearOfEra = y - era * 400;
  const dayOfYear = Math.floor((153 * (month + (month > 2 ? -3 : 9)) + 2) / 5) + day - 1;
  const dayOfEra = yearOfEra * 365 + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100) + dayOfYear;
  return era * 146097 + dayOfEra - 719468;
}

function pad(n, width = 2) {
  return String(n).padStart(width, "0");
}

/** The clock's local date and time as stored text, for 'today' and 'now'. */
function clockText(withTime) {
  const d = new Date();
  const date = `${pad(d.getFullYear(), 4)}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
  return withTime ? `${date} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}` : date;
}

function resolveDateText(value, context) {
  const text = stripSpace(toText(value));
  const word = text.toLowerCase();
  if (word === "today") return typeof context.today === "string" ? context.today : clockText(false);
  if (word === "now") return typeof context.now === "string" ? context.now : clockText(true);
  return text;
}

/** Year, month and day of a day count since 1970-01-01 (H. Hinnant's civil_from_days). */
function civilFromDays(days) {
  const z = days + 719468;
  const era = Math.floor(z / 146097);
  const dayOfEra = z - era * 146097;
  const leapDays = Math.floor(dayOfEra / 1460) - Math.floor(dayOfEra / 36524) + Math.floor(dayOfEra / 146096);
  const yearOfEra = Math.floor((dayOfEra - leapDays) / 365);
  const dayOfYear = dayOfEra - (365 * yearOfEra + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100));
  const shiftedMonth = Math.floor((5 * dayOfYear + 2) / 153);
  const day = dayOfYear - Math.floor((153 * shiftedMonth + 2) / 5) + 1;
  const month = shiftedMonth < 10 ? shiftedMonth + 3 : shiftedMonth - 9;
  return { year: yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day };
}

/**
 * {year, month, day, seconds, shape} of a stored date or datetime (naive), or null when
 * invalid. `shape` is "date", "minutes" (YYYY-MM-DD HH:MM) or "seconds".
 */
export function parseDate(value, context = {}) {
  const match = DATE_TIME.exec(resolveDateText(value, context));
  if (!match) return null;
  const shape = match[6] !== undefined ? "seconds" : match[4] !== undefined ? "minutes" : "date";
  const [year, month, day, hour, minute, second] = match.slice(1).map((part) => Number(part ?? 0));
  if (year < 1 || month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return null;
  if (hour > 23 || minute > 59 || second > 59) return null;
  // UTC arithmetic on a day count: daylight saving time never matters.
  const seconds = daysFromCivil(year, month, day) * 86400 + hour * 3600 + minute * 60 + second;
  return { year, month, day, seconds, shape };
}

// Whole numbers, so that the one division is the same in Python and JavaScript.
const SECONDS_PER_UNIT = {
  y: 31_556_952, // 365.2425 days
  M: 2_630_016, // 30.44 days
  d: 86400,
  h: 3600,
  m: 60,
  s: 1,
};
const DATE_FORMATS = new Set(["ymd", "mdy", "dmy"]);

/** The optional last flag; a 4th argument that names a date format is that format. */
function isSigned(args) {
  if (args.length === 5) return truthy(args[4]);
  if (args.length !== 4) return false;
  const fourth = args[3];
  const isFormat = typeof fourth === "string" && DATE_FORMATS.has(stripSpace(fourth).toLowerCase());
  return isFormat ? false : truthy(fourth);
}

function datediff(args, env) {
  const start = parseDate(args[0], env.context);
  const end = parseDate(args[1], env.context);
  const unit = toText(args[2]);
  if (!start || !end || !Object.hasOwn(SECONDS_PER_UNIT, unit)) return "";
  const perUnit = SECONDS_PER_UNIT[unit];
  const difference = end.seconds - start.seconds;
  return numberOrBlank((isSigned(args) ? difference : Math.abs(difference)) / perUnit);
}

// The range of seconds (since 1970-01-01) from 0001-01-01 00:00:00 to 9999-12-31 23:59:59.
const FIRST_SECOND = daysFromCivil(1, 1, 1) * 86400;
const LAST_SECOND = daysFromCivil(9999, 12, 31) * 86400 + 86399;
const MAX_SHIFT = 1e15; // beyond any valid result, yet below 2^53 so the sum stays exact

/** x rounded half away from zero (x − trunc(x) is exact for every double). */
function wholeSeconds(x) {
  const whole = Math.trunc(x);
  if (Math.abs(x - whole) >= 0.5) return whole + (x > 0 ? 1 : -1);
  return whole;
}

function calcdate([value, offsetValue, unitValue], env) {
  const start = parseDate(value, env.context);
  const offset = toNumber(offsetValue);
  const unit = toText(unitValue);
  if (!start || offset === null || !Object.hasOwn(SECONDS_PER_UNIT, unit)) return "";
  const shift = offset * SECONDS_PER_UNIT[unit];
  if (!Number.isFinite(shift) || Math.abs(shift) > MAX_SHIFT) return "";
  const total = start.seconds + wholeSeconds(shift);
  if (total < FIRST_SECOND || total > LAST_SECOND) return "";
  const days = Math.floor(total / 86400);
  const { year, month, day } = civilFromDays(days);
  const date = `${pad(year, 4)}-${pad(month)}-${pad(day)}`;
  if (start.shape === "date") return date;
  const rest = total - days * 86400;
  const time = `${pad(Math.floor(rest / 3600))}:${pad(Math.floor(rest / 60) % 60)}`;
  return start.shape === "minutes" ? `${date} ${time}` : `${date} ${time}:${pad(rest % 60)}`;
}

function datePart(part) {
  return ([value], env) => {
    const date = parseDate(value, env.context);
    return date ? date[part] : "";
  };
}

function dayOfTheWeek([value], env) {
  const date = parseDate(value, env.context);
  if (!date) return "";
  const days = Math.floor(date.seconds / 86400); // 1970-01-01 was a Thursday (4)
  return ((((days + 3) % 7) + 7) % 7) + 1;
}

// ---------------------------------------------------------------- rounding on decimal text

/** Digits and decimal point position of |x| written by §7 ("1.5e-7" → "15", point -6). */
function decimalDigits(x) {
  const [mantissa, exponent = "0"] = formatNumber(Math.abs(x)).split("e");
  const [whole, fraction = ""] = mantissa.split(".");
  return { digits: whole + fraction, point: whole.length + Number(exponent) };
}

const ROUNDS_UP = {
  round: (dropped) => dropped[0] >= "5",
  roundup: (dropped) => /[1-9]/.test(dropped),
  rounddown: () => false,
};

/** x rounded to `places` decimals (negative: tens, hundreds…) working on its decimal text. */
export function roundDecimal(x, places, how) {
  let { digits, point } = decimalDigits(x);
  if (point < 0) {
    digits = "0".repeat(-point) + digits;
    point = 0;
  }
  const keep = point + places;
  if (keep >= digits.length) return x;
  const kept = keep > 0 ? digits.slice(0, keep) : "0";
  const dropped = keep >= 0 ? digits.slice(keep) : "0".repeat(-keep) + digits;
  const magnitude = BigInt(kept) + (ROUNDS_UP[how](dropped) ? 1n : 0n);
  const rounded = Number(`${magnitude}e${point - keep}`);
  return numberOrBlank(x < 0 ? -rounded : rounded);
}

function rounding(how) {
  return ([value, placesValue], env) => {
    const x = toNumber(value);
    const places = placesValue === undefined ? 0 : toNumber(placesValue);
    if (x === null || places === null) return "";
    // Decimals beyond what a double can show change nothing; beyond its range give zero.
    const clamped = Math.max(-400, Math.min(400, Math.trunc(places)));
    return roundDecimal(x, clamped, how);
  };
}

// ---------------------------------------------------------------- functions (§8)

function numeric(fn) {
  return (args) => {
    const numbers = args.map(toNumber);
    if (numbers.some((n) => n === null)) return "";
    return numberOrBlank(fn(...numbers));
  };
}

/** Aggregates run over the numeric arguments; blank and other text are skipped. */
function aggregate(fn, least = 1) {
  return (args) => {
    const numbers = args.filter((a) => !isBlank(a)).map(toNumber).filter((n) => n !== null);
    return numbers.length < least ? "" : numberOrBlank(fn(numbers));
  };
}

function sum(numbers) {
  return numbers.reduce((total, n) => total + n, 0);
}

function mean(numbers) {
  return sum(numbers) / numbers.length;
}

function median(numbers) {
  const sorted = [...numbers].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

function stdev(numbers) {
  const average = mean(numbers);
  const squares = sum(numbers.map((n) => (n - average) * (n - average)));
  return Math.sqrt(squares / (numbers.length - 1));
}

function text(fn) {
  return (args) => fn(...args.map(toText));
}

function codePoints(value) {
  return Array.from(value);
}

/** A count argument of left/right/mid as a whole number, or null. */
function count(value) {
  const n = toNumber(value);
  return n === null ? null : Math.trunc(n);
}

function left([value, n]) {
  const length = count(n);
  if (length === null) return "";
  return codePoints(toText(value)).slice(0, Math.max(0, length)).join("");
}

function right([value, n]) {
  const length = count(n);
  if (length === null || length <= 0) return "";
  return codePoints(toText(value)).slice(-length).join("");
}

function mid([value, startValue, n]) {
  const start = count(startValue);
  const length = count(n);
  if (start === null || length === null) return "";
  const from = Math.max(0, start - 1);
  return codePoints(toText(value)).slice(from, from + Math.max(0, length)).join("");
}

function find(needle, haystack) {
  const index = haystack.toLowerCase().indexOf(needle.toLowerCase());
  return index < 0 ? 0 : codePoints(haystack.toLowerCase().slice(0, index)).length + 1;
}

// Booleans are neither numbers nor integers here, though arithmetic counts them as 1/0.
function isNumber([value]) {
  return typeof value !== "boolean" && toNumber(value) !== null;
}

function isInteger([value]) {
  const n = typeof value === "boolean" ? null : toNumber(value);
  return n !== null && Number.isInteger(n);
}

function missingCodes(env) {
  const codes = env.context.missing_codes;
  return Array.isArray(codes) ? codes.filter((code) => typeof code === "string") : [];
}

function isMissingCode([value], env) {
  return !isBlank(value) && missingCodes(env).includes(toText(value));
}

function logarithm([value, base]) {
  const x = toNumber(value);
  if (x === null || x <= 0) return "";
  if (base === undefined) return numberOrBlank(exactLog(x));
  const b = toNumber(base);
  if (b === null || b <= 0) return "";
  const denominator = exactLog(b);
  return denominator === 0 ? "" : numberOrBlank(exactLog(x) / denominator);
}

const FUNCTIONS = {
  datediff,
  calcdate,
  round: rounding("round"),
  roundup: rounding("roundup"),
  rounddown: rounding("rounddown"),
  sqrt: numeric((x) => (x < 0 ? NaN : Math.sqrt(x))),
  abs: numeric(Math.abs),
  exponential: numeric((x) => exactExp(x)),
  log: logarithm,
  mod: numeric((a, b) => (b === 0 ? NaN : a % b)),
  min: aggregate((numbers) => numbers.reduce((least, n) => (n < least ? n : least))),
  max: aggregate((numbers) => numbers.reduce((most, n) => (n > most ? n : most))),
  mean: aggregate(mean),
  median: aggregate(median),
  sum: aggregate(sum),
  stdev: aggregate(stdev, 2),
  isnumber: isNumber,
  isinteger: isInteger,
  contains: text((h, n) => h.toLowerCase().includes(n.toLowerCase())),
  not_contain: text((h, n) => !h.toLowerCase().includes(n.toLowerCase())),
  starts_with: text((h, n) => h.toLowerCase().startsWith(n.toLowerCase())),
  ends_with: text((h, n) => h.toLowerCase().endsWith(n.toLowerCase())),
  find: text(find),
  left,
  right,
  mid,
  length: text((t) => codePoints(t).length),
  concat: text((...parts) => parts.join("")),
  concat_ws: text((separator, ...parts) => parts.filter((p) => p !== "").join(separator)),
  upper: text((t) => t.toUpperCase()),
  lower: text((t) => t.toLowerCase()),
  trim: text((t) => stripSpace(t)),
  replace_text: text((h, search, replacement) => (search === "" ? h : h.split(search).join(replacement))),
  year: datePart("year"),
  month: datePart("month"),
  day: datePart("day"),
  dayoftheweek: dayOfTheWeek,
  isblankormissingcode: (args, env) => isBlank(args[0]) || isMissingCode(args, env),
  isblanknotmissingcode: (args, env) => isBlank(args[0]) && !isMissingCode(args, env),
  ismissingcode: isMissingCode,
  hasmissingcode: isMissingCode,
};

// ---------------------------------------------------------------- exact math
// Fixed-point BigInt arithmetic with PRECISION fraction bits, then one correct rounding to a
// double. Inputs near a rounding midpoint closer than 2^-150 would need more bits: none exist
// in practice for exp/log/pow of doubles at that distance.

const PRECISION = 200n;
const ONE = 1n << PRECISION;

function bitLength(n) {
  return n.toString(2).length;
}

const FLOAT_VIEW = new DataView(new ArrayBuffer(8));

/** x (finite, > 0) as {mantissa: BigInt, exponent} with x = mantissa · 2^exponent. */
function decompose(x) {
  FLOAT_VIEW.setFloat64(0, x);
  const high = FLOAT_VIEW.getUint32(0);
  const biased = (high >>> 20) & 0x7ff;
  const mantissa = (BigInt(high & 0xfffff) << 32n) | BigInt(FLOAT_VIEW.getUint32(4));
  if (biased === 0) return { mantissa, exponent: -1074 };
  return { mantissa: mantissa | (1n << 52n), exponent: biased - 1075 };
}

/** 2^k as a double, built from its bits (Math.pow(2, -1074) is not exact in every engine). */
function powerOfTwo(k) {
  if (k > 1023) return Infinity;
  if (k < -1074) return 0;
  if (k >= -1022) {
    FLOAT_VIEW.setUint32(0, (k + 1023) << 20);
    FLOAT_VIEW.setUint32(4, 0);
  } else {
    const bit = k + 1074; // subnormal: one mantissa bit
    FLOAT_VIEW.setUint32(0, bit >= 32 ? 1 << (bit - 32) : 0);
    FLOAT_VIEW.setUint32(4, bit < 32 ? 2 ** bit : 0);
  }
  return FLOAT_VIEW.getFloat64(0);
}

/** m · 2^k, exact whenever the result is representable. */
function scale(m, k) {
  let result = m;
  let rest = k;
  while (rest < -1000) {
    result *= powerOfTwo(-1000);
    rest += 1000;
  }
  while (rest > 1000) {
    result *= powerOfTwo(1000);
    rest -= 1000;
  }
  return result * powerOfTwo(rest);
}

/** The double nearest to num / den · 2^exp2 (num, den > 0), ties to even. */
function ratioToDouble(num, den, exp2) {
  const shift = 56 + bitLength(den) - bitLength(num);
  const numerator = shift > 0 ? num << BigInt(shift) : num;
  const denominator = shift < 0 ? den << BigInt(-shift) : den;
  const exponent = exp2 - shift;
  const quotient = numerator / denominator;
  const sticky = numerator % denominator !== 0n;
  const width = bitLength(quotient);
  const top = width - 1 + exponent;
  if (top > 1023) return Infinity;
  const precision = top >= -1022 ? 53 : top + 1075; // fewer bits for subnormals
  const drop = width - precision;
  if (drop > width + 1) return 0;
  let kept = quotient >> BigInt(drop);
  const remainder = quotient - (kept << BigInt(drop));
  const half = 1n << BigInt(drop - 1);
  if (remainder > half || (remainder === half && (sticky || kept % 2n === 1n))) kept += 1n;
  return scale(Number(kept), exponent + drop);
}

function fixedToDouble(fixed, exp2 = 0) {
  if (fixed === 0n) return 0;
  const magnitude = ratioToDouble(fixed < 0n ? -fixed : fixed, 1n, exp2 - Number(PRECISION));
  return fixed < 0n ? -magnitude : magnitude;
}

/** x (finite double) as a fixed-point BigInt. */
function toFixed(x) {
  if (x === 0) return 0n;
  const { mantissa, exponent } = decompose(Math.abs(x));
  const shift = BigInt(exponent) + PRECISION;
  const fixed = shift >= 0n ? mantissa << shift : mantissa >> -shift;
  return x < 0 ? -fixed : fixed;
}

function atanhFixed(z) {
  let total = z;
  let power = z;
  const square = (z * z) >> PRECISION;
  for (let n = 3n; ; n += 2n) {
    power = (power * square) >> PRECISION;
    const term = power / n;
    if (term === 0n) return total;
    total += term;
  }
}

const LN2 = 2n * atanhFixed(ONE / 3n);
const SQRT2 = 0x16a09e667f3bcc908b2fb1366ea957d3e3adec17512775099n << (PRECISION - 192n);

/** ln(x) for a finite x > 0, as a fixed-point BigInt. */
function lnFixed(x) {
  const { mantissa, exponent } = decompose(x);
  const width = bitLength(mantissa);
  // x = f · 2^k with f in [√½, √2), so that ln f needs no cancellation near 1.
  let f = mantissa << (PRECISION - BigInt(width - 1));
  let k = exponent + width - 1;
  if (f > SQRT2) {
    f >>= 1n;
    k += 1;
  }
  const z = ((f - ONE) << PRECISION) / (f + ONE);
  return 2n * atanhFixed(z) + BigInt(k) * LN2;
}

function floorDivide(a, b) {
  const q = a / b;
  return (a % b !== 0n && (a < 0n) !== (b < 0n)) ? q - 1n : q;
}

/** e^y for a fixed-point y, as a double. */
function expOfFixed(y) {
  if (y > 710n * ONE) return Infinity;
  if (y < -746n * ONE) return 0;
  const k = floorDivide(y + LN2 / 2n, LN2);
  const r = y - k * LN2; // |r| ≤ ln2 / 2
  let total = ONE;
  let term = ONE;
  for (let n = 1n; term !== 0n; n += 1n) {
    term = ((term * r) >> PRECISION) / n;
    total += term;
  }
  return fixedToDouble(total, Number(k));
}

export function exactExp(x) {
  if (Number.isNaN(x)) return NaN;
  if (!Number.isFinite(x)) return x > 0 ? Infinity : 0;
  return expOfFixed(toFixed(x));
}

export function exactLog(x) {
  if (!(x > 0)) return NaN;
  if (!Number.isFinite(x)) return Infinity;
  return fixedToDouble(lnFixed(x));
}

/** base^n for an integer n, from the exact rational value. */
function integerPow(base, n) {
  const { mantissa, exponent } = decompose(Math.abs(base));
  const power = mantissa ** BigInt(Math.abs(n));
  const magnitude = n >= 0
    ? ratioToDouble(power, 1n, exponent * n)
    : ratioToDouble(1n, power, -exponent * -n);
  return base < 0 && n % 2 !== 0 ? -magnitude : magnitude;
}

/** x^y correctly rounded, as C's pow (Python's **); NaN where Python raises. */
export function exactPow(x, y) {
  if (y === 0) return 1;
  if (x === 0) return y > 0 ? 0 : NaN; // Python: ZeroDivisionError
  const isInteger = Number.isInteger(y);
  if (x < 0 && !isInteger) return NaN; // Python would give a complex number
  // Past these bounds the result overflows or underflows anyway.
  const estimate = Math.abs(y * Math.log2(Math.abs(x)));
  if (estimate > 1200) return y * Math.log2(Math.abs(x)) > 0 ? Infinity : 0;
  if (isInteger && Math.abs(y) <= 2048) return integerPow(x, y);
  const { mantissa, exponent } = decompose(Math.abs(y));
  let product = lnFixed(Math.abs(x)) * mantissa;
  product = exponent >= 0 ? product << BigInt(exponent) : product >> BigInt(-exponent);
  const magnitude = expOfFixed(y < 0 ? -product : product);
  return x < 0 && Math.abs(y) % 2 === 1 ? -magnitude : magnitude;
}

// ---------------------------------------------------------------- evaluate (§5, §9)
// The walk mirrors opencrf/logic/evaluator.py step for step, so that the limits of §9 trip
// on the same expressions with the same message: every node visited is a step; right
// operands, unary operands and call arguments are one level deeper; a chain of binary
// operators is walked down its left spine in a loop (no recursion, no depth).

const MAX_DEPTH = 64;
const TOO_DEEP = "the expression is too deeply nested (more than 64 levels)";

function step(env) {
  env.steps += 1;
  if (env.steps > MAX_STEPS) throw new LogicEvaluationError(STEP_LIMIT_MESSAGE);
}

function nested(node, env) {
  env.depth += 1;
  if (env.depth > MAX_DEPTH) throw new LogicEvaluationError(TOO_DEEP);
  try {
    return visit(node, env);
  } finally {
    env.depth -= 1;
  }
}

const NODES = {
  number: (node) => node.value,
  string: (node) => node.value,
  boolean: (node) => node.value,
  field: readField,
  smart: readSmart,
  unary: (node, env) => unary(node.op, nested(node.operand, env)),
  binary,
  call,
};

function visit(node, env) {
  step(env);
  const handler = Object.hasOwn(NODES, node.type) ? NODES[node.type] : null;
  if (!handler) throw new LogicEvaluationError(`unknown node type \`${node.type}\``);
  return handler(node, env);
}

function unary(op, value) {
  const n = toNumber(value);
  if (n === null) return "";
  return numberOrBlank(op === "-" ? -n : n);
}

function binary(node, env) {
  const spine = [node];
  let bottom = node.left;
  while (bottom.type === "binary") {
    step(env);
    spine.push(bottom);
    bottom = bottom.left;
  }
  let value = visit(bottom, env);
  for (let i = spine.length - 1; i >= 0; i -= 1) value = applyBinary(spine[i], value, env);
  return value;
}

function applyBinary(node, left, env) {
  const { op } = node;
  // and / or evaluate their right side only when it decides.
  if (op === "and") return truthy(left) && truthy(nested(node.right, env));
  if (op === "or") return truthy(left) || truthy(nested(node.right, env));
  const right = nested(node.right, env);
  if (op === "=") return isEqual(left, right);
  if (op === "<>") return !isEqual(left, right);
  if (Object.hasOwn(ORDER_TESTS, op)) return compareOrder(op, left, right);
  return arithmetic(op, left, right);
}

function call(node, env) {
  const fn = Object.hasOwn(FUNCTIONS, node.name) ? FUNCTIONS[node.name] : null;
  if (node.name === "if") {
    // Only the branch taken is evaluated.
    const [condition, then, otherwise] = node.args;
    return nested(truthy(nested(condition, env)) ? then : otherwise, env);
  }
  if (!fn) throw new LogicEvaluationError(`unknown function \`${node.name}\``);
  return fn(node.args.map((arg) => nested(arg, env)), env);
}

/** A calculation's result: a number, or blank when the result is blank or not numeric. */
function calcResult(value) {
  const n = toNumber(value);
  return n === null ? "" : numberOrBlank(n);
}

const RESULTS = { logic: truthy, text: toText, calc: calcResult };

/**
 * Evaluate a parsed expression (GRAMMAR §4 AST) against the current record's `values`.
 * mode "logic" → boolean, "text" → string, anything else ("calc") → number or "".
 */
export function evaluate(ast, values, context = {}, mode = "logic") {
  const env = {
    values: isObject(values) ? values : {},
    context: isObject(context) ? context : {},
    steps: 0,
    depth: 0,
  };
  env.scope = referenceScope(env.context);
  const finish = Object.hasOwn(RESULTS, mode) ? RESULTS[mode] : calcResult;
  return finish(visit(ast, env));
}
