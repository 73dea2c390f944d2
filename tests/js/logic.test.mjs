// The shared corpus (opencrf/logic/corpus.json, compiled with each case's AST by
// `python -m opencrf.logic.corpus --write`): the browser evaluator must give exactly what the
// Python one gives. One test per case, named by its id.
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

import { LogicEvaluationError, evaluate } from "../../opencrf/static/opencrf/logic.js";

const COMPILED = fileURLToPath(new URL("../../opencrf/logic/corpus.compiled.json", import.meta.url));

function loadCases() {
  if (!existsSync(COMPILED)) return null;
  return JSON.parse(readFileSync(COMPILED, "utf8"));
}

function run(testCase) {
  return evaluate(testCase.ast, testCase.values ?? {}, testCase.context ?? {}, testCase.mode ?? "logic");
}

function check(testCase) {
  if (testCase.error === "evaluation") {
    assert.throws(() => run(testCase), (error) => {
      assert.ok(error instanceof LogicEvaluationError, `not a LogicEvaluationError: ${error}`);
      assert.strictEqual(error.message, testCase.message);
      return true;
    });
    return;
  }
  // strictEqual is Object.is: true is not 1, "1" is not 1, as in the Python runner.
  assert.strictEqual(run(testCase), testCase.expect);
}

const cases = loadCases();
if (cases === null) {
  test("corpus.compiled.json", { skip: "not generated yet: python -m opencrf.logic.corpus --write" });
} else {
  for (const testCase of cases) {
    // Syntax errors are the parser's business; the browser only ever sees parsed ASTs.
    if (testCase.error === "syntax") continue;
    test(testCase.id, () => check(testCase));
  }
}
