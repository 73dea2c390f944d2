// pipeText: the text a live piped reference shows, which must equal what
// opencrf/dictionary/piping.py renders for the same field and values.
import assert from "node:assert/strict";
import { test } from "node:test";

import { PIPE_BLANK, pipeText } from "../../opencrf/static/opencrf/form-logic.js";

const name = { name: "name", type: "text", choices: [] };
const sex = { name: "sex", type: "radio", choices: [["1", "Male"], ["2", "Female"]] };
const ok = { name: "ok", type: "yesno", choices: [["1", "Yes"], ["0", "No"]] };
const meds = {
  name: "meds",
  type: "checkbox",
  choices: [["a", "Aspirin", "meds___a"], ["b", "Beta", "meds___b"], ["-9", "None", "meds____9"]],
};
const bmi = { name: "bmi", type: "calc" };

test("blank is piping.py's BLANK", () => {
  assert.equal(PIPE_BLANK, "______");
  assert.equal(pipeText(name, "label", {}), "______");
  assert.equal(pipeText(name, "label", { name: "" }), "______");
});

test("a text or calc field pipes its value as typed", () => {
  assert.equal(pipeText(name, "label", { name: "Ada <b>" }), "Ada <b>");
  assert.equal(pipeText(name, "value", { name: "Ada" }), "Ada");
  assert.equal(pipeText(bmi, "label", { bmi: "22.5" }), "22.5");
});

test("a choice field pipes its label, or its code with :value", () => {
  assert.equal(pipeText(sex, "label", { sex: "2" }), "Female");
  assert.equal(pipeText(sex, "value", { sex: "2" }), "2");
  assert.equal(pipeText(sex, "label", { sex: "" }), "______");
  assert.equal(pipeText(sex, "value", { sex: "" }), "______");
});

test("an unknown code pipes as itself", () => {
  assert.equal(pipeText(sex, "label", { sex: "9" }), "9");
});

test("yes/no pipes the labels the server sent", () => {
  assert.equal(pipeText(ok, "label", { ok: "0" }), "No");
  assert.equal(pipeText(ok, "value", { ok: "1" }), "1");
});

test("a checkbox pipes its checked labels, in choice order", () => {
  const values = { meds___a: "1", meds___b: "0", meds____9: "1" };
  assert.equal(pipeText(meds, "label", values), "Aspirin, None");
  assert.equal(pipeText(meds, "checked", values), "Aspirin, None");
  assert.equal(pipeText(meds, "unchecked", values), "Beta");
  assert.equal(pipeText(meds, "value", values), "a, -9");
});

test("a checkbox with nothing ticked pipes blank, and :unchecked lists every label", () => {
  const values = { meds___a: "0", meds___b: "0", meds____9: "0" };
  assert.equal(pipeText(meds, "label", values), "______");
  assert.equal(pipeText(meds, "unchecked", values), "Aspirin, Beta, None");
});

test("inherited property names are not values", () => {
  assert.equal(pipeText({ name: "constructor", type: "text" }, "label", {}), "______");
});
