"""The generated demo sets as datasets: written on first use, then read as COCO.

They live apart from their generators (``shapes.py``, ``faces.py``) because those run as commands
(``python -m mmkd.datasets.shapes``), which imports them a second time: a registration there
would run twice.
"""
from mmkd.registry import DATASETS
from . import faces, shapes
from .synthetic import SyntheticCocoDataset


@DATASETS.register_module()
class ShapesDataset(SyntheticCocoDataset):
    """The shapes demo set (8 classes, boxes and masks), written on first use."""

    METAINFO = dict(classes=shapes.CLASSES, palette=[(220, 20, 60), (119, 11, 32), (0, 0, 142),
                                                     (0, 0, 230), (106, 0, 228), (0, 60, 100),
                                                     (0, 80, 100), (0, 0, 70)])

    @classmethod
    def write(cls, root, split, num_images, image_size, seed):
        shapes.write_split(root, split, num_images, image_size, seed=seed)


@DATASETS.register_module()
class FaceShapesDataset(SyntheticCocoDataset):
    """The face demo set (one class, boxes and masks), written on first use."""

    METAINFO = dict(classes=faces.CLASSES, palette=[(220, 20, 60)])

    @classmethod
    def write(cls, root, split, num_images, image_size, seed):
        faces.write_split(root, split, num_images, image_size, seed)
