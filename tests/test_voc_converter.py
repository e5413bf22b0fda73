"""Pascal VOC -> COCO: every quirk on a hand-written sample, and the real BCCD set."""
import os.path as osp

import pytest

from conftest import real_data
from mmkd.datasets.voc_converter import voc_classes, voc_to_coco

SAMPLE = """<annotation><filename>a.jpg</filename>
<size><width>100</width><height>50</height><depth>3</depth></size>
<object><name>
    cell </name><difficult>0</difficult>
  <bndbox><xmin>11</xmin><ymin>21</ymin><xmax>31</xmax><ymax>41</ymax></bndbox></object>
<object><name>cell</name><difficult>0</difficult>
  <bndbox><xmin>5</xmin><ymin>5</ymin><xmax>5</xmax><ymax>9</ymax></bndbox></object>
<object><name>cell</name><difficult>0</difficult>
  <bndbox><xmin>90</xmin><ymin>40</ymin><xmax>120</xmax><ymax>50</ymax></bndbox></object>
<object><name>blob</name><difficult>1</difficult>
  <bndbox><xmin>1</xmin><ymin>1</ymin><xmax>10</xmax><ymax>10</ymax></bndbox></object>
<object><name>dust</name><difficult>0</difficult>
  <bndbox><xmin>1</xmin><ymin>1</ymin><xmax>10</xmax><ymax>10</ymax></bndbox></object>
</annotation>"""


def test_voc_quirks_are_handled_and_counted(tmp_path):
    (tmp_path / 'Annotations').mkdir()
    (tmp_path / 'ImageSets' / 'Main').mkdir(parents=True)
    (tmp_path / 'Annotations' / 'a.xml').write_text(SAMPLE)
    (tmp_path / 'ImageSets' / 'Main' / 'train.txt').write_text('a\n')
    coco, counts = voc_to_coco(str(tmp_path), 'train', classes=('blob', 'cell'),
                               out_json=str(tmp_path / 'train.json'))
    assert counts == dict(images=1, boxes=2, ignored=1, clipped=1, dropped_empty_box=1,
                          dropped_unknown_class=1)
    assert coco['categories'] == [dict(id=1, name='blob'), dict(id=2, name='cell')]
    assert coco['images'] == [dict(id=1, file_name='JPEGImages/a.jpg', width=100, height=50)]
    boxes = [(a['category_id'], a['bbox'], a['iscrowd']) for a in coco['annotations']]
    assert boxes == [(2, [10.0, 20.0, 20.0, 20.0], 0),      # 1-based -> 0-based, name stripped
                     (2, [89.0, 39.0, 10.0, 10.0], 0),      # clipped to the 100 x 50 image
                     (1, [0.0, 0.0, 9.0, 9.0], 1)]          # difficult: crowd, ignored in eval
    assert (tmp_path / 'train.json').stat().st_size > 0
    assert voc_classes(str(tmp_path)) == ('blob', 'cell', 'dust')


def test_bccd_converts_with_every_box_accounted_for():
    bccd = real_data('bccd')
    classes = voc_classes(bccd)
    assert classes == ('Platelets', 'RBC', 'WBC')
    for split, images in (('train', 205), ('val', 87), ('test', 72)):
        coco, counts = voc_to_coco(bccd, split, classes)
        with open(osp.join(bccd, 'ImageSets', 'Main', f'{split}.txt')) as f:
            ids = f.read().split()
        objects = sum(open(osp.join(bccd, 'Annotations', f'{i}.xml')).read().count('<object>')
                      for i in ids)
        assert counts['images'] == len(coco['images']) == images
        assert counts['boxes'] + counts.get('ignored', 0) == len(coco['annotations'])
        assert len(coco['annotations']) + counts.get('dropped_empty_box', 0) == objects
        assert all(a['bbox'][2] > 0 and a['bbox'][3] > 0 for a in coco['annotations'])


def test_voc_dataset_converts_on_first_use_and_reads_images_in_place(tmp_path):
    from mmkd.registry import DATASETS
    bccd = real_data('bccd')
    ann_file = str(tmp_path / 'bccd' / 'val.json')
    config = dict(type='mmkd.VOCCocoDataset', data_root='', ann_file=ann_file,
                  data_prefix=dict(img=bccd + '/'),
                  metainfo=dict(classes=('Platelets', 'RBC', 'WBC')), test_mode=True,
                  pipeline=[dict(type='LoadImageFromFile'),
                            dict(type='LoadAnnotations', with_bbox=True)])
    dataset = DATASETS.build(config)
    assert osp.isfile(ann_file) and len(dataset) == 87
    sample = dataset[0]
    assert sample['img'].shape == (480, 640, 3)
    assert osp.dirname(sample['img_path']) == osp.join(bccd, 'JPEGImages')
    assert len(sample['gt_bboxes']) > 0 and set(sample['gt_bboxes_labels']) <= {0, 1, 2}


def test_voc_dataset_names_the_key_of_a_root_that_is_not_voc(tmp_path):
    from mmkd.registry import DATASETS
    config = dict(type='mmkd.VOCCocoDataset', ann_file=str(tmp_path / 'train.json'),
                  data_prefix=dict(img=str(tmp_path)), metainfo=dict(classes=('cell',)))
    with pytest.raises(FileNotFoundError, match=r"data_prefix.img=.* is not a Pascal VOC root "
                                                r"with a 'train' split: no .*train.txt"):
        DATASETS.build(config)
    with pytest.raises(ValueError, match=r'needs metainfo=dict\(classes='):
        DATASETS.build(dict(config, metainfo=None))


def labelimg_xml(filename, width=40, height=30, boxes=(('ace', 2, 3, 20, 25), )):
    objects = ''.join(f'<object><name>{name}</name><difficult>0</difficult><bndbox><xmin>{x1}'
                      f'</xmin><ymin>{y1}</ymin><xmax>{x2}</xmax><ymax>{y2}</ymax></bndbox>'
                      f'</object>' for name, x1, y1, x2, y2 in boxes)
    return (f'<annotation><folder>train</folder><filename>{filename}</filename><size><width>'
            f'{width}</width><height>{height}</height><depth>3</depth></size>{objects}'
            '</annotation>')


def test_labelimg_folders_become_a_voc_root_with_a_held_back_val_split(tmp_path):
    """labelImg saves each image beside its XML, one folder per split; extensions come in both
    cases (the cards set mixes .JPG and .jpg); the VOC root has lower-case .jpg names, XMLs that
    name them, and a val split held back from train by a seed."""
    from mmkd.datasets.labelimg_folders import write_voc_root
    src = tmp_path / 'images'
    for split, stems in (('train', ['IMG_1', 'IMG_2', 'cam_3', 'IMG_4', 'IMG_5']),
                         ('test', ['IMG_9'])):
        (src / split).mkdir(parents=True)
        for index, stem in enumerate(stems):
            ext = '.jpg' if stem.startswith('cam') else '.JPG'
            (src / split / (stem + ext)).write_bytes(b'\xff\xd8\xff' + stem.encode())
            (src / split / f'{stem}.xml').write_text(labelimg_xml(stem + ext))
    root = tmp_path / 'voc'
    counts = write_voc_root(str(src), str(root), val_from='train', val_fraction=0.4, seed=0)
    assert counts == dict(train=3, test=1, val=2)
    lists = {split: (root / 'ImageSets' / 'Main' / f'{split}.txt').read_text().split()
             for split in ('train', 'val', 'test')}
    assert sorted(lists['train'] + lists['val']) == ['IMG_1', 'IMG_2', 'IMG_4', 'IMG_5', 'cam_3']
    assert lists['test'] == ['IMG_9']
    again = write_voc_root(str(src), str(tmp_path / 'voc2'), val_from='train', val_fraction=0.4)
    assert (tmp_path / 'voc2' / 'ImageSets' / 'Main' / 'val.txt').read_text().split() \
        == lists['val'] and again == counts
    assert (root / 'JPEGImages' / 'IMG_1.jpg').read_bytes() == b'\xff\xd8\xffIMG_1'
    assert not (root / 'JPEGImages' / 'IMG_1.JPG').exists() or \
        osp.samefile(root / 'JPEGImages' / 'IMG_1.JPG', root / 'JPEGImages' / 'IMG_1.jpg')
    coco, stats = voc_to_coco(str(root), 'train', ('ace', ))
    assert sorted(image['file_name'] for image in coco['images']) == \
        sorted(f'JPEGImages/{stem}.jpg' for stem in lists['train'])
    assert stats['boxes'] == 3


def test_a_labelimg_xml_without_its_image_is_named(tmp_path):
    from mmkd.datasets.labelimg_folders import write_voc_root
    (tmp_path / 'images' / 'train').mkdir(parents=True)
    (tmp_path / 'images' / 'train' / 'lost.xml').write_text(labelimg_xml('lost.JPG'))
    with pytest.raises(FileNotFoundError, match=r'lost\.xml: no image beside it'):
        write_voc_root(str(tmp_path / 'images'), str(tmp_path / 'voc'), splits=['train'])
