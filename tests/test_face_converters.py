"""Face annotation converters on real data: the dlib example faces."""
import os.path as osp

import pytest

from conftest import real_data
from mmkd.datasets import dlib_xml_to_coco
from mmkd.datasets.real_data import DATA_ROOT_ENV


def test_dlib_xml_converter_on_real_faces():
    coco, counts = dlib_xml_to_coco(osp.join(real_data('dlib_faces'), 'testing.xml'))
    assert len(coco['annotations']) == 25 and counts['faces'] == 25
    assert len(coco['images']) == counts['images'] == 5
    first = coco['annotations'][0]
    assert first['bbox'] == [274.0, 181.0, 52.0, 53.0] and first['category_id'] == 1


def test_real_data_is_found_in_the_data_root_or_skips_saying_where_to_get_it(monkeypatch,
                                                                             tmp_path):
    monkeypatch.setenv(DATA_ROOT_ENV, str(tmp_path))
    (tmp_path / 'bccd').mkdir()
    assert real_data('bccd') == str(tmp_path / 'bccd')
    with pytest.raises(pytest.skip.Exception) as skipped:
        real_data('dlib_faces')
    assert str(skipped.value) == (
        f'no dlib example faces at {tmp_path}/dlib_faces: copy training.xml, testing.xml and the '
        f'images of the examples/faces folder of https://github.com/davisking/dlib (Boost '
        f'Software License 1.0) there, or set {DATA_ROOT_ENV} to a folder that holds dlib_faces/')


def test_wider_converter_makes_the_folder_of_its_output(tmp_path):
    """WIDER FACE unpacks with no annotations/ folder; the converter writes into one anyway."""
    import json

    from PIL import Image

    from mmkd.datasets.face_converters import wider_face_to_coco
    (tmp_path / 'images' / '0--Parade').mkdir(parents=True)
    Image.new('RGB', (40, 30)).save(tmp_path / 'images' / '0--Parade' / 'a.jpg')
    gt = tmp_path / 'gt.txt'
    gt.write_text('0--Parade/a.jpg\n2\n1 2 10 12 0 0 0 0 0 0\n5 5 8 8 0 0 0 1 0 0\n')
    out = tmp_path / 'annotations' / 'wider_face_train.json'
    _, counts = wider_face_to_coco(str(gt), str(tmp_path / 'images'), str(out))
    coco = json.loads(out.read_text())
    assert [(a['bbox'], a['iscrowd']) for a in coco['annotations']] == [
        ([1, 2, 10, 12], 0), ([5, 5, 8, 8], 1)]
    assert coco['images'][0]['width'] == 40 and coco['images'][0]['height'] == 30
