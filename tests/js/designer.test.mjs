// The pure helpers of the online designer (opencrf/static/opencrf/designer.js); its DOM part
// is driven in Chromium by tests/browser/test_designer.py.
import assert from "node:assert/strict";
import { test } from "node:test";

import {
  builderOptions,
  choiceCodes,
  conditionText,
  joinCondition,
  nameFromLabel,
} from "../../opencrf/static/opencrf/designer.js";

test("a name is made from the label as the server makes it", () => {
  assert.equal(nameFromLabel("Date of birth (DOB)"), "date_of_birth_dob");
  assert.equal(nameFromLabel("体重", ["field"]), "field_2");
  assert.equal(nameFromLabel("2nd visit"), "field_2nd_visit");
  assert.equal(nameFromLabel("Café  au lait!", ["cafe_au_lait"]), "cafe_au_lait_2");
});

test("conditions quote text, keep numbers bare and join with and / or", () => {
  assert.equal(conditionText("sex", "=", "1"), "[sex] = 1");
  assert.equal(conditionText("name", "<>", "O'Brien"), "[name] <> 'OBrien'");
  assert.equal(joinCondition("", "[a] = 1", "and"), "[a] = 1");
  assert.equal(joinCondition("[a] = 1 ", "[b] > 2", "or"), "[a] = 1 or [b] > 2");
});

test("the builder offers each checkbox code and the codes of choice fields", () => {
  const fields = [
    { name: "sex", type: "radio", choices: "1, Male | 2, Female" },
    { name: "race", type: "checkbox", choices: "a, A | b, B" },
    { name: "intro", type: "descriptive", choices: "" },
    { name: "smoker", type: "yesno", choices: "" },
  ];
  assert.deepEqual(builderOptions(fields), [
    { value: "sex", values: ["1", "2"] },
    { value: "race(a)", values: ["1", "0"] },
    { value: "race(b)", values: ["1", "0"] },
    { value: "smoker", values: ["1", "0"] },
  ]);
  assert.deepEqual(choiceCodes("1, A | | 2, B"), ["1", "2"]);
});
