# Found by tools/search_recipe.py on the shapes pair (2026-12-06; 3-epoch trials, a budget of 12
# of them: 3 full trainings; docs/benchmarks/search.md): CWD at 27.3x the student's detection
# loss and the RoI head's CrossKD at 0.882x, each weight fixed from the first 50 iterations.
_base_ = ['./_base_/distill/frcnn_r18w32_to_r18w8_shapes.py']

model = dict(distillers=[
    dict(type='mmkd.CWD', student='neck', teacher='neck', tau=1.0,
         loss_weight=dict(ratio=27.3, over_iters=50)),
    dict(type='mmkd.RoICrossKD', loss_weight=dict(ratio=0.882, over_iters=50)),
])
