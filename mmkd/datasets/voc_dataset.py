"""A Pascal VOC folder read as COCO: converted to COCO JSON on first use, images read in place."""
import os
import os.path as osp

from mmdet.datasets import CocoDataset
from mmengine.logging import print_log

from mmkd.registry import DATASETS
from .voc_converter import voc_to_coco


@DATASETS.register_module()
class VOCCocoDataset(CocoDataset):
    """:class:`CocoDataset` over a Pascal VOC folder (``Annotations/``, ``ImageSets/Main/``,
    ``JPEGImages/``) that writes its COCO JSON on first use with :func:`voc_to_coco`.

    The VOC root is ``data_prefix['img']`` (the converted file names are relative to it, so the
    images are read where they lie); ``ann_file`` is where the JSON goes, and its base name is
    the split (``data/bccd/train.json`` -> ``ImageSets/Main/train.txt``). ``metainfo['classes']``
    fixes the category order, so every split and the evaluator agree. What the conversion
    clipped, ignored or dropped is logged.
    """

    WRITES_ANN_FILE = True        # a missing ann_file is no error (mmkd.utils.data_check)

    def __init__(self, *args, **kwargs):
        voc_root = (kwargs.get('data_prefix') or {}).get('img', '')
        ann_file = osp.join(kwargs.get('data_root') or '', kwargs.get('ann_file', ''))
        classes = (kwargs.get('metainfo') or {}).get('classes')
        if not classes:
            raise ValueError(f'{type(self).__name__} needs metainfo=dict(classes=(...)): the '
                             f'category order of the converted JSON')
        if not osp.isfile(ann_file):
            self.convert(voc_root, ann_file, classes)
        super().__init__(*args, **kwargs)

    @staticmethod
    def convert(voc_root: str, ann_file: str, classes) -> None:
        split = osp.splitext(osp.basename(ann_file))[0]
        split_list = osp.join(voc_root, 'ImageSets', 'Main', f'{split}.txt')
        if not osp.isfile(split_list):
            raise FileNotFoundError(
                f'data_prefix.img={voc_root!r} is not a Pascal VOC root with a {split!r} '
                f'split: no {split_list} (the split is the base name of ann_file={ann_file!r})')
        os.makedirs(osp.dirname(ann_file) or '.', exist_ok=True)
        partial = f'{ann_file}.{os.getpid()}.tmp'   # racing processes write the same content
        _, counts = voc_to_coco(voc_root, split, classes, partial)
        os.replace(partial, ann_file)
        print_log(f'converted {voc_root} {split} to {ann_file}: {counts}', logger='current')

    @classmethod
    def plain_config(cls, dataset_cfg: dict) -> dict:
        """The same data as a plain mmdet ``CocoDataset`` config (for exported configs)."""
        return dict(dataset_cfg, type='CocoDataset')
