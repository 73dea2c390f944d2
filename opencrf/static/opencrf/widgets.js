/**
 * Data-entry widgets: date, datetime and time pickers, and searchable autocomplete dropdowns.
 *
 * The server-rendered inputs stay the submitted fields; these widgets only write into them and
 * fire bubbling `input` and `change` events, so form-logic.js (branching, calculations) and
 * data-entry.js (unsaved-changes warning) follow. The pure part (conversions, search) comes
 * first and is tested with `node --test tests/js/widgets.test.mjs`; `initWidgets(root)` is the
 * thin DOM adapter, started on every element marked `data-crf-widgets` (the data-entry form,
 * the instrument preview). Translated texts come from `data-` attributes on that element.
 *
 * Values in a date or time text input are always in their stored form (`YYYY-MM-DD`,
 * `YYYY-MM-DD HH:MM`, `HH:MM`…, see dictionary/validation.py): the server neither shows nor
 * reads the `_mdy` / `_dmy` orders, so the adapter converts with STORED_ORDER.
 */

import { initSignaturePads } from "./signature-pad.js";

// ---------------------------------------------------------------- pure core

/** The date order text inputs hold on this page (the server stores and shows ISO dates). */
export const STORED_ORDER = "ymd";

/**
 * What picker a validation type gets, or null: `kind` is the stored shape, `picker` the type
 * of the native companion input, `button` which quick-fill button it has.
 * `time_mm_ss` (minutes:seconds, a duration) gets none: no clock time or calendar fits it.
 */
export function pickerSpec(validation) {
  const match = /^(date|datetime|datetime_seconds)_(ymd|mdy|dmy)$/.exec(validation ?? "");
  if (match) {
    const [, kind] = match;
    const picker = kind === "date" ? "date" : "datetime-local";
    const button = kind === "date" ? "today" : "now";
    return { kind, picker, button, seconds: kind === "datetime_seconds" };
  }
  if (validation === "time") return { kind: "time", picker: "time", button: "now", seconds: false };
  if (validation === "time_hh_mm_ss") {
    return { kind: "time_hh_mm_ss", picker: "time", button: "now", seconds: true };
  }
  return null;
}

const pad = (number, width = 2) => String(number).padStart(width, "0");

/** Whether year, month and day (numbers) name a day of the Gregorian calendar. */
export function isCalendarDate(year, month, day) {
  if (!(year >= 1 && year <= 9999 && month >= 1 && month <= 12 && day >= 1)) return false;
  const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
  const lengths = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
  return day <= lengths[month - 1];
}

const DATE_TEXT = {
  ymd: /^(\d{4})-(\d{2})-(\d{2})$/,
  mdy: /^(\d{2})-(\d{2})-(\d{4})$/,
  dmy: /^(\d{2})-(\d{2})-(\d{4})$/,
};
const TIME_TEXT = /^([01]\d|2[0-3]):([0-5]\d)(?::([0-5]\d))?$/;

/** A date in `order` (`ymd`, `mdy`, `dmy`) as [year, month, day], or null if not a real day. */
function parseDate(text, order) {
  const match = DATE_TEXT[order]?.exec(text);
  if (!match) return null;
  const [a, b, c] = match.slice(1).map(Number);
  const [year, month, day] = order === "ymd" ? [a, b, c] : order === "mdy" ? [c, a, b] : [c, b, a];
  return isCalendarDate(year, month, day) ? [year, month, day] : null;
}

function formatDate([year, month, day], order) {
  if (order === "mdy") return `${pad(month)}-${pad(day)}-${pad(year, 4)}`;
  if (order === "dmy") return `${pad(day)}-${pad(month)}-${pad(year, 4)}`;
  return `${pad(year, 4)}-${pad(month)}-${pad(day)}`;
}

/** A time as [hours, minutes, seconds|null], seconds required (true), forbidden (false). */
function parseTime(text, seconds) {
  const match = TIME_TEXT.exec(text);
  if (!match || (match[3] !== undefined) !== seconds) return null;
  return [Number(match[1]), Number(match[2]), seconds ? Number(match[3]) : null];
}

function formatTime([hours, minutes, secs], seconds) {
  const base = `${pad(hours)}:${pad(minutes)}`;
  return seconds ? `${base}:${pad(secs ?? 0)}` : base;
}

/** Split a datetime at its one separator (` ` in the text, `T` in the picker). */
function splitDateTime(text, separator) {
  const at = text.indexOf(separator);
  return at < 0 ? null : [text.slice(0, at), text.slice(at + 1)];
}

/**
 * The companion picker's value for the text of a field of validation `validation`, or `""`
 * when the text is not a valid value (the picker then opens empty). `order` is the date order
 * the text is written in.
 */
export function textToPicker(text, validation, order = STORED_ORDER) {
  const spec = pickerSpec(validation);
  if (!spec || typeof text !== "string") return "";
  if (spec.kind === "date") {
    const date = parseDate(text, order);
    return date ? formatDate(date, "ymd") : "";
  }
  if (spec.picker === "time") {
    const time = parseTime(text, spec.seconds);
    return time ? formatTime(time, spec.seconds) : "";
  }
  const parts = splitDateTime(text, " ");
  const date = parts && parseDate(parts[0], order);
  const time = parts && parseTime(parts[1], spec.seconds);
  return date && time ? `${formatDate(date, "ymd")}T${formatTime(time, spec.seconds)}` : "";
}

// A picker's value: `HH:MM`, `HH:MM:SS` or `HH:MM:SS.mmm` (browsers drop `:00` seconds).
const PICKER_TIME = /^([01]\d|2[0-3]):([0-5]\d)(?::([0-5]\d)(?:\.\d{1,3})?)?$/;

function parsePickerTime(value) {
  const match = PICKER_TIME.exec(value);
  return match ? [Number(match[1]), Number(match[2]), Number(match[3] ?? 0)] : null;
}

/**
 * The text to write into a field of validation `validation` for the companion picker's value,
 * or `""` if the picker holds nothing valid. Seconds the field does not keep are dropped;
 * seconds it needs but the picker left out are `00`.
 */
export function pickerToText(value, validation, order = STORED_ORDER) {
  const spec = pickerSpec(validation);
  if (!spec || typeof value !== "string") return "";
  if (spec.kind === "date") {
    const date = parseDate(value, "ymd");
    return date ? formatDate(date, order) : "";
  }
  if (spec.picker === "time") {
    const time = parsePickerTime(value);
    return time ? formatTime(time, spec.seconds) : "";
  }
  const parts = splitDateTime(value, "T");
  const date = parts && parseDate(parts[0], "ymd");
  const time = parts && parsePickerTime(parts[1]);
  return date && time ? `${formatDate(date, order)} ${formatTime(time, spec.seconds)}` : "";
}

/** What "Today" or "Now" writes for `when` (a Date, read in local time), as the text holds it. */
export function nowText(validation, when, order = STORED_ORDER) {
  const spec = pickerSpec(validation);
  if (!spec) return "";
  const date = formatDate([when.getFullYear(), when.getMonth() + 1, when.getDate()], order);
  const time = formatTime([when.getHours(), when.getMinutes(), when.getSeconds()], spec.seconds);
  if (spec.kind === "date") return date;
  return spec.picker === "time" ? time : `${date} ${time}`;
}

/** Text folded for searching: NFKC (full-width ↔ half-width) and lower case. */
export function searchKey(text) {
  return String(text ?? "").normalize("NFKC").toLowerCase();
}

/** The options (`{value, label}`) whose label contains `query`, in their order. */
export function filterOptions(options, query) {
  const key = searchKey(query).trim();
  if (!key) return [...options];
  return options.filter((option) => searchKey(option.label).includes(key));
}

/**
 * The value a combobox settles on when it loses focus with `text` typed: `""` for no text,
 * the option whose label is `text` (after folding), else the previous value `current`.
 */
export function settleTyped(options, text, current) {
  const key = searchKey(text).trim();
  if (!key) return "";
  const exact = options.find((option) => searchKey(option.label).trim() === key);
  return exact ? exact.value : current;
}

/** The index after moving `step` (+1 or -1) from `index` in a list of `count`, wrapping. */
export function moveIndex(index, step, count) {
  if (count === 0) return -1;
  if (index < 0) return step > 0 ? 0 : count - 1;
  return (index + step + count) % count;
}

// ---------------------------------------------------------------- DOM adapter

const SVG = "http://www.w3.org/2000/svg";
// Bootstrap Icons' "calendar3" (MIT), drawn inline so no icon font or file is needed.
const CALENDAR_PATH =
  "M14 0H2a2 2 0 0 0-2 2v12a2 2 0 0 0 2 2h12a2 2 0 0 0 2-2V2a2 2 0 0 0-2-2M1 3.857C1 3.384 " +
  "1.448 3 2 3h12c.552 0 1 .384 1 .857v10.286c0 .473-.448.857-1 .857H2c-.552 0-1-.384-1-" +
  ".857zM6.5 7a1 1 0 1 0 0-2 1 1 0 0 0 0 2m3 0a1 1 0 1 0 0-2 1 1 0 0 0 0 2m3 0a1 1 0 1 0 0-2 " +
  "1 1 0 0 0 0 2m-9 3a1 1 0 1 0 0-2 1 1 0 0 0 0 2m3 0a1 1 0 1 0 0-2 1 1 0 0 0 0 2m3 0a1 1 0 1 " +
  "0 0-2 1 1 0 0 0 0 2m3 0a1 1 0 1 0 0-2 1 1 0 0 0 0 2m-9 3a1 1 0 1 0 0-2 1 1 0 0 0 0 2m3 0a1 " +
  "1 0 1 0 0-2 1 1 0 0 0 0 2m3 0a1 1 0 1 0 0-2 1 1 0 0 0 0 2";

/** Fire what a person's edit fires; `detail.widget` tells data-entry.js it was a person's. */
export function announceChange(input) {
  for (const type of ["input", "change"]) {
    input.dispatchEvent(new CustomEvent(type, { bubbles: true, detail: { widget: true } }));
  }
}

function button(className, label, text) {
  const element = document.createElement("button");
  element.type = "button";
  element.className = `btn btn-outline-secondary ${className}`;
  element.setAttribute("aria-label", label);
  element.title = label;
  if (text) element.textContent = text;
  return element;
}

function calendarIcon() {
  const svg = document.createElementNS(SVG, "svg");
  const attributes = { viewBox: "0 0 16 16", width: "16", height: "16", fill: "currentColor" };
  for (const [name, value] of Object.entries(attributes)) {
    svg.setAttribute(name, value);
  }
  svg.setAttribute("aria-hidden", "true");
  svg.setAttribute("focusable", "false");
  const path = document.createElementNS(SVG, "path");
  path.setAttribute("d", CALENDAR_PATH);
  svg.append(path);
  return svg;
}

function openPicker(companion) {
  try {
    companion.showPicker();
    return;
  } catch {
    // No showPicker (older browsers) or refused: show the native input itself instead.
  }
  companion.classList.add("crf-picker-shown");
  companion.removeAttribute("aria-hidden");
  const hide = () => {
    companion.classList.remove("crf-picker-shown");
    companion.setAttribute("aria-hidden", "true");
  };
  companion.addEventListener("blur", hide, { once: true });
  companion.focus();
}

/** The native input whose picker the calendar button opens: hidden, unfocusable, and with
 * no `name`, so it is never posted. */
function pickerCompanion(spec, input) {
  const companion = document.createElement("input");
  companion.type = spec.picker;
  companion.className = "form-control crf-picker";
  companion.tabIndex = -1;
  companion.setAttribute("aria-hidden", "true");
  // Named like the field for when openPicker has to show it.
  companion.setAttribute("aria-label", input.labels?.[0]?.textContent?.trim() ?? "");
  if (spec.seconds) companion.step = "1";
  return companion;
}

/** Add a calendar button and a Today / Now button after one date or time text input. */
export function enhanceDateInput(input, texts) {
  const validation = input.dataset.validation;
  const spec = pickerSpec(validation);
  if (!spec || input.closest(".crf-datetime")) return null;
  const companion = pickerCompanion(spec, input);
  const calendar = button("crf-open-picker", texts.openCalendar);
  calendar.append(calendarIcon());
  const quickLabel = spec.button === "today" ? texts.today : texts.now;
  const quick = button(`crf-${spec.button}`, quickLabel, quickLabel);
  const locked = input.readOnly || input.disabled;
  for (const control of [calendar, quick, companion]) control.disabled = locked;

  const group = document.createElement("div");
  group.className = "input-group crf-datetime";
  input.before(group);
  group.append(input, calendar, quick, companion);

  const write = (text) => {
    if (!text || text === input.value) return;
    input.value = text;
    announceChange(input);
  };
  calendar.addEventListener("click", () => {
    companion.value = textToPicker(input.value, validation);
    openPicker(companion);
  });
  companion.addEventListener("change", () => write(pickerToText(companion.value, validation)));
  quick.addEventListener("click", () => write(nowText(validation, new Date())));
  return group;
}

let comboboxCount = 0;

function comboboxInput(id, label) {
  const input = document.createElement("input");
  input.type = "text";
  input.className = "form-select crf-combobox-input";
  input.id = `${id}-combo`;
  input.autocomplete = "off";
  input.spellcheck = false;
  input.setAttribute("role", "combobox");
  input.setAttribute("aria-autocomplete", "list");
  input.setAttribute("aria-expanded", "false");
  input.setAttribute("aria-controls", `${id}-listbox`);
  if (label) input.setAttribute("aria-labelledby", label.id);
  return input;
}

function listboxElement(id, label) {
  const listbox = document.createElement("ul");
  listbox.id = `${id}-listbox`;
  listbox.className = "crf-listbox";
  listbox.setAttribute("role", "listbox");
  if (label) listbox.setAttribute("aria-labelledby", label.id);
  listbox.hidden = true;
  return listbox;
}

function optionElement(id, option, index) {
  const item = document.createElement("li");
  item.id = `${id}-option-${index}`;
  item.className = "crf-option";
  item.setAttribute("role", "option");
  item.setAttribute("aria-selected", "false");
  item.dataset.value = option.value;
  item.textContent = option.label;
  return item;
}

/**
 * An ARIA 1.2 combobox (list autocomplete, first match highlighted) standing in for a
 * `select[data-autocomplete]`. The select stays as the submitted value, hidden from sight,
 * focus and assistive technology; the combobox sets it and fires its events.
 */
class Combobox {
  constructor(select, texts) {
    this.select = select;
    this.texts = texts;
    this.options = [...select.options]
      .filter((option) => option.value !== "")
      .map((option) => ({ value: option.value, label: option.textContent }));
    this.id = select.id || `crf-combo-${++comboboxCount}`;
    this.shown = [];
    this.active = -1;
    this.build();
    this.listen();
  }

  build() {
    const label = this.select.id ? document.getElementById(`${this.select.id}-label`) : null;
    this.input = comboboxInput(this.id, label);
    // The field's label now names (and on click focuses) the combobox, not the hidden select.
    if (label?.htmlFor === this.select.id) label.htmlFor = this.input.id;
    this.input.disabled = this.select.disabled;
    this.input.value = this.labelOf(this.select.value);
    this.listbox = listboxElement(this.id, label);
    this.status = document.createElement("div");
    this.status.className = "crf-listbox-empty";
    this.status.setAttribute("role", "status");
    this.select.classList.add("crf-combobox-select");
    this.select.tabIndex = -1;
    this.select.setAttribute("aria-hidden", "true");
    const wrapper = document.createElement("div");
    wrapper.className = "crf-combobox";
    this.select.before(wrapper);
    wrapper.append(this.input, this.listbox, this.status, this.select);
  }

  listen() {
    const { input, listbox, select } = this;
    input.addEventListener("input", () => this.open(input.value, input.value.trim() ? 0 : -1));
    input.addEventListener("click", () => {
      if (this.isOpen() || input.disabled) return;
      this.open("", this.options.findIndex((option) => option.value === select.value));
    });
    input.addEventListener("keydown", (event) => this.onKeydown(event));
    input.addEventListener("blur", () => this.onBlur());
    // A mousedown would take focus from the input, and its blur would settle first.
    listbox.addEventListener("mousedown", (event) => event.preventDefault());
    listbox.addEventListener("click", (event) => {
      const item = event.target.closest("[role=option]");
      if (item) this.choose(item.dataset.value);
    });
    // Others may change the select (erasing a field that became hidden): follow them.
    select.addEventListener("change", () => {
      if (document.activeElement !== input) input.value = this.labelOf(select.value);
    });
  }

  labelOf(value) {
    return this.options.find((option) => option.value === value)?.label ?? "";
  }

  isOpen() {
    return !this.listbox.hidden;
  }

  open(query, first) {
    this.shown = filterOptions(this.options, query);
    const items = this.shown.map((option, index) => optionElement(this.id, option, index));
    this.listbox.replaceChildren(...items);
    this.listbox.hidden = this.shown.length === 0;
    this.status.textContent = this.shown.length === 0 ? this.texts.noMatches : "";
    this.input.setAttribute("aria-expanded", String(this.shown.length > 0));
    this.highlight(this.shown.length === 0 ? -1 : first);
  }

  close() {
    this.listbox.hidden = true;
    this.status.textContent = "";
    this.input.setAttribute("aria-expanded", "false");
    this.highlight(-1);
  }

  highlight(index) {
    this.active = index;
    [...this.listbox.children].forEach((item, at) => {
      item.setAttribute("aria-selected", String(at === index));
      item.classList.toggle("active", at === index);
    });
    const item = this.listbox.children[index];
    if (!item) {
      this.input.removeAttribute("aria-activedescendant");
      return;
    }
    this.input.setAttribute("aria-activedescendant", item.id);
    item.scrollIntoView({ block: "nearest" });
  }

  choose(value) {
    this.input.value = this.labelOf(value);
    this.close();
    if (this.select.value === value) return;
    this.select.value = value;
    announceChange(this.select);
  }

  restore() {
    this.input.value = this.labelOf(this.select.value);
    this.close();
  }

  onKeydown(event) {
    if (event.isComposing) return; // Enter and arrows belong to the input method then
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      this.move(event.key === "ArrowDown" ? 1 : -1, event.altKey);
    } else if (event.key === "Enter") {
      event.preventDefault(); // never submits the form
      if (this.isOpen() && this.active >= 0) this.choose(this.shown[this.active].value);
    } else if (event.key === "Escape") {
      const changed = this.input.value !== this.labelOf(this.select.value);
      if (this.isOpen() || changed) event.preventDefault(); // else a dialog may close
      this.restore();
    }
  }

  /** Arrow keys: open the list if closed (Alt only opens), then move the highlight. */
  move(step, onlyOpen) {
    if (!this.isOpen()) {
      const typed = this.input.value !== this.labelOf(this.select.value);
      this.open(typed ? this.input.value : "", -1);
      if (onlyOpen) return;
    }
    this.highlight(moveIndex(this.active, step, this.shown.length));
  }

  /** Leaving with an option highlighted takes it (as Enter would); else the text decides. */
  onBlur() {
    const highlighted = this.isOpen() && this.active >= 0 ? this.shown[this.active].value : null;
    this.choose(highlighted ?? settleTyped(this.options, this.input.value, this.select.value));
  }
}

/** Replace `select[data-autocomplete]` by a searchable combobox (once). */
export function enhanceAutocomplete(select, texts) {
  if (select.dataset.enhanced) return null;
  select.dataset.enhanced = "1";
  return new Combobox(select, texts);
}

/** The texts the widgets show, from `data-` attributes on `root`. */
export function widgetTexts(root) {
  const data = root.dataset ?? {};
  return {
    openCalendar: data.openCalendar ?? "Open calendar",
    today: data.today ?? "Today",
    now: data.now ?? "Now",
    noMatches: data.noMatches ?? "No matches",
  };
}

/** Enhance every date/time text input and autocomplete dropdown under `root`. */
export function initWidgets(root) {
  const texts = widgetTexts(root);
  for (const input of root.querySelectorAll("input[type=text][data-validation]")) {
    enhanceDateInput(input, texts);
  }
  for (const select of root.querySelectorAll("select[data-autocomplete]")) {
    enhanceAutocomplete(select, texts);
  }
  initSignaturePads(root);
}

if (typeof document !== "undefined") {
  const start = () => document.querySelectorAll("[data-crf-widgets]").forEach(initWidgets);
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
}
