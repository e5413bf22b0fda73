# Teachers from mmdet 3.3's model zoo: each its mmdet config and the checkpoint URL from the
# config's metafile.yml (mmdet/.mim/configs/*/metafile.yml; box / mask AP on COCO val2017 as the
# metafile gives them). A recipe takes one as model.teacher={{_base_.NAME}}. The checkpoint is
# fetched into torch's hub cache on first use; offline, the error names the path to put it at.
ZOO = 'https://download.openmmlab.com/mmdetection/v2.0/'

# box AP 41.8
faster_rcnn_r101_ms3x = dict(
    config='mmdet::faster_rcnn/faster-rcnn_r101_fpn_ms-3x_coco.py',
    checkpoint=ZOO + 'faster_rcnn/faster_rcnn_r101_fpn_mstrain_3x_coco/'
    'faster_rcnn_r101_fpn_mstrain_3x_coco_20210524_110822-4d4d2ca8.pth')
# box AP 40.3
faster_rcnn_r50_ms3x = dict(
    config='mmdet::faster_rcnn/faster-rcnn_r50_fpn_ms-3x_coco.py',
    checkpoint=ZOO + 'faster_rcnn/faster_rcnn_r50_fpn_mstrain_3x_coco/'
    'faster_rcnn_r50_fpn_mstrain_3x_coco_20210524_110822-e10bd31c.pth')
# box AP 41.0
retinanet_r101_ms3x = dict(
    config='mmdet::retinanet/retinanet_r101_fpn_ms-640-800-3x_coco.py',
    checkpoint=ZOO + 'retinanet/retinanet_r101_fpn_mstrain_3x_coco/'
    'retinanet_r101_fpn_mstrain_3x_coco_20210720_214650-7ee888e0.pth')
# box AP 38.9 (the teacher of CrossKD's RetinaNet config)
retinanet_r101_2x = dict(
    config='mmdet::retinanet/retinanet_r101_fpn_2x_coco.py',
    checkpoint=ZOO + 'retinanet/retinanet_r101_fpn_2x_coco/'
    'retinanet_r101_fpn_2x_coco_20200131-5560aee8.pth')
# box AP 42.7, mask AP 38.5
mask_rcnn_r101_ms3x = dict(
    config='mmdet::mask_rcnn/mask-rcnn_r101_fpn_ms-poly-3x_coco.py',
    checkpoint=ZOO + 'mask_rcnn/mask_rcnn_r101_fpn_mstrain-poly_3x_coco/'
    'mask_rcnn_r101_fpn_mstrain-poly_3x_coco_20210524_200244-5675c317.pth')
# box AP 42.3
dab_detr_r50 = dict(
    config='mmdet::dab_detr/dab-detr_r50_8xb2-50e_coco.py',
    checkpoint='https://download.openmmlab.com/mmdetection/v3.0/dab_detr/'
    'dab-detr_r50_8xb2-50e_coco/dab-detr_r50_8xb2-50e_coco_20221122_120837-c1035c8c.pth')
# box AP 44.3
deformable_detr_r50 = dict(
    config='mmdet::deformable_detr/deformable-detr_r50_16xb2-50e_coco.py',
    checkpoint='https://download.openmmlab.com/mmdetection/v3.0/deformable_detr/'
    'deformable-detr_r50_16xb2-50e_coco/deformable-detr_r50_16xb2-50e_coco_20221029_210934-'
    '6bc7d21b.pth')
# box AP 49.0
dino_4scale_r50_12e = dict(
    config='mmdet::dino/dino-4scale_r50_8xb2-12e_coco.py',
    checkpoint='https://download.openmmlab.com/mmdetection/v3.0/dino/'
    'dino-4scale_r50_8xb2-12e_coco/dino-4scale_r50_8xb2-12e_coco_20221202_182705-55b2bba2.pth')
# box AP 44.7 (the teacher of mmdet's configs/ld)
gfl_r101_ms2x = dict(
    config='mmdet::gfl/gfl_r101_fpn_ms-2x_coco.py',
    checkpoint=ZOO + 'gfl/gfl_r101_fpn_mstrain_2x_coco/'
    'gfl_r101_fpn_mstrain_2x_coco_20200629_200126-dd12f847.pth')
