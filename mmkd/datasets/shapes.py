"""The embedded demo data: textured shapes on cluttered backgrounds, in COCO format.

Eight classes that differ in outline (circle, square, triangle, cross) and surface (solid or
striped), never in colour: every object gets a random colour, so a detector has to look at
shape and texture. Objects are small (12-48 px in a 160 px image), may occlude each other (masks
and boxes cover the visible part only), and sit on smooth-noise backgrounds crossed by
stripe-like clutter. Everything follows from the seed, so two calls write the same files.

``python -m mmkd.datasets.shapes [ROOT]`` writes the default set (600 train, 150 val images).
"""
import json
import os
import os.path as osp

import cv2
import numpy as np
from mmdet.datasets import CocoDataset
from mmengine.logging import print_log
from pycocotools import mask as mask_utils

from mmkd.registry import DATASETS

SHAPES = ('circle', 'square', 'triangle', 'cross')
SURFACES = ('solid', 'striped')
CLASSES = tuple(f'{surface}_{shape}' for shape in SHAPES for surface in SURFACES)

MIN_VISIBLE_FRACTION = 0.5   # an object occluded more than this is left out of the labels
MIN_VISIBLE_PIXELS = 30


def _outline(shape: str, xx, yy, cx, cy, radius, angle):
    """Boolean (H, W) mask of ``shape`` centred at (cx, cy), half-size ``radius`` (px)."""
    cos, sin = np.cos(angle), np.sin(angle)
    u = (xx - cx) * cos + (yy - cy) * sin      # coordinates in the shape's rotated frame
    v = -(xx - cx) * sin + (yy - cy) * cos
    if shape == 'circle':
        return u ** 2 + v ** 2 <= radius ** 2
    if shape == 'square':
        return (np.abs(u) <= radius * 0.85) & (np.abs(v) <= radius * 0.85)
    if shape == 'triangle':   # apex up, base at v = +radius/2
        return (v <= radius * 0.5) & (v >= -radius + 1.732 * np.abs(u))
    bar = radius * 0.35       # cross
    return ((np.abs(u) <= bar) & (np.abs(v) <= radius)) | ((np.abs(v) <= bar) & (np.abs(u) <= radius))


def _background(rng, size):
    """Smooth colour noise with thin stripe-like line clutter, uint8 (size, size, 3)."""
    coarse = rng.uniform(40, 215, size=(6, 6, 3)).astype(np.float32)
    image = cv2.resize(coarse, (size, size), interpolation=cv2.INTER_CUBIC)
    for _ in range(rng.integers(4, 10)):
        colour = rng.uniform(0, 255, size=3).tolist()
        p1 = tuple(int(c) for c in rng.integers(0, size, size=2))
        p2 = tuple(int(c) for c in rng.integers(0, size, size=2))
        cv2.line(image, p1, p2, colour, thickness=int(rng.integers(1, 3)))
    return image


def _draw_image(rng, size, max_objects):
    """One image (uint8 HxWx3) and its instances [(class_id, visible_mask)]."""
    image = _background(rng, size)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    objects = []
    for _ in range(rng.integers(2, max_objects + 1)):
        shape, surface = SHAPES[rng.integers(4)], SURFACES[rng.integers(2)]
        radius = rng.uniform(6, 24)
        cx, cy = rng.uniform(radius * 0.6, size - radius * 0.6, size=2)
        mask = _outline(shape, xx, yy, cx, cy, radius, rng.uniform(-0.35, 0.35))
        if mask.sum() < MIN_VISIBLE_PIXELS:
            continue
        colour = rng.uniform(30, 255, size=3).astype(np.float32)
        paint = np.broadcast_to(colour, image.shape).copy()
        if surface == 'striped':
            stripe_angle = rng.uniform(0, np.pi)
            phase = xx * np.cos(stripe_angle) + yy * np.sin(stripe_angle)
            dark = (np.floor(phase / 2.5) % 2).astype(bool)
            paint[dark] *= 0.45
        image[mask] = paint[mask]
        for _, earlier, _ in objects:
            earlier &= ~mask
        objects.append((SHAPES.index(shape) * 2 + SURFACES.index(surface), mask, mask.sum()))
    image = image + rng.normal(0, 10, size=image.shape)
    instances = [(label, mask) for label, mask, full_area in objects
                 if mask.sum() >= max(MIN_VISIBLE_PIXELS, MIN_VISIBLE_FRACTION * full_area)]
    return np.clip(image, 0, 255).astype(np.uint8), instances


def _annotation(ann_id, image_id, label, mask):
    rle = mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))
    rle['counts'] = rle['counts'].decode('ascii')
    x, y, w, h = mask_utils.toBbox(rle).tolist()
    return dict(id=ann_id, image_id=image_id, category_id=label + 1, segmentation=rle,
                area=float(mask.sum()), bbox=[x, y, w, h], iscrowd=0)


def write_split(root, split, num_images, image_size=160, max_objects=8, seed=0):
    """Write ``root/<split>/*.png`` and ``root/annotations/<split>.json``; returns the json path."""
    rng = np.random.default_rng([seed, {'train': 0, 'val': 1}.get(split, 2)])
    os.makedirs(osp.join(root, split), exist_ok=True)
    os.makedirs(osp.join(root, 'annotations'), exist_ok=True)
    images, annotations = [], []
    for image_id in range(1, num_images + 1):
        image, instances = _draw_image(rng, image_size, max_objects)
        file_name = f'{split}/{image_id:05d}.png'
        cv2.imwrite(osp.join(root, file_name), image[:, :, ::-1])  # RGB drawn, BGR on disk
        images.append(dict(id=image_id, file_name=file_name, width=image_size, height=image_size))
        for label, mask in instances:
            annotations.append(_annotation(len(annotations) + 1, image_id, label, mask))
    coco = dict(images=images, annotations=annotations,
                categories=[dict(id=i + 1, name=name) for i, name in enumerate(CLASSES)])
    ann_file = osp.join(root, 'annotations', f'{split}.json')
    with open(ann_file + '.tmp', 'w') as f:
        json.dump(coco, f)
    os.replace(ann_file + '.tmp', ann_file)   # the json appears only once the images are all there
    return ann_file


@DATASETS.register_module()
class ShapesDataset(CocoDataset):
    """:class:`CocoDataset` over the demo set, which it writes on first use.

    The split is the annotation file's base name (``annotations/train.json`` -> ``train``).
    Generation is deterministic, so processes that race to write it write the same files.

    Args:
        num_images (int): images to generate for this split. Default 600.
        image_size (int): side of the square images, px. Default 160.
        generator_seed (int): seed of the generator. Default 0.
    """

    METAINFO = dict(classes=CLASSES, palette=[(220, 20, 60), (119, 11, 32), (0, 0, 142),
                                              (0, 0, 230), (106, 0, 228), (0, 60, 100),
                                              (0, 80, 100), (0, 0, 70)])

    def __init__(self, *args, num_images=600, image_size=160, generator_seed=0, **kwargs):
        data_root, ann_file = kwargs.get('data_root') or '', kwargs.get('ann_file', '')
        if not osp.isfile(osp.join(data_root, ann_file)):
            split = osp.splitext(osp.basename(ann_file))[0]
            print_log(f'generating the demo set: {num_images} {split} images in {data_root}',
                      logger='current')
            write_split(data_root, split, num_images, image_size, seed=generator_seed)
        super().__init__(*args, **kwargs)

    @classmethod
    def plain_config(cls, dataset_cfg: dict) -> dict:
        """The same data as a plain mmdet ``CocoDataset`` config (for exported configs)."""
        plain = {key: value for key, value in dataset_cfg.items()
                 if key not in ('num_images', 'image_size', 'generator_seed')}
        plain.update(type='CocoDataset', metainfo=dict(classes=CLASSES))
        return plain


if __name__ == '__main__':
    import sys
    root = sys.argv[1] if len(sys.argv) > 1 else 'data/shapes'
    write_split(root, 'train', 600)
    write_split(root, 'val', 150)
