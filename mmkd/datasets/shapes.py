"""The embedded demo data: textured shapes on cluttered backgrounds, in COCO format.

Eight classes that differ in outline (circle, square, triangle, cross) and surface (solid or
striped), never in colour: every object gets a random colour, so a detector has to look at
shape and texture. Objects are small (12-48 px in a 160 px image), may occlude each other (masks
and boxes cover the visible part only), and sit on smooth-noise backgrounds crossed by
stripe-like clutter. Everything follows from the seed, so two calls write the same files.

``python -m mmkd.datasets.shapes [ROOT]`` writes the default set (600 train, 150 val images) into
ROOT (default ``data/shapes``). The dataset, ``mmkd.ShapesDataset``, is in ``demo_datasets.py``:
this module, run as a command, registers nothing.
"""
import functools

import numpy as np

from .synthetic import cluttered_background, write_coco_split, write_default_set

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


def _draw_image(rng, size=160, max_objects=8):
    """One image (uint8 HxWx3) and its instances [(class_id, visible_mask)]."""
    image = cluttered_background(rng, size)
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


def write_split(root, split, num_images, image_size=160, max_objects=8, seed=0):
    """Write one split of the shapes set (see :func:`write_coco_split`)."""
    return write_coco_split(root, split, num_images,
                            functools.partial(_draw_image, size=image_size,
                                              max_objects=max_objects), CLASSES, seed)


if __name__ == '__main__':
    write_default_set('shapes', write_split)
