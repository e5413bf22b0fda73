"""Where a distillation chain (``tools/chain.py``) puts its stages."""
import os.path as osp
from typing import List, Sequence


def chain_stage_dirs(work_dir: str, configs: Sequence[str]) -> List[str]:
    """The run dir of each stage: ``WORK_DIR/stage<k>_<config name>``, k from 1."""
    return [osp.join(work_dir, f'stage{index}_{osp.splitext(osp.basename(config))[0]}')
            for index, config in enumerate(configs, start=1)]
