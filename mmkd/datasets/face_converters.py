"""Face annotations as people have them -> COCO-format JSON (one category, ``face``).

* WIDER FACE ``wider_face_{train,val}_bbx_gt.txt``: per image a line with the file name, a line
  with the face count, then one line per face ``x1 y1 w h blur expression illumination invalid
  occlusion pose`` (an image with no face still has one all-zero line).
* dlib imglab XML: ``<image file=... [width=... height=...]><box top left width height
  [ignore='1']/>``.

Boxes with no area are dropped, ``invalid`` / ``ignore`` faces become ``iscrowd=1`` (ignored by
COCO evaluation), and each converter returns how many of each it met, so nothing goes silently.

    python -m mmkd.datasets.face_converters wider GT_TXT IMAGE_ROOT OUT_JSON
    python -m mmkd.datasets.face_converters dlib XML OUT_JSON
"""
import os.path as osp
import xml.etree.ElementTree as ET
from collections import Counter

from PIL import Image

from .coco_json import records_to_coco, write_json

CLASSES = ('face',)


def _image_size(path):
    with Image.open(path) as image:   # reads the header only
        return image.size


def wider_face_to_coco(gt_txt, image_root, out_json=None):
    """Convert a WIDER FACE ground-truth text file; image sizes are read from ``image_root``.

    Returns:
        (coco dict, counts of images / faces / ignored / dropped_empty_box).
    """
    with open(gt_txt) as f:
        lines = [line.strip() for line in f if line.strip()]
    records, counts, i = [], Counter(), 0
    while i < len(lines):
        file_name, num_faces = lines[i], int(lines[i + 1])
        rows = lines[i + 2:i + 2 + max(num_faces, 1)]
        i += 2 + max(num_faces, 1)
        boxes = []
        for row in rows[:num_faces]:
            values = [int(v) for v in row.split()]
            x, y, w, h = values[:4]
            invalid = len(values) > 7 and values[7] == 1
            boxes.append((x, y, w, h, 0, invalid))
        width, height = _image_size(osp.join(image_root, file_name))
        records.append((file_name, width, height, boxes))
    coco, counts = records_to_coco(records, CLASSES, counts, kept_key='faces')
    write_json(coco, out_json)
    return coco, counts


def dlib_xml_to_coco(xml_file, out_json=None):
    """Convert a dlib imglab XML file; file names stay relative to the XML's folder.

    Returns:
        (coco dict, counts of images / faces / ignored / dropped_empty_box).
    """
    root = ET.parse(xml_file).getroot()
    records = []
    for image in root.iter('image'):
        file_name = image.get('file')
        if image.get('width') and image.get('height'):
            width, height = int(image.get('width')), int(image.get('height'))
        else:
            width, height = _image_size(osp.join(osp.dirname(xml_file), file_name))
        boxes = [(int(box.get('left')), int(box.get('top')), int(box.get('width')),
                  int(box.get('height')), 0, box.get('ignore', '0') == '1')
                 for box in image.iter('box')]
        records.append((file_name, width, height, boxes))
    coco, counts = records_to_coco(records, CLASSES, Counter(), kept_key='faces')
    write_json(coco, out_json)
    return coco, counts


def main(argv=None) -> None:
    """``python -m mmkd.datasets.face_converters {wider,dlib} ...``: convert, print the counts."""
    import argparse
    parser = argparse.ArgumentParser(prog='python -m mmkd.datasets.face_converters',
                                     description='Face annotations -> COCO-format JSON.')
    kinds = parser.add_subparsers(dest='kind', required=True)
    wider = kinds.add_parser('wider', help='WIDER FACE wider_face_*_bbx_gt.txt')
    wider.add_argument('gt_txt')
    wider.add_argument('image_root', help='the folder the file names in GT_TXT are relative to')
    wider.add_argument('out_json')
    dlib = kinds.add_parser('dlib', help='dlib imglab XML')
    dlib.add_argument('xml')
    dlib.add_argument('out_json')
    args = parser.parse_args(argv)
    if args.kind == 'wider':
        _, summary = wider_face_to_coco(args.gt_txt, args.image_root, args.out_json)
    else:
        _, summary = dlib_xml_to_coco(args.xml, args.out_json)
    print(summary)


if __name__ == '__main__':
    main()
