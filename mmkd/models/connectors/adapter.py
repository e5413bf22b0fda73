"""The adaptation layer of hint learning."""
from torch import nn

from mmkd.registry import MODELS


@MODELS.register_module()
class Adapter(nn.Sequential):
    """1x1 conv from student to teacher channels, optionally followed by ReLU.

    (N, in_channels, H, W) -> (N, out_channels, H, W).
    """

    def __init__(self, in_channels: int, out_channels: int, relu: bool = False):
        layers = [nn.Conv2d(in_channels, out_channels, 1)]
        if relu:
            layers.append(nn.ReLU(inplace=True))
        super().__init__(*layers)
