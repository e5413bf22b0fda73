"""labelImg folders (each image beside its Pascal VOC XML, one folder per split) -> a VOC root.

labelImg, the common box-annotation tool, saves ``photo.JPG`` and ``photo.xml`` side by side;
sets made with it are often kept as ``images/train/`` and ``images/test/``. mmkd reads VOC roots
(``Annotations/``, ``JPEGImages/``, ``ImageSets/Main/<split>.txt``; :mod:`.voc_converter`), so
this writes one: each image copied as ``JPEGImages/<stem>.jpg`` (mmdet's VOC layout expects the
lower-case extension; real sets mix ``.JPG`` and ``.jpg``), its XML as ``Annotations/<stem>.xml``
with ``<filename>`` set to match, and the split lists. ``--val-from train --val-fraction 0.2``
holds back a seeded part of one split as ``val``, for a set that ships train and test only.

    python -m mmkd.datasets.labelimg_folders SRC_DIR OUT_ROOT [--splits train test]
        [--val-from train] [--val-fraction 0.2] [--seed 0]
"""
import argparse
import os
import os.path as osp
import random
import shutil
import xml.etree.ElementTree as ET
from typing import Dict, List, Optional, Sequence

IMAGE_EXTENSIONS = ('.jpg', '.jpeg', '.png')


def labelled_images(folder: str) -> List[tuple]:
    """(stem, image path, XML path) of each image in ``folder`` that has an XML beside it,
    sorted by stem; the XML's ``<filename>`` names the image where the stem is ambiguous."""
    files = {name.lower(): name for name in os.listdir(folder)}
    pairs = []
    for name in sorted(os.listdir(folder)):
        stem, ext = osp.splitext(name)
        if ext.lower() != '.xml':
            continue
        named = (ET.parse(osp.join(folder, name)).getroot().findtext('filename') or '').strip()
        candidates = [named] + [stem + e for e in IMAGE_EXTENSIONS]
        image = next((files[c.lower()] for c in candidates if c and c.lower() in files), None)
        if image is None:
            raise FileNotFoundError(f'{osp.join(folder, name)}: no image beside it (looked for '
                                    f'{candidates})')
        pairs.append((stem, osp.join(folder, image), osp.join(folder, name)))
    return pairs


def write_voc_root(src_dir: str, out_root: str, splits: Sequence[str] = ('train', 'test'),
                   val_from: Optional[str] = None, val_fraction: float = 0.2,
                   seed: int = 0) -> Dict[str, int]:
    """Write the VOC root; returns the number of images per split written."""
    for sub in ('Annotations', 'JPEGImages', osp.join('ImageSets', 'Main')):
        os.makedirs(osp.join(out_root, sub), exist_ok=True)
    lists: Dict[str, List[str]] = {}
    for split in splits:
        stems = []
        for stem, image, xml in labelled_images(osp.join(src_dir, split)):
            ext = osp.splitext(image)[1].lower().replace('.jpeg', '.jpg')
            shutil.copyfile(image, osp.join(out_root, 'JPEGImages', stem + ext))
            tree = ET.parse(xml)
            node = tree.getroot().find('filename')
            if node is None:
                node = ET.SubElement(tree.getroot(), 'filename')
            node.text = stem + ext
            tree.write(osp.join(out_root, 'Annotations', stem + '.xml'))
            stems.append(stem)
        lists[split] = stems
    if val_from is not None:
        pool = sorted(lists[val_from])
        held = set(random.Random(seed).sample(pool, round(len(pool) * val_fraction)))
        lists['val'] = sorted(held)
        lists[val_from] = [stem for stem in pool if stem not in held]
    for split, stems in lists.items():
        with open(osp.join(out_root, 'ImageSets', 'Main', f'{split}.txt'), 'w') as f:
            f.write(''.join(f'{stem}\n' for stem in stems))
    return {split: len(stems) for split, stems in lists.items()}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('src_dir', help='the folder holding one sub-folder per split')
    parser.add_argument('out_root')
    parser.add_argument('--splits', nargs='+', default=['train', 'test'])
    parser.add_argument('--val-from', help='the split a val split is held back from')
    parser.add_argument('--val-fraction', type=float, default=0.2)
    parser.add_argument('--seed', type=int, default=0)
    args = parser.parse_args()
    counts = write_voc_root(args.src_dir, args.out_root, args.splits, args.val_from,
                            args.val_fraction, args.seed)
    print(f'{args.out_root}: ' + ', '.join(f'{split} {n} images' for split, n in counts.items()))


if __name__ == '__main__':
    main()
