from .face_converters import dlib_xml_to_coco, wider_face_to_coco
from .faces import FaceShapesDataset
from .shapes import CLASSES as SHAPES_CLASSES
from .shapes import ShapesDataset, write_split
from .synthetic import SyntheticCocoDataset, write_coco_split

__all__ = ['dlib_xml_to_coco', 'wider_face_to_coco', 'FaceShapesDataset', 'SHAPES_CLASSES',
           'ShapesDataset', 'write_split', 'SyntheticCocoDataset', 'write_coco_split']
