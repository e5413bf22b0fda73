from .distill_vis_hook import DistillVisHook
from .plain_checkpoint_hook import PlainCheckpointHook, to_plain

__all__ = ['DistillVisHook', 'PlainCheckpointHook', 'to_plain']
