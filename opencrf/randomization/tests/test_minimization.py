"""Minimization (Pocock–Simon): hand-computed decisions, and its imbalance bound at scale."""

from __future__ import annotations

import random

from opencrf.randomization.minimization import count_in, minimize, scores

ARMS = ["1", "2"]
EQUAL = {"1": 1, "2": 1}


class Draws:
    """A stand-in generator: `random()` gives the listed draws, `choice` the first item."""

    def __init__(self, *draws: float) -> None:
        self.draws = list(draws)

    def random(self) -> float:
        return self.draws.pop(0)

    def choice(self, items):
        return items[0]


def test_four_participants_get_the_arms_worked_out_by_hand():
    # Weights sex 2, site 1; p = 0.8. Scores are the weighted ranges after a tentative
    # allocation (see minimization.py):
    # P1 (M, X): every arm scores 3, a tie of all → draw 0.3 × 2 arms → index 0 → arm 1.
    # P2 (M, Y): arm 1 → sex M 2:0 (2×2) + site Y 1:0 (1) = 5; arm 2 → 1:1 (0) + 0:1 (1) = 1.
    #            Arm 2 preferred; draw 0.5 < 0.8 → arm 2.
    # P3 (F, X): arm 1 → F 1:0 (2) + X 2:0 (2) = 4; arm 2 → F 0:1 (2) + X 1:1 (0) = 2.
    #            Arm 2 preferred; draw 0.9 ≥ 0.8 → the other arm, 1.
    # P4 (F, Y): arm 1 → F 2:0 (4) + Y 1:1 (0) = 4; arm 2 → F 1:1 (0) + Y 0:2 (2) = 2.
    #            Arm 2 preferred; draw 0.1 → arm 2.
    weights = {"sex": 2.0, "site": 1.0}
    people = [
        ({"sex": "M", "site": "X"}, 0.3),
        ({"sex": "M", "site": "Y"}, 0.5),
        ({"sex": "F", "site": "X"}, 0.9),
        ({"sex": "F", "site": "Y"}, 0.1),
    ]
    counts: dict = {}
    decided = []
    for levels, draw in people:
        decision = minimize(counts, levels, weights, ARMS, EQUAL, 0.8, Draws(draw))  # type: ignore[arg-type]
        count_in(counts, levels, decision.arm)
        decided.append((decision.arm, decision.scores, decision.preferred, decision.followed))

    assert decided == [
        ("1", {"1": 3.0, "2": 3.0}, ["1", "2"], True),
        ("2", {"1": 5.0, "2": 1.0}, ["2"], True),
        ("1", {"1": 4.0, "2": 2.0}, ["2"], False),
        ("2", {"1": 4.0, "2": 2.0}, ["2"], True),
    ]


def test_ratios_scale_the_counts_before_the_range_is_taken():
    counts = {"sex": {"M": {"1": 2, "2": 1}}}

    # 2:1 allocation: two in arm 1 and one in arm 2 is balanced; one more in arm 1 is not.
    assert scores(counts, {"sex": "M"}, {"sex": 1.0}, ARMS, {"1": 2, "2": 1}) == {
        "1": 0.5,
        "2": 1.0,
    }


def _simulate(p: float, participants: int = 10_000) -> tuple[int, int]:
    """(final imbalance of the arms, worst imbalance of any factor level at any time)."""
    population = random.Random(2026)
    counts: dict = {}
    totals = {"1": 0, "2": 0}
    worst = 0
    weights = {"sex": 1.0, "age": 1.0, "site": 1.0}
    for n in range(participants):
        levels = {
            "sex": population.choice("12"),
            "age": population.choice("123"),
            "site": population.choice("12345"),
        }
        decision = minimize(counts, levels, weights, ARMS, EQUAL, p, random.Random(f"t:{n}"))
        count_in(counts, levels, decision.arm)
        totals[decision.arm] += 1
        for factor, level in levels.items():
            by_arm = counts[factor][level]
            worst = max(worst, abs(by_arm.get("1", 0) - by_arm.get("2", 0)))
    return abs(totals["1"] - totals["2"]), worst


def test_ten_thousand_participants_stay_balanced_within_every_factor_level():
    final, worst = _simulate(0.8)

    # Minimization with p = 0.8 keeps every margin within a dozen over 10,000 people
    # (measured: final 2, worst 10); chance alone (p = 0.5 with two arms) drifts by hundreds.
    assert final <= 6
    assert worst <= 15
    assert _simulate(0.5)[1] > 50
