"""The example corpus shared with the JavaScript evaluator (GRAMMAR.md §10).

`corpus.json` holds the cases; `corpus.compiled.json` is the same list with each parsed AST
added, for the JavaScript tests, which do not parse. Usage:

    python -m opencrf.logic.corpus            # run every case, report mismatches
    python -m opencrf.logic.corpus --write    # regenerate corpus.compiled.json
    python -m opencrf.logic.corpus --check    # fail if corpus.compiled.json is stale
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from opencrf.logic import LogicError, LogicEvaluationError, LogicSyntaxError, evaluate, parse

HERE = Path(__file__).resolve().parent
CORPUS = HERE / "corpus.json"
COMPILED = HERE / "corpus.compiled.json"

Case = dict[str, Any]


def load(path: Path = CORPUS) -> list[Case]:
    cases: list[Case] = json.loads(path.read_text(encoding="utf-8"))
    return cases


def compiled(cases: list[Case]) -> list[Case]:
    """The cases with `"ast"` added to every one that parses."""
    return [
        {**case, "ast": parse(case["expr"])} if case.get("error") != "syntax" else case
        for case in cases
    ]


def compiled_text(cases: list[Case]) -> str:
    return json.dumps(compiled(cases), ensure_ascii=False, indent=1) + "\n"


def same(actual: object, expected: object) -> bool:
    """Equal and of the same kind: `True` is not `1`, `"1"` is not `1`."""
    if isinstance(expected, bool) or isinstance(actual, bool):
        return type(actual) is type(expected) and actual == expected
    if isinstance(expected, int | float):
        return isinstance(actual, int | float) and actual == expected
    return isinstance(actual, str) and actual == expected


def outcome(case: Case) -> object:
    """What evaluating the case gives: a value, or ("syntax"|"evaluation", message)."""
    try:
        context = case.get("context", {})
        return evaluate(
            case["expr"], case.get("values", {}), mode=case.get("mode", "logic"), **context
        )
    except LogicSyntaxError as error:
        return ("syntax", error.message)
    except LogicEvaluationError as error:
        return ("evaluation", error.message)


def mismatch(case: Case) -> str | None:
    """None when the case holds, else a description of the difference."""
    actual = outcome(case)
    if "error" in case:
        expected: object = (case["error"], case["message"])
        return None if actual == expected else f"expected {expected!r}, got {actual!r}"
    if isinstance(actual, tuple) or not same(actual, case["expect"]):
        return f"expected {case['expect']!r}, got {actual!r}"
    return None


def main(arguments: list[str]) -> int:
    cases = load()
    if "--write" in arguments:
        COMPILED.write_text(compiled_text(cases), encoding="utf-8")
        print(f"wrote {len(cases)} cases to {COMPILED}")
        return 0
    if "--check" in arguments:
        stale = not COMPILED.exists() or COMPILED.read_text(encoding="utf-8") != compiled_text(
            cases
        )
        print("corpus.compiled.json is stale" if stale else "corpus.compiled.json is up to date")
        return 1 if stale else 0
    failures = [(case["id"], problem) for case in cases if (problem := mismatch(case))]
    for case_id, problem in failures:
        print(f"{case_id}: {problem}")
    print(f"{len(cases) - len(failures)} of {len(cases)} cases hold")
    return 1 if failures else 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except LogicError as error:  # a case that should parse does not
        sys.exit(f"error: {error}")
