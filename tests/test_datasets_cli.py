"""The data commands the README names, run as a user runs them: ``python -m mmkd.datasets.X``."""
import json

import pytest

from conftest import run_tool
from mmkd.datasets import SHAPES_CLASSES, write_split

VOC_XML = """<annotation><filename>a.jpg</filename>
<size><width>100</width><height>50</height><depth>3</depth></size>
<object><name> cell </name><difficult>0</difficult>
  <bndbox><xmin>11</xmin><ymin>21</ymin><xmax>31</xmax><ymax>41</ymax></bndbox></object>
<object><name>cell</name><difficult>0</difficult>
  <bndbox><xmin>5</xmin><ymin>5</ymin><xmax>5</xmax><ymax>9</ymax></bndbox></object>
</annotation>"""
DLIB_XML = """<dataset><images>
<image file='a.jpg' width='64' height='48'><box top='2' left='1' width='10' height='12'/>
  <box top='5' left='20' width='8' height='8' ignore='1'/></image>
<image file='b.jpg' width='32' height='32'/>
</images></dataset>"""


def read_split(root, split):
    """(the split's COCO dict, the names of its image files)."""
    coco = json.loads((root / 'annotations' / f'{split}.json').read_text())
    return coco, sorted(path.name for path in (root / split).iterdir())


def test_shapes_command_writes_the_demo_set(tmp_path):
    run_tool('-m', 'mmkd.datasets.shapes', cwd=str(tmp_path))      # the README's command
    root = tmp_path / 'data' / 'shapes'
    for split, num_images in (('train', 600), ('val', 150)):
        coco, files = read_split(root, split)
        assert files == [f'{i:05d}.png' for i in range(1, num_images + 1)]
        assert [image['file_name'] for image in coco['images']] == [f'{split}/{f}' for f in files]
        assert [c['name'] for c in coco['categories']] == list(SHAPES_CLASSES)
        assert {a['image_id'] for a in coco['annotations']} <= set(range(1, num_images + 1))
        assert len(coco['annotations']) > 2 * num_images
    write_split(str(tmp_path / 'in_process'), 'val', 1)        # the set mmkd.ShapesDataset writes
    assert (tmp_path / 'in_process' / 'val' / '00001.png').read_bytes() == \
        (root / 'val' / '00001.png').read_bytes()


def test_faces_command_writes_the_face_set_into_root(tmp_path):
    run_tool('-m', 'mmkd.datasets.faces', str(tmp_path / 'faces'), cwd=str(tmp_path))
    for split, num_images in (('train', 600), ('val', 150)):
        coco, files = read_split(tmp_path / 'faces', split)
        assert len(coco['images']) == len(files) == num_images
        assert [c['name'] for c in coco['categories']] == ['face']
        assert len(coco['annotations']) > 3 * num_images
    assert not (tmp_path / 'data').exists()


def test_voc_converter_command(tmp_path):
    (tmp_path / 'voc' / 'Annotations').mkdir(parents=True)
    (tmp_path / 'voc' / 'ImageSets' / 'Main').mkdir(parents=True)
    (tmp_path / 'voc' / 'Annotations' / 'a.xml').write_text(VOC_XML)
    (tmp_path / 'voc' / 'ImageSets' / 'Main' / 'train.txt').write_text('a\n')
    out = run_tool('-m', 'mmkd.datasets.voc_converter', str(tmp_path / 'voc'),
                   str(tmp_path / 'out'), '--splits', 'train', cwd=str(tmp_path))
    assert "classes: ('cell',)" in out
    assert "train: {'boxes': 1, 'dropped_empty_box': 1, 'images': 1}" in out
    coco = json.loads((tmp_path / 'out' / 'train.json').read_text())
    assert [a['bbox'] for a in coco['annotations']] == [[10.0, 20.0, 20.0, 20.0]]
    assert [image['file_name'] for image in coco['images']] == ['JPEGImages/a.jpg']


def test_dlib_face_converter_command(tmp_path):
    (tmp_path / 'faces.xml').write_text(DLIB_XML)
    out = run_tool('-m', 'mmkd.datasets.face_converters', 'dlib', 'faces.xml', 'out.json',
                   cwd=str(tmp_path))
    assert "{'faces': 1, 'ignored': 1, 'images': 2}" in out
    coco = json.loads((tmp_path / 'out.json').read_text())
    assert [(a['bbox'], a['iscrowd']) for a in coco['annotations']] == \
        [([1.0, 2.0, 10.0, 12.0], 0), ([20.0, 5.0, 8.0, 8.0], 1)]


@pytest.mark.parametrize('module', ['shapes', 'faces', 'face_converters'])
def test_data_commands_answer_help_and_refuse_what_they_do_not_take(module, tmp_path,
                                                                    monkeypatch, capsys):
    """``--help`` prints a usage (it once became the name of a folder to write into, or a
    KeyError); an argument too many is a usage error, and nothing is written."""
    import runpy
    monkeypatch.chdir(tmp_path)
    for argv, status in ((['--help'], 0), (['a', 'b', 'c', 'd', 'e'], 2)):
        monkeypatch.setattr('sys.argv', [module, *argv])
        with pytest.raises(SystemExit) as exit_:
            runpy.run_module(f'mmkd.datasets.{module}', run_name='__main__')
        assert exit_.value.code == status
    out, err = capsys.readouterr()
    assert f'usage: python -m mmkd.datasets.{module}' in out + err
    assert list(tmp_path.iterdir()) == []
