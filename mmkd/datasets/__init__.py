from .shapes import CLASSES as SHAPES_CLASSES
from .shapes import ShapesDataset, write_split

__all__ = ['SHAPES_CLASSES', 'ShapesDataset', 'write_split']
