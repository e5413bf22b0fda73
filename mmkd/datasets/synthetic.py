"""Generated COCO-format data sets: written deterministically on first use, read as COCO."""
import json
import os
import os.path as osp

import cv2
import numpy as np
from mmdet.datasets import CocoDataset
from mmengine.logging import print_log
from pycocotools import mask as mask_utils


def cluttered_background(rng, size):
    """Smooth colour noise with thin stripe-like line clutter, uint8 (size, size, 3)."""
    coarse = rng.uniform(40, 215, size=(6, 6, 3)).astype(np.float32)
    image = cv2.resize(coarse, (size, size), interpolation=cv2.INTER_CUBIC)
    for _ in range(rng.integers(4, 10)):
        colour = rng.uniform(0, 255, size=3).tolist()
        p1 = tuple(int(c) for c in rng.integers(0, size, size=2))
        p2 = tuple(int(c) for c in rng.integers(0, size, size=2))
        cv2.line(image, p1, p2, colour, thickness=int(rng.integers(1, 3)))
    return image


def _annotation(ann_id, image_id, label, mask):
    rle = mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))
    rle['counts'] = rle['counts'].decode('ascii')
    x, y, w, h = mask_utils.toBbox(rle).tolist()
    return dict(id=ann_id, image_id=image_id, category_id=label + 1, segmentation=rle,
                area=float(mask.sum()), bbox=[x, y, w, h], iscrowd=0)


def write_coco_split(root, split, num_images, draw, classes, seed=0):
    """Write ``root/<split>/*.png`` and ``root/annotations/<split>.json``; returns the json path.

    Args:
        draw: ``draw(rng) -> (uint8 HxWx3 RGB image, [(class index, bool HxW mask)])``.
        classes: class names, in class-index order.
    """
    rng = np.random.default_rng([seed, {'train': 0, 'val': 1}.get(split, 2)])
    os.makedirs(osp.join(root, split), exist_ok=True)
    os.makedirs(osp.join(root, 'annotations'), exist_ok=True)
    images, annotations = [], []
    for image_id in range(1, num_images + 1):
        image, instances = draw(rng)
        file_name = f'{split}/{image_id:05d}.png'
        cv2.imwrite(osp.join(root, file_name), image[:, :, ::-1])  # RGB drawn, BGR on disk
        images.append(dict(id=image_id, file_name=file_name, height=image.shape[0],
                           width=image.shape[1]))
        for label, mask in instances:
            annotations.append(_annotation(len(annotations) + 1, image_id, label, mask))
    coco = dict(images=images, annotations=annotations,
                categories=[dict(id=i + 1, name=name) for i, name in enumerate(classes)])
    ann_file = osp.join(root, 'annotations', f'{split}.json')
    partial = f'{ann_file}.{os.getpid()}.tmp'   # racing writers each write their own
    with open(partial, 'w') as f:
        json.dump(coco, f)
    os.replace(partial, ann_file)   # the json appears only once the images are all there
    return ann_file


class SyntheticCocoDataset(CocoDataset):
    """:class:`CocoDataset` over a generated set, which it writes on first use.

    The split is the annotation file's base name (``annotations/train.json`` -> ``train``).
    Generation is deterministic, so processes that race to write it write the same files.
    Subclasses set ``METAINFO`` and implement :meth:`write`.

    Args:
        num_images (int): images to generate for this split.
        image_size (int): side of the square images, px.
        generator_seed (int): seed of the generator. Default 0.
    """

    GENERATOR_KEYS = ('num_images', 'image_size', 'generator_seed')
    WRITES_ANN_FILE = True        # a missing ann_file is no error (mmkd.utils.data_check)

    def __init__(self, *args, num_images=600, image_size=160, generator_seed=0, **kwargs):
        data_root, ann_file = kwargs.get('data_root') or '', kwargs.get('ann_file', '')
        if not osp.isfile(osp.join(data_root, ann_file)):
            split = osp.splitext(osp.basename(ann_file))[0]
            print_log(f'generating {type(self).__name__}: {num_images} {split} images in '
                      f'{data_root}', logger='current')
            self.write(data_root, split, num_images, image_size, generator_seed)
        super().__init__(*args, **kwargs)

    @classmethod
    def write(cls, root, split, num_images, image_size, seed):
        raise NotImplementedError

    @classmethod
    def plain_config(cls, dataset_cfg: dict) -> dict:
        """The same data as a plain mmdet ``CocoDataset`` config (for exported configs)."""
        plain = {key: value for key, value in dataset_cfg.items()
                 if key not in cls.GENERATOR_KEYS}
        plain.update(type='CocoDataset', metainfo=dict(classes=cls.METAINFO['classes']))
        return plain


def write_default_set(name: str, write_split, argv=None) -> None:
    """``python -m mmkd.datasets.NAME [ROOT]``: write ``write_split``'s default set, 600 train
    and 150 val images, into ROOT (default ``data/NAME``)."""
    import argparse
    parser = argparse.ArgumentParser(prog=f'python -m mmkd.datasets.{name}',
                                     description=f'Write the generated {name} set (600 train, '
                                     '150 val images, COCO format).')
    parser.add_argument('root', nargs='?', default=f'data/{name}',
                        help=f'where to write it (default data/{name})')
    root = parser.parse_args(argv).root
    for split, num_images in (('train', 600), ('val', 150)):
        write_split(root, split, num_images)
