# Found by tools/search_recipe.py on the BCCD pair, selected on the val split (2026-12-06; 3-epoch
# trials, a budget of 12 of them: 3 full trainings; docs/benchmarks/search.md): the RoI head's
# CrossKD at 0.474x the student's detection loss, its weight fixed from the first 50 iterations.
_base_ = ['./_base_/distill/frcnn_mv2_bccd.py']

model = dict(distillers=[
    dict(type='mmkd.RoICrossKD', loss_weight=dict(ratio=0.474, over_iters=50)),
])
