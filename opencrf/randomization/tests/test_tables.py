"""Allocation tables: REDCap's CSV read strictly, permuted blocks generated reproducibly."""

from __future__ import annotations

from collections import Counter

import pytest

from opencrf.core.errors import InvalidInput
from opencrf.randomization.scheme import Factor, Scheme
from opencrf.randomization.tables import generate_blocks, parse_block_sizes, parse_table_csv

SEX = Factor("sex", "Sex", (("1", "Male"), ("2", "Female")))
SITE = Factor("redcap_data_access_group", "Site", (("7", "Site A"), ("8", "Site B")))
SCHEME = Scheme("arm", (("1", "Low salt"), ("2", "Usual")), {"1": 1, "2": 1}, (SEX, SITE))


def test_a_table_in_redcaps_format_is_read_line_by_line():
    data = "\ufeffarm,sex,redcap_data_access_group\r\n1,1,7\r\n2,1,7\r\n2,2,8\r\n".encode()

    lines = parse_table_csv(data, SCHEME)

    assert [(line.arm, dict(line.stratum)) for line in lines] == [
        ("1", {"sex": "1", "redcap_data_access_group": "7"}),
        ("2", {"sex": "1", "redcap_data_access_group": "7"}),
        ("2", {"sex": "2", "redcap_data_access_group": "8"}),
    ]


def test_a_bad_value_is_named_by_line_and_column():
    data = b"arm,sex,redcap_data_access_group\n1,1,7\n3,1,7\n1,,8\n1,9,=cmd()\n"

    with pytest.raises(InvalidInput) as refused:
        parse_table_csv(data, SCHEME)

    assert refused.value.message == (
        "Line 3, column arm: “3” is not one of 1, 2. "
        "Line 4, column sex: no value (expected one of 1, 2). "
        "Line 5, column sex: “9” is not one of 1, 2. "
        "Line 5, column redcap_data_access_group: “=cmd()” is not one of 7, 8. "
        "Nothing was saved."
    )


def test_a_header_in_another_order_is_refused_with_what_was_expected():
    with pytest.raises(InvalidInput) as refused:
        parse_table_csv(b"sex,arm,site\n1,1,7\n", SCHEME)

    assert refused.value.message == (
        "Line 1 (the header) must name the columns arm, sex, redcap_data_access_group in this "
        "order; it names sex, arm, site (missing: redcap_data_access_group; not expected: "
        "site). Nothing was saved."
    )


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "The allocation table is empty; nothing was saved."),
        (
            b"arm,sex,redcap_data_access_group\n",
            "The allocation table has a header but no allocations.",
        ),
        (b"\xff\xfe\x00a", "The allocation table is not UTF-8 text; nothing was saved."),
        (
            b"arm,sex,redcap_data_access_group\n1,1\n",
            "Line 2 has 2 values; the header has 3. Nothing was saved.",
        ),
    ],
)
def test_empty_undecodable_and_ragged_files_are_refused(data, message):
    with pytest.raises(InvalidInput) as refused:
        parse_table_csv(data, SCHEME)

    assert refused.value.message == message


def test_block_sizes_must_be_multiples_of_the_ratio_sum():
    uneven = Scheme("arm", SCHEME.arms, {"1": 2, "2": 1}, (SEX,))

    assert parse_block_sizes("6, 3;3", uneven) == [3, 6]
    with pytest.raises(InvalidInput) as refused:
        parse_block_sizes("4", uneven)
    assert refused.value.message == "Block size 4 is not a multiple of 3 (the sum of the ratios)."
    with pytest.raises(InvalidInput):
        parse_block_sizes("x", uneven)


def test_generated_blocks_are_balanced_within_each_stratum_and_block():
    lines = generate_blocks(SCHEME, [2, 4, 6], 50, "seed-1")

    blocks: dict[tuple[str, ...], Counter[str]] = {}
    for line in lines:
        key = (*line.stratum.values(), str(line.block))
        blocks.setdefault(key, Counter())[line.arm] += 1
    assert len(blocks) == 4 * 50
    assert all(counts["1"] == counts["2"] for counts in blocks.values())
    sizes = Counter(sum(counts.values()) for counts in blocks.values())
    assert set(sizes) == {2, 4, 6}


def test_unequal_ratios_hold_in_every_block():
    uneven = Scheme("arm", SCHEME.arms, {"1": 2, "2": 1}, (SEX,))

    lines = generate_blocks(uneven, [3, 6], 20, "s")

    blocks: dict[tuple[str, int], Counter[str]] = {}
    for line in lines:
        blocks.setdefault((line.stratum["sex"], line.block), Counter())[line.arm] += 1
    assert all(counts["1"] == 2 * counts["2"] for counts in blocks.values())


def test_the_same_seed_gives_the_same_table_and_another_seed_another():
    first = generate_blocks(SCHEME, [4, 6], 10, "abc")

    assert generate_blocks(SCHEME, [4, 6], 10, "abc") == first
    assert generate_blocks(SCHEME, [4, 6], 10, "abd") != first


def test_a_table_too_large_is_refused():
    with pytest.raises(InvalidInput):
        generate_blocks(SCHEME, [1000], 100, "s")
    with pytest.raises(InvalidInput):
        generate_blocks(SCHEME, [4], 0, "s")
