"""Fusing the dense and the lexical rankings: the same inputs give the same order in every
process (ties were once broken by the order of a set, which Python's hash seed changes)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from vectorstore.fusion import weighted_score_fusion

DENSE = [("un-ga-79-1#169", 0.43), ("un-ga-79-1#180", 0.42), ("un-ga-79-1#181", 0.41)]
LEXICAL = [("eo-14028#39", 7.1), ("paris-call-wg3#90", 6.4), ("un-ga-79-1#180", 5.0)]

PROGRAM = f"""
import json
from vectorstore.fusion import weighted_score_fusion
print(json.dumps(weighted_score_fusion({DENSE!r}, {LEXICAL!r}, 0.5)))
"""


def test_scores_and_the_order_of_ties():
    fused = weighted_score_fusion(DENSE, LEXICAL, 0.5)
    scores = dict(fused)
    # the best of each list, absent from the other, both score alpha: a tie, dense first
    assert fused[0] == ("un-ga-79-1#169", 0.5) and fused[1] == ("eo-14028#39", 0.5)
    assert scores["un-ga-79-1#180"] == 0.5 * 0.5 + 0.5 * 0.0  # min of the lexical list
    assert len(fused) == 5
    assert [s for _, s in fused] == sorted(scores.values(), reverse=True)


def test_the_order_is_the_same_under_any_hash_seed():
    orders = set()
    for seed in ("1", "2", "3", "4", "5", "6"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        done = subprocess.run(
            [sys.executable, "-c", PROGRAM], env=env, capture_output=True, text=True, check=True
        )
        orders.add(json.dumps(json.loads(done.stdout)))
    assert len(orders) == 1, orders
