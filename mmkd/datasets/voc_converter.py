"""Pascal VOC XML (``Annotations/``, ``ImageSets/Main/<split>.txt``, ``JPEGImages/``) -> COCO JSON.

Real VOC-style sets have quirks (BCCD has all of these): class names with stray whitespace,
boxes of zero width or height, boxes that reach past the image border. Names are stripped, boxes
are clipped to the image (``clipped``), boxes with no area left are dropped
(``dropped_empty_box``), ``difficult`` objects become ``iscrowd=1`` (``ignored``) and objects of a
class outside ``classes`` are dropped (``dropped_unknown_class``); the counts come back with the
JSON, so nothing goes silently. Coordinates follow mmdet's VOC convention: 1-based pixel indices,
so ``x = xmin - 1`` and ``w = xmax - xmin``. File names are relative to the VOC root.

    python -m mmkd.datasets.voc_converter VOC_ROOT OUT_DIR [--splits train val test]
"""
import argparse
import os
import os.path as osp
import xml.etree.ElementTree as ET
from collections import Counter
from typing import Sequence, Tuple

from .coco_json import records_to_coco, write_json


def _text(node, tag: str) -> str:
    return (node.findtext(tag) or '').strip()


def voc_classes(voc_root: str) -> Tuple[str, ...]:
    """Every class name in ``Annotations/`` (all splits), sorted: one category list for all."""
    names = set()
    for xml_file in os.listdir(osp.join(voc_root, 'Annotations')):
        if xml_file.endswith('.xml'):
            root = ET.parse(osp.join(voc_root, 'Annotations', xml_file)).getroot()
            names.update(_text(obj, 'name') for obj in root.iter('object'))
    return tuple(sorted(names))


def voc_to_coco(voc_root: str, split: str, classes: Sequence[str] = None,
                out_json: str = None) -> Tuple[dict, dict]:
    """Convert the images listed in ``ImageSets/Main/<split>.txt``.

    Returns:
        (coco dict, counts of images / boxes / ignored / clipped / dropped_empty_box /
        dropped_unknown_class).
    """
    classes = tuple(classes or voc_classes(voc_root))
    with open(osp.join(voc_root, 'ImageSets', 'Main', f'{split}.txt')) as f:
        image_ids = [line.strip() for line in f if line.strip()]
    records, counts = [], Counter()
    for image_id in image_ids:
        root = ET.parse(osp.join(voc_root, 'Annotations', f'{image_id}.xml')).getroot()
        size = root.find('size')
        width, height = int(_text(size, 'width')), int(_text(size, 'height'))
        file_name = _text(root, 'filename') or f'{image_id}.jpg'
        boxes = []
        for obj in root.iter('object'):
            name = _text(obj, 'name')
            if name not in classes:
                counts['dropped_unknown_class'] += 1
                continue
            box = obj.find('bndbox')
            x1, y1, x2, y2 = (float(_text(box, tag)) - 1 for tag in ('xmin', 'ymin', 'xmax', 'ymax'))
            clipped = (max(x1, 0), max(y1, 0), min(x2, width - 1), min(y2, height - 1))
            if clipped != (x1, y1, x2, y2):
                counts['clipped'] += 1
            x1, y1, x2, y2 = clipped
            boxes.append((x1, y1, x2 - x1, y2 - y1, classes.index(name),
                          _text(obj, 'difficult') == '1'))
        records.append((osp.join('JPEGImages', file_name), width, height, boxes))
    coco, counts = records_to_coco(records, classes, counts)
    write_json(coco, out_json)
    return coco, counts


def main():
    parser = argparse.ArgumentParser(description='Pascal VOC XML to COCO JSON')
    parser.add_argument('voc_root')
    parser.add_argument('out_dir', help='writes OUT_DIR/<split>.json')
    parser.add_argument('--splits', nargs='+', default=['train', 'val', 'test'])
    args = parser.parse_args()
    os.makedirs(args.out_dir, exist_ok=True)
    classes = voc_classes(args.voc_root)
    print(f'classes: {classes}')
    for split in args.splits:
        _, counts = voc_to_coco(args.voc_root, split, classes,
                                osp.join(args.out_dir, f'{split}.json'))
        print(f'{split}: {counts}')


if __name__ == '__main__':
    main()
