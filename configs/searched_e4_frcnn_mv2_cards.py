# Found by tools/search_recipe.py on the playing-card pair, selected on the val split (2026-12-06;
# 4-epoch trials, a budget of 9 of them: 3 full trainings; the BCCD default's ratios given first
# with --start-with; docs/benchmarks/search.md; not yet trained on the full schedule): PKD on
# P2-P6 at 30x the student's detection loss and Chen et al.'s RPN and RoI-head output terms at
# 1.05x each, weights fixed from the first 50 iterations. It is the BCCD default
# (pkd_outputs_w2_frcnn_mv2_cards.py) in relative weights, the 2.1x of its output terms split
# evenly (the default's own split: 0.92x and 1.19x, pkd_outputs_relative_frcnn_mv2_cards.py).
_base_ = ['./_base_/distill/frcnn_mv2_cards.py', './_base_/distill/pkd_outputs_relative.py']

model = dict(distillers={{_base_.pkd_outputs_relative_even}})
