# Found by tools/search_recipe.py on the playing-card pair, selected on the val split (2026-12-06;
# 4-epoch trials, a budget of 10 of them; docs/benchmarks/search.md): ReviewKD on the FPN at
# 3.13x the student's detection loss, its weight fixed from the first 50 iterations.
_base_ = ['./_base_/distill/frcnn_mv2_cards.py']

model = dict(distillers=[
    dict(type='mmkd.ReviewKD', student='neck', teacher='neck',
         loss_weight=dict(ratio=3.13, over_iters=50)),
])
