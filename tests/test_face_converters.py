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
