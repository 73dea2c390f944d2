// The pure part of widgets.js: picker ↔ text conversions and the autocomplete search. The DOM
// adapter is exercised in Chromium by tests/browser/test_widgets.py.
import assert from "node:assert/strict";
import { test } from "node:test";

import {
  filterOptions,
  isCalendarDate,
  moveIndex,
  nowText,
  pickerSpec,
  pickerToText,
  searchKey,
  settleTyped,
  textToPicker,
} from "../../opencrf/static/opencrf/widgets.js";

test("every date, datetime and clock-time validation gets a picker of the matching type", () => {
  const pickers = Object.fromEntries(
    [
      "date_ymd", "date_mdy", "date_dmy",
      "datetime_ymd", "datetime_mdy", "datetime_dmy",
      "datetime_seconds_ymd", "datetime_seconds_mdy", "datetime_seconds_dmy",
      "time", "time_hh_mm_ss",
    ].map((name) => [name, [pickerSpec(name).picker, pickerSpec(name).button, pickerSpec(name).seconds]]),
  );
  assert.deepEqual(pickers, {
    date_ymd: ["date", "today", false],
    date_mdy: ["date", "today", false],
    date_dmy: ["date", "today", false],
    datetime_ymd: ["datetime-local", "now", false],
    datetime_mdy: ["datetime-local", "now", false],
    datetime_dmy: ["datetime-local", "now", false],
    datetime_seconds_ymd: ["datetime-local", "now", true],
    datetime_seconds_mdy: ["datetime-local", "now", true],
    datetime_seconds_dmy: ["datetime-local", "now", true],
    time: ["time", "now", false],
    time_hh_mm_ss: ["time", "now", true],
  });
});

test("durations, other validations and no validation get no picker", () => {
  for (const name of ["time_mm_ss", "integer", "number", "email", "autocomplete", "", undefined, "date", "date_xyz"]) {
    assert.equal(pickerSpec(name), null, name);
  }
});

test("the calendar knows leap years and month lengths", () => {
  assert.equal(isCalendarDate(2024, 2, 29), true);
  assert.equal(isCalendarDate(2000, 2, 29), true);
  assert.equal(isCalendarDate(2023, 2, 29), false);
  assert.equal(isCalendarDate(1900, 2, 29), false);
  assert.equal(isCalendarDate(2026, 4, 31), false);
  assert.equal(isCalendarDate(2026, 12, 31), true);
  assert.equal(isCalendarDate(2026, 13, 1), false);
  assert.equal(isCalendarDate(2026, 1, 0), false);
  assert.equal(isCalendarDate(0, 1, 1), false);
});

test("a stored date opens the picker on that day, whatever the field's display order", () => {
  assert.equal(textToPicker("2024-02-29", "date_ymd"), "2024-02-29");
  assert.equal(textToPicker("2024-02-29", "date_dmy"), "2024-02-29");
  assert.equal(textToPicker("2026-12-31", "date_mdy"), "2026-12-31");
});

test("invalid or malformed text opens the picker empty", () => {
  for (const text of ["2023-02-29", "1900-02-29", "2026-04-31", "2026-13-01", "26-04-01", "2026-4-1",
    "29-02-2024", "2026-04-01 ", " 2026-04-01", "2026/04/01", "２０２６-04-01", "12", "ab", ""]) {
    assert.equal(textToPicker(text, "date_dmy"), "", JSON.stringify(text));
  }
  assert.equal(textToPicker(null, "date_ymd"), "");
  assert.equal(textToPicker("2026-04-01", "integer"), "");
});

test("text written in another date order converts when that order is given", () => {
  assert.equal(textToPicker("29-02-2024", "date_dmy", "dmy"), "2024-02-29");
  assert.equal(textToPicker("02-29-2024", "date_mdy", "mdy"), "2024-02-29");
  assert.equal(textToPicker("29-02-2023", "date_dmy", "dmy"), "");
  assert.equal(textToPicker("31-12-2026 23:59", "datetime_dmy", "dmy"), "2026-12-31T23:59");
  assert.equal(pickerToText("2024-02-29", "date_dmy", "dmy"), "29-02-2024");
  assert.equal(pickerToText("2024-02-29", "date_mdy", "mdy"), "02-29-2024");
  assert.equal(pickerToText("2024-02-29T07:05:09", "datetime_seconds_mdy", "mdy"), "02-29-2024 07:05:09");
});

test("datetimes and times convert between the text and the picker, with and without seconds", () => {
  assert.equal(textToPicker("2024-02-29 23:59", "datetime_ymd"), "2024-02-29T23:59");
  assert.equal(textToPicker("2024-01-05 07:30:15", "datetime_seconds_dmy"), "2024-01-05T07:30:15");
  assert.equal(textToPicker("07:30", "time"), "07:30");
  assert.equal(textToPicker("07:30:15", "time_hh_mm_ss"), "07:30:15");
  // The seconds must be there exactly when the type keeps them.
  assert.equal(textToPicker("2024-01-05 07:30:15", "datetime_ymd"), "");
  assert.equal(textToPicker("2024-01-05 07:30", "datetime_seconds_ymd"), "");
  assert.equal(textToPicker("07:30:15", "time"), "");
  assert.equal(textToPicker("07:30", "time_hh_mm_ss"), "");
  assert.equal(textToPicker("2023-02-29 07:30", "datetime_ymd"), "");
  assert.equal(textToPicker("2024-01-05T07:30", "datetime_ymd"), "");
  assert.equal(textToPicker("24:00", "time"), "");
  assert.equal(textToPicker("7:30", "time"), "");
  assert.equal(textToPicker("07:60", "time"), "");
  assert.equal(textToPicker("07:30:60", "time_hh_mm_ss"), "");
});

test("a picked date, datetime or time is written as the field stores it", () => {
  assert.equal(pickerToText("2024-02-29", "date_dmy"), "2024-02-29");
  assert.equal(pickerToText("2026-04-01T09:05", "datetime_ymd"), "2026-04-01 09:05");
  // Browsers leave out zero seconds; a seconds field still needs them.
  assert.equal(pickerToText("2026-04-01T09:05", "datetime_seconds_ymd"), "2026-04-01 09:05:00");
  assert.equal(pickerToText("2026-04-01T09:05:07", "datetime_seconds_ymd"), "2026-04-01 09:05:07");
  assert.equal(pickerToText("2026-04-01T09:05:07.250", "datetime_seconds_ymd"), "2026-04-01 09:05:07");
  assert.equal(pickerToText("2026-04-01T09:05:07", "datetime_ymd"), "2026-04-01 09:05");
  assert.equal(pickerToText("23:59", "time"), "23:59");
  assert.equal(pickerToText("23:59:58", "time"), "23:59");
  assert.equal(pickerToText("00:00", "time_hh_mm_ss"), "00:00:00");
  assert.equal(pickerToText("00:00:01", "time_hh_mm_ss"), "00:00:01");
});

test("an empty or impossible picker value writes nothing", () => {
  assert.equal(pickerToText("", "date_ymd"), "");
  assert.equal(pickerToText("2023-02-29", "date_ymd"), "");
  assert.equal(pickerToText("+012345-01-01", "date_ymd"), "");
  assert.equal(pickerToText("12-01-01", "date_ymd"), "");
  assert.equal(pickerToText("2026-04-01", "datetime_ymd"), "");
  assert.equal(pickerToText("2026-04-01T25:00", "datetime_ymd"), "");
  assert.equal(pickerToText("9:05", "time"), "");
  assert.equal(pickerToText("2026-04-01", "email"), "");
});

test("Today and Now write the local date and time in the field's shape", () => {
  const when = new Date(2024, 1, 29, 7, 5, 9); // 29 February 2024, 07:05:09 local time
  assert.equal(nowText("date_dmy", when), "2024-02-29");
  assert.equal(nowText("date_mdy", when, "mdy"), "02-29-2024");
  assert.equal(nowText("datetime_ymd", when), "2024-02-29 07:05");
  assert.equal(nowText("datetime_seconds_dmy", when), "2024-02-29 07:05:09");
  assert.equal(nowText("time", when), "07:05");
  assert.equal(nowText("time_hh_mm_ss", when), "07:05:09");
  assert.equal(nowText("time_mm_ss", when), "");
});

test("search folds full-width and half-width forms and letter case", () => {
  assert.equal(searchKey("ＡＢＣ"), "abc");
  assert.equal(searchKey("ｶﾀｶﾅ"), "カタカナ");
  assert.equal(searchKey("１２３"), "123");
  assert.equal(searchKey(null), "");
});

const SITES = [
  { value: "1", label: "東京大学病院 / Tokyo" },
  { value: "2", label: "大阪ｾﾝﾀｰ / Osaka" },
  { value: "3", label: "ＫＹＯＴＯ Clinic" },
  { value: "4", label: "Nagoya" },
];

test("options are filtered by a case-insensitive substring after NFKC", () => {
  assert.deepEqual(filterOptions(SITES, "大学").map((o) => o.value), ["1"]);
  assert.deepEqual(filterOptions(SITES, "センター").map((o) => o.value), ["2"]);
  assert.deepEqual(filterOptions(SITES, "kyoto").map((o) => o.value), ["3"]);
  assert.deepEqual(filterOptions(SITES, "ｏｓａ").map((o) => o.value), ["2"]);
  assert.deepEqual(filterOptions(SITES, "O").map((o) => o.value), ["1", "2", "3", "4"]);
  assert.deepEqual(filterOptions(SITES, "  ").map((o) => o.value), ["1", "2", "3", "4"]);
  assert.deepEqual(filterOptions(SITES, "Sapporo"), []);
});

test("leaving a combobox keeps an exact label, clears on no text and otherwise restores", () => {
  assert.equal(settleTyped(SITES, "nagoya", "1"), "4");
  assert.equal(settleTyped(SITES, "kyoto clinic", ""), "3");
  assert.equal(settleTyped(SITES, "", "1"), "");
  assert.equal(settleTyped(SITES, "   ", "1"), "");
  assert.equal(settleTyped(SITES, "Nago", "1"), "1");
  assert.equal(settleTyped(SITES, "Sapporo", ""), "");
});

test("arrow keys move the active option and wrap at both ends", () => {
  assert.equal(moveIndex(-1, 1, 3), 0);
  assert.equal(moveIndex(-1, -1, 3), 2);
  assert.equal(moveIndex(0, 1, 3), 1);
  assert.equal(moveIndex(2, 1, 3), 0);
  assert.equal(moveIndex(0, -1, 3), 2);
  assert.equal(moveIndex(-1, 1, 0), -1);
});
