from .plain_checkpoint_hook import PlainCheckpointHook, to_plain

__all__ = ['PlainCheckpointHook', 'to_plain']
