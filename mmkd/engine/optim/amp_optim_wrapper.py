"""mmengine's fp16 AmpOptimWrapper, able to skip a step in which no parameter got a gradient."""
from mmengine.optim import AmpOptimWrapper as MMEngineAmpOptimWrapper

from mmkd.registry import OPTIM_WRAPPERS


@OPTIM_WRAPPERS.register_module(name='AmpOptimWrapper')
class SkippingAmpOptimWrapper(MMEngineAmpOptimWrapper):
    """``mmkd.AmpOptimWrapper``: mmengine's ``AmpOptimWrapper`` (fp16 autocast, loss scaling),
    except that a step in which no parameter has a gradient is skipped.

    Such a step is what ``DistillDetector(nonfinite_loss='skip')`` makes of a non-finite loss.
    mmengine's wrapper would hand it to ``GradScaler.step``, which asserts "No inf checks were
    recorded for this optimizer"; here the optimizer and the scaler are left as they were (the
    scale is not lowered: the step did not overflow in fp16, its loss was already non-finite).
    """

    def step(self, **kwargs):
        if any(param.grad is not None for group in self.optimizer.param_groups
               for param in group['params']):
            super().step(**kwargs)
