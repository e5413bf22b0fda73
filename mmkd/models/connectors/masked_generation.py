"""MGD's student side: mask positions at random, generate the teacher's map from the rest."""
import torch
from torch import nn

from mmkd.registry import MODELS


@MODELS.register_module()
class MaskedGeneration(nn.Module):
    """Masked generative distillation's generation block (Yang et al., ECCV 2022).

    Each position of the input is zeroed, all channels together, with probability
    ``drop_ratio`` (a fresh mask every call), and a 3x3 conv - ReLU - 3x3 conv generates the
    teacher's map from what is left: (N, C, H, W) -> (N, C, H, W).

    Args:
        channels (int): the teacher's width (the input is already aligned to it).
        drop_ratio (float): the share of positions masked; 0.65 for detection in the paper.
    """

    def __init__(self, channels: int, drop_ratio: float = 0.65):
        super().__init__()
        if not 0 <= drop_ratio < 1:
            raise ValueError(f'MaskedGeneration drop_ratio={drop_ratio}: must be in [0, 1)')
        self.drop_ratio = drop_ratio
        self.generation = nn.Sequential(
            nn.Conv2d(channels, channels, 3, padding=1), nn.ReLU(inplace=True),
            nn.Conv2d(channels, channels, 3, padding=1))

    def random_mask(self, feat: torch.Tensor) -> torch.Tensor:
        """(N, 1, H, W): 0 at masked positions, 1 elsewhere."""
        n, _, h, w = feat.shape
        keep = torch.rand(n, 1, h, w, device=feat.device) >= self.drop_ratio
        return keep.to(feat.dtype)

    def forward(self, feat: torch.Tensor) -> torch.Tensor:
        return self.generation(feat * self.random_mask(feat))
