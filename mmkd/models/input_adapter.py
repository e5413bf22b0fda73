"""Hand the teacher inputs normalised and padded its own way when its preprocessor differs."""
from typing import Optional

import torch
import torch.nn.functional as F
from torch import nn


def _normalisation(preprocessor):
    """(mean, std, swaps_channels, pad_size_divisor, pad_value) of an mmdet
    ``DetDataPreprocessor``."""
    enabled = getattr(preprocessor, '_enable_normalize', False)
    mean = preprocessor.mean.flatten().float() if enabled else torch.zeros(3)
    std = preprocessor.std.flatten().float() if enabled else torch.ones(3)
    return (mean, std, bool(getattr(preprocessor, '_channel_conversion', False)),
            getattr(preprocessor, 'pad_size_divisor', 1),
            float(getattr(preprocessor, 'pad_value', 0)))


class TeacherInputAdapter(nn.Module):
    """Maps a batch normalised by the student's preprocessor to the teacher's normalisation.

    ``teacher_input = (unnormalise_student(x)[channel order] - mean_t) / std_t`` inside each
    image; the padding (right and bottom of each image's ``img_shape``, which mmdet fills after
    normalising) gets the teacher's own ``pad_value``, and the batch is padded further (right and
    bottom) to a multiple of the teacher's ``pad_size_divisor`` where the student's padding is
    not one, as the teacher's preprocessor would do. An identity when both preprocessors agree
    (the common case costs nothing).

    Args:
        student_preprocessor, teacher_preprocessor: built ``DetDataPreprocessor`` modules.
    """

    def __init__(self, student_preprocessor, teacher_preprocessor):
        super().__init__()
        s_mean, s_std, s_swap, s_div, s_pad = _normalisation(student_preprocessor)
        t_mean, t_std, t_swap, t_div, t_pad = _normalisation(teacher_preprocessor)
        self.swap_channels = s_swap != t_swap
        self.same_normalisation = (not self.swap_channels and torch.equal(s_mean, t_mean)
                                   and torch.equal(s_std, t_std))
        self.identity = self.same_normalisation and s_pad == t_pad
        self.pad_value = t_pad
        self.pad_size_divisor = t_div
        # teacher_input = raw * scale + shift, with raw = x * s_std + s_mean (then reordered)
        if self.swap_channels:
            s_mean, s_std = s_mean.flip(0), s_std.flip(0)
        self.register_buffer('scale', (s_std / t_std).view(1, -1, 1, 1), persistent=False)
        self.register_buffer('shift', ((s_mean - t_mean) / t_std).view(1, -1, 1, 1),
                             persistent=False)

    def forward(self, inputs: torch.Tensor, data_samples: Optional[list] = None) -> torch.Tensor:
        """(N, 3, H, W) student-normalised -> (N, 3, H', W') teacher-normalised, H' and W' the
        next multiples of the teacher's ``pad_size_divisor`` (H, W when they already are).

        ``data_samples`` (their ``img_shape``) say where each image ends and its padding
        starts; without them the whole batch is taken as image.
        """
        if self.identity:
            return self._pad_to_divisor(inputs)
        if not self.same_normalisation:
            if self.swap_channels:
                inputs = inputs.flip(1)
            inputs = inputs * self.scale + self.shift
        elif data_samples:
            inputs = inputs.clone()      # only the padding changes: never the student's batch
        for image, sample in zip(inputs, data_samples or ()):
            height, width = sample.img_shape[:2]
            image[:, height:, :] = self.pad_value
            image[:, :, width:] = self.pad_value
        return self._pad_to_divisor(inputs)

    def _pad_to_divisor(self, inputs: torch.Tensor) -> torch.Tensor:
        height, width = inputs.shape[-2:]
        divisor = self.pad_size_divisor
        extra_h, extra_w = -height % divisor, -width % divisor
        if not (extra_h or extra_w):
            return inputs
        return F.pad(inputs, (0, extra_w, 0, extra_h), value=self.pad_value)
