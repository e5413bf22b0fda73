"""A loss weight set from the detection loss: ``loss_weight=dict(ratio=r, over_iters=n)``."""
import torch
import torch.distributed as dist
from mmengine.logging import print_log
from torch import nn


class RelativeLossWeight(nn.Module):
    """The weight that makes a distiller's losses ``ratio`` times the student's detection loss.

    Over the first ``over_iters`` training iterations the weight is
    ``ratio * mean(detection loss) / mean(distiller's unweighted losses)``, the means running over
    the iterations seen so far (averaged over the ranks under DDP); then it is fixed. The sums,
    the count and the weight are buffers, so a checkpoint keeps them and a resumed run goes on
    with the same weight (or the same calibration, if it stopped within the first iterations).

    Args:
        ratio (float): the distiller's losses over the detection loss, > 0.
        over_iters (int): iterations the two losses are averaged over, >= 1.
    """

    def __init__(self, ratio: float, over_iters: int = 50):
        super().__init__()
        if not isinstance(ratio, (int, float)) or isinstance(ratio, bool) or not ratio > 0:
            raise ValueError(f'loss_weight.ratio={ratio!r}: give a number > 0 (the distill '
                             'loss as a multiple of the detection loss)')
        if not isinstance(over_iters, int) or isinstance(over_iters, bool) or over_iters < 1:
            raise ValueError(f'loss_weight.over_iters={over_iters!r}: give a whole number of '
                             'iterations >= 1')
        self.ratio = float(ratio)
        self.over_iters = over_iters
        self.register_buffer('weight', torch.tensor(float('nan'), dtype=torch.float64))
        self.register_buffer('detection_sum', torch.zeros((), dtype=torch.float64))
        self.register_buffer('distill_sum', torch.zeros((), dtype=torch.float64))
        self.register_buffer('iters', torch.zeros((), dtype=torch.long))

    @classmethod
    def from_config(cls, loss_weight: dict) -> 'RelativeLossWeight':
        unknown = sorted(set(loss_weight) - {'ratio', 'over_iters'})
        if unknown or 'ratio' not in loss_weight:
            raise ValueError(f'loss_weight={loss_weight!r}: a relative weight is '
                             'dict(ratio=r, over_iters=n) (n optional, default 50)'
                             + (f'; unknown keys {unknown}' if unknown else ''))
        return cls(**loss_weight)

    @property
    def fixed(self) -> bool:
        return int(self.iters) >= self.over_iters

    def observe(self, detection_loss: torch.Tensor, distill_loss: torch.Tensor,
                name: str = 'distiller') -> torch.Tensor:
        """Take one iteration's detection loss and the distiller's unweighted loss (scalars)
        into the means, unless the weight is already fixed; returns the weight (a 0-d tensor)."""
        if self.fixed:
            return self.weight
        pair = torch.stack([detection_loss.detach().to(torch.float64).reshape(()),
                            distill_loss.detach().to(torch.float64).reshape(())])
        if dist.is_available() and dist.is_initialized():
            dist.all_reduce(pair)
            pair /= dist.get_world_size()
        self.detection_sum += pair[0].to(self.detection_sum.device)
        self.distill_sum += pair[1].to(self.distill_sum.device)
        self.iters += 1
        tiny = torch.finfo(torch.float32).tiny
        self.weight.copy_(self.ratio * self.detection_sum / self.distill_sum.clamp_min(tiny))
        if self.fixed:
            count = int(self.iters)
            print_log(f'{name}: loss_weight fixed at {self.weight.item():.4g} = ratio '
                      f'{self.ratio:g} x detection loss {self.detection_sum.item() / count:.4g} '
                      f'/ its unweighted loss {self.distill_sum.item() / count:.4g} (means over '
                      f'the first {count} iterations)', logger='current')
        return self.weight

    def extra_repr(self) -> str:
        return f'ratio={self.ratio}, over_iters={self.over_iters}'
