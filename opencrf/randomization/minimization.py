"""Minimization (Pocock and Simon, Biometrics 1975), as a pure function.

For a new participant with level `l_f` of each factor `f`, and each candidate arm `a`:
take the counts of earlier participants with the same level of `f` in each arm, add the new
participant to arm `a`, divide each count by its arm's ratio, and take the range (largest minus
smallest) as the imbalance of `f`. The arm's score is the weighted sum of its factors'
imbalances. The arms with the lowest score are preferred (a tie among them is broken at random,
uniformly); the participant goes to the preferred arm with probability `p`, else to one of the
other arms at random (uniformly). When every arm ties, the choice is uniform among all arms.

Randomness comes from the `random.Random` passed in; the service seeds it from the setup's
recorded seed and the allocation's sequence number, so every decision can be replayed. The
`Decision` holds what was computed (scores, preferred arms, the draw), kept with the allocation.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

# factor → level → arm → count
Counts = dict[str, dict[str, dict[str, int]]]


@dataclass(frozen=True, slots=True)
class Decision:
    arm: str
    scores: dict[str, float]
    preferred: list[str]
    draw: float
    followed: bool

    def state(self) -> dict[str, object]:
        """What an allocation records of the decision."""
        return {
            "scores": self.scores,
            "preferred": self.preferred,
            "draw": self.draw,
            "followed_preference": self.followed,
        }


def scores(
    counts: Counts,
    levels: Mapping[str, str],
    weights: Mapping[str, float],
    arms: Sequence[str],
    ratios: Mapping[str, int],
) -> dict[str, float]:
    """Each arm's weighted imbalance if the participant went to it."""
    result: dict[str, float] = {}
    for candidate in arms:
        total = 0.0
        for factor, level in levels.items():
            by_arm = counts.get(factor, {}).get(level, {})
            shares = [
                (by_arm.get(arm, 0) + (1 if arm == candidate else 0)) / ratios.get(arm, 1)
                for arm in arms
            ]
            total += weights.get(factor, 1.0) * (max(shares) - min(shares))
        result[candidate] = round(total, 9)
    return result


def minimize(
    counts: Counts,
    levels: Mapping[str, str],
    weights: Mapping[str, float],
    arms: Sequence[str],
    ratios: Mapping[str, int],
    p: float,
    rng: random.Random,
) -> Decision:
    """The arm for a participant with `levels` (see the module's note)."""
    scored = scores(counts, levels, weights, arms, ratios)
    best = min(scored.values())
    preferred = [arm for arm in arms if scored[arm] == best]
    draw = rng.random()
    if len(preferred) == len(arms):
        return Decision(arms[int(draw * len(arms))], scored, preferred, draw, True)
    chosen = preferred[0] if len(preferred) == 1 else rng.choice(preferred)
    if draw < p:
        return Decision(chosen, scored, preferred, draw, True)
    others = [arm for arm in arms if arm != chosen]
    return Decision(rng.choice(others), scored, preferred, draw, False)


def count_in(counts: Counts, levels: Mapping[str, str], arm: str) -> None:
    """Add one participant with `levels` allocated to `arm` to `counts`."""
    for factor, level in levels.items():
        by_arm = counts.setdefault(factor, {}).setdefault(level, {})
        by_arm[arm] = by_arm.get(arm, 0) + 1
