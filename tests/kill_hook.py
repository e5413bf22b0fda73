"""A hook for the resume test: SIGKILLs its own process after a given training iteration, as a
crash or an out-of-memory kill would (no cleanup, no checkpoint)."""
import os
import signal

from mmengine.hooks import Hook

from mmkd.registry import HOOKS


@HOOKS.register_module()
class KillAfterIteration(Hook):

    def __init__(self, iteration: int):
        self.iteration = iteration

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        if runner.iter + 1 == self.iteration:      # runner.iter counts from 0 until this returns
            os.kill(os.getpid(), signal.SIGKILL)
