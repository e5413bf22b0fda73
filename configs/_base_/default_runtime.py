_base_ = 'mmdet::_base_/default_runtime.py'
custom_imports = dict(imports=['mmkd'], allow_failed_imports=False)

default_hooks = dict(
    logger=dict(interval=10),
    checkpoint=dict(interval=1, max_keep_ckpts=2, save_last=True),
    visualization=dict(draw=False))
log_processor = dict(window_size=10)
# Checkpoint metadata as plain types, so torch.load(weights_only=True) reads them back.
custom_hooks = [dict(type='mmkd.PlainCheckpointHook')]
