"""COCO-format JSON from parsed annotation records, counting what was kept, ignored and dropped."""
import json
import os
import os.path as osp
from collections import Counter
from typing import List, Sequence, Tuple

# (file_name, width, height, [(x, y, w, h, label index, ignored)])
Record = Tuple[str, int, int, List[Tuple[float, float, float, float, int, bool]]]


def records_to_coco(records: Sequence[Record], class_names: Sequence[str],
                    counts: Counter = None, kept_key: str = 'boxes') -> Tuple[dict, dict]:
    """Build the COCO dict; boxes with no area are dropped (``dropped_empty_box``), ignored ones
    become ``iscrowd=1`` (skipped by COCO evaluation) and are counted as ``ignored``; the rest
    under ``kept_key``. Category ids are 1-based in ``class_names`` order."""
    counts = Counter() if counts is None else counts
    images, annotations = [], []
    for image_id, (file_name, width, height, boxes) in enumerate(records, start=1):
        images.append(dict(id=image_id, file_name=file_name, width=width, height=height))
        for x, y, w, h, label, ignored in boxes:
            if w <= 0 or h <= 0:
                counts['dropped_empty_box'] += 1
                continue
            counts['ignored' if ignored else kept_key] += 1
            annotations.append(dict(id=len(annotations) + 1, image_id=image_id,
                                    category_id=label + 1,
                                    bbox=[float(x), float(y), float(w), float(h)],
                                    area=float(w * h), iscrowd=int(ignored)))
    counts['images'] = len(images)
    categories = [dict(id=i + 1, name=name) for i, name in enumerate(class_names)]
    return dict(images=images, annotations=annotations, categories=categories), dict(counts)


def write_json(coco: dict, out_json: str = None) -> None:
    """Write ``coco`` to ``out_json`` (nothing when it is None), making its folder if needed."""
    if out_json:
        os.makedirs(osp.dirname(osp.abspath(out_json)), exist_ok=True)
        with open(out_json, 'w') as f:
            json.dump(coco, f)
