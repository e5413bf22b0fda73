from .demo_datasets import FaceShapesDataset, ShapesDataset
from .face_converters import dlib_xml_to_coco, wider_face_to_coco
from .shapes import CLASSES as SHAPES_CLASSES
from .shapes import write_split
from .synthetic import SyntheticCocoDataset, write_coco_split
from .voc_converter import voc_classes, voc_to_coco
from .voc_dataset import VOCCocoDataset

__all__ = ['dlib_xml_to_coco', 'wider_face_to_coco', 'FaceShapesDataset', 'SHAPES_CLASSES',
           'ShapesDataset', 'write_split', 'SyntheticCocoDataset', 'write_coco_split',
           'voc_classes', 'voc_to_coco', 'VOCCocoDataset']
