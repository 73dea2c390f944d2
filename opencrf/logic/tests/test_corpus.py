"""The shared corpus: every case holds in Python, and the compiled copy for JavaScript is fresh."""

from __future__ import annotations

import pytest

from opencrf.logic import corpus

CASES = corpus.load()


def test_corpus_is_large_and_its_ids_are_unique():
    ids = [case["id"] for case in CASES]
    assert len(ids) >= 450
    assert len(set(ids)) == len(ids)


def test_every_case_is_well_formed():
    for case in CASES:
        if "error" in case:
            assert case["error"] in ("syntax", "evaluation") and isinstance(case["message"], str)
        else:
            assert case["mode"] in ("logic", "calc", "text") and "expect" in case
            assert case["expect"] is not None


@pytest.mark.parametrize("case", CASES, ids=[case["id"] for case in CASES])
def test_case(case):
    assert corpus.mismatch(case) is None


def test_compiled_corpus_is_up_to_date():
    """Regenerate with `python -m opencrf.logic.corpus --write`."""
    assert corpus.COMPILED.read_text(encoding="utf-8") == corpus.compiled_text(CASES)


def test_compiled_corpus_has_an_ast_for_every_case_that_parses():
    for case in corpus.compiled(CASES):
        assert ("ast" in case) == (case.get("error") != "syntax")


def test_same_distinguishes_booleans_numbers_and_strings():
    assert corpus.same(True, True)
    assert not corpus.same(1, True)
    assert not corpus.same(True, 1)
    assert corpus.same(2, 2.0)
    assert not corpus.same("1", 1)
    assert not corpus.same(1, "1")
