"""Hand the teacher inputs normalised its own way when its preprocessor differs."""
import torch
from torch import nn


def _normalisation(preprocessor):
    """(mean, std, swaps_channels, pad_size_divisor) of an mmdet ``DetDataPreprocessor``."""
    enabled = getattr(preprocessor, '_enable_normalize', False)
    mean = preprocessor.mean.flatten().float() if enabled else torch.zeros(3)
    std = preprocessor.std.flatten().float() if enabled else torch.ones(3)
    return mean, std, bool(getattr(preprocessor, '_channel_conversion', False)), \
        getattr(preprocessor, 'pad_size_divisor', 1)


class TeacherInputAdapter(nn.Module):
    """Maps a batch normalised by the student's preprocessor to the teacher's normalisation.

    ``teacher_input = (unnormalise_student(x)[channel order] - mean_t) / std_t``; padding, which
    the student filled with raw 0, stays raw 0 for the teacher too. An identity when both
    preprocessors agree (the common case costs nothing).

    Args:
        student_preprocessor, teacher_preprocessor: built ``DetDataPreprocessor`` modules.
    """

    def __init__(self, student_preprocessor, teacher_preprocessor):
        super().__init__()
        s_mean, s_std, s_swap, s_div = _normalisation(student_preprocessor)
        t_mean, t_std, t_swap, t_div = _normalisation(teacher_preprocessor)
        if s_div % t_div:
            raise ValueError(f'teacher data_preprocessor.pad_size_divisor={t_div} does not divide '
                             f'the student\'s ({s_div}): set the student\'s to a multiple of it')
        self.swap_channels = s_swap != t_swap
        self.identity = (not self.swap_channels and torch.equal(s_mean, t_mean)
                         and torch.equal(s_std, t_std))
        # teacher_input = raw * scale + shift, with raw = x * s_std + s_mean (then reordered)
        if self.swap_channels:
            s_mean, s_std = s_mean.flip(0), s_std.flip(0)
        self.register_buffer('scale', (s_std / t_std).view(1, -1, 1, 1), persistent=False)
        self.register_buffer('shift', ((s_mean - t_mean) / t_std).view(1, -1, 1, 1),
                             persistent=False)

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        """(N, 3, H, W) student-normalised -> (N, 3, H, W) teacher-normalised."""
        if self.identity:
            return inputs
        if self.swap_channels:
            inputs = inputs.flip(1)
        return inputs * self.scale + self.shift
