"""The face demo data: many small face-like objects per image, over a wide range of scales.

One class, ``face``: an ellipse with two eyes and a mouth. Hard negatives share the outline
(blank ellipses, one-eyed ones) and are not labelled. Face radii are log-uniform over 3-40 px in a
160 px image, so COCO's small / medium / large split is populated; faces may occlude each other
(labels cover the visible part, at least half of the face). Deterministic from the seed.

``python -m mmkd.datasets.faces [ROOT]`` writes the default set (600 train, 150 val images) into
ROOT (default ``data/faces``). The dataset, ``mmkd.FaceShapesDataset``, is in ``demo_datasets.py``:
this module, run as a command, registers nothing.
"""
import functools

import numpy as np

from .synthetic import cluttered_background, write_coco_split, write_default_set

CLASSES = ('face',)
MIN_VISIBLE_FRACTION = 0.5
MIN_VISIBLE_PIXELS = 12


def _ellipse(xx, yy, cx, cy, rx, ry):
    return ((xx - cx) / rx) ** 2 + ((yy - cy) / ry) ** 2 <= 1


def _face_parts(xx, yy, cx, cy, radius, eyes):
    """(outline, dark features) masks of a face of half-height ``radius`` with 0-2 eyes."""
    outline = _ellipse(xx, yy, cx, cy, 0.8 * radius, radius)
    features = np.zeros_like(outline)
    eye_radius = max(0.14 * radius, 0.8)
    for side in (-1, 1)[:eyes]:
        features |= _ellipse(xx, yy, cx + side * 0.35 * radius, cy - 0.2 * radius,
                             eye_radius, eye_radius)
    if eyes == 2:
        features |= (np.abs(xx - cx) <= 0.3 * radius) & \
            (np.abs(yy - (cy + 0.45 * radius)) <= max(0.07 * radius, 0.5))
    return outline, features & outline


def _draw_image(rng, size=160, max_faces=16, max_decoys=5):
    image = cluttered_background(rng, size)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    objects = []   # (is_face, visible mask, full area)
    kinds = [True] * int(rng.integers(3, max_faces + 1)) + [False] * int(rng.integers(0, max_decoys + 1))
    for is_face in rng.permutation(kinds):
        radius = float(np.exp(rng.uniform(np.log(3), np.log(40))))
        cx, cy = rng.uniform(0, size, size=2)
        outline, features = _face_parts(xx, yy, cx, cy, radius,
                                         eyes=2 if is_face else int(rng.integers(0, 2)))
        if outline.sum() < MIN_VISIBLE_PIXELS:
            continue
        skin = rng.uniform(90, 255) * rng.uniform([0.75, 0.55, 0.4], [1.0, 0.85, 0.7])
        image[outline] = skin
        image[features] = skin * rng.uniform(0.1, 0.35)
        for _, earlier, _ in objects:
            earlier &= ~outline
        objects.append((bool(is_face), outline, outline.sum()))
    image = np.clip(image + rng.normal(0, 8, size=image.shape), 0, 255).astype(np.uint8)
    return image, [(0, mask) for is_face, mask, full_area in objects
                   if is_face and mask.sum() >= max(MIN_VISIBLE_PIXELS,
                                                    MIN_VISIBLE_FRACTION * full_area)]


def write_split(root, split, num_images, image_size=160, seed=0):
    """Write one split of the face set (see :func:`write_coco_split`)."""
    return write_coco_split(root, split, num_images,
                            functools.partial(_draw_image, size=image_size), CLASSES, seed)


if __name__ == '__main__':
    write_default_set('faces', write_split)
