"""Attention based fusion (ABF), ReviewKD's connector."""
from typing import Optional, Tuple

import torch
import torch.nn.functional as F
from torch import nn

from mmkd.registry import MODELS


@MODELS.register_module()
class ABF(nn.Module):
    """Fuses a student level with the residual coming from the next deeper level.

    ``x = BN(conv1x1(F_s))``; with a residual ``y`` (resized nearest to ``x``):
    ``z = sigmoid(conv1x1([x, y]))`` (2 maps) and ``x = x * z0 + y * z1``. Returns
    ``BN(conv3x3(x))`` (teacher channels, for the loss) and ``x`` (mid channels, the residual
    for the next shallower level).

    Args:
        in_channels: student channels. mid_channels: fusion width.
        out_channels: teacher channels. fuse: False for the deepest level (no residual in).
    """

    def __init__(self, in_channels: int, mid_channels: int, out_channels: int, fuse: bool):
        super().__init__()
        self.reduce = nn.Sequential(nn.Conv2d(in_channels, mid_channels, 1, bias=False),
                                    nn.BatchNorm2d(mid_channels))
        self.project = nn.Sequential(
            nn.Conv2d(mid_channels, out_channels, 3, padding=1, bias=False),
            nn.BatchNorm2d(out_channels))
        self.attention = nn.Conv2d(2 * mid_channels, 2, 1) if fuse else None
        nn.init.kaiming_uniform_(self.reduce[0].weight, a=1)
        nn.init.kaiming_uniform_(self.project[0].weight, a=1)

    def forward(self, feature: torch.Tensor,
                residual: Optional[torch.Tensor] = None) -> Tuple[torch.Tensor, torch.Tensor]:
        """feature (N, in, H, W), residual (N, mid, h, w) or None -> ((N, out, H, W), (N, mid, H, W))."""
        x = self.reduce(feature)
        if self.attention is not None:
            if residual is None:
                raise ValueError('ABF with fuse=True needs the residual of the deeper level')
            y = F.interpolate(residual, size=x.shape[-2:], mode='nearest')
            z = torch.sigmoid(self.attention(torch.cat([x, y], dim=1)))
            x = x * z[:, 0:1] + y * z[:, 1:2]
        return self.project(x), x
