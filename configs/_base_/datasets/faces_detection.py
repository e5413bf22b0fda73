# The face demo set (mmkd.datasets.faces): 160 px images, one class, many small faces.
# mmkd.FaceShapesDataset writes it into data/faces/ on first use.
_base_ = './shapes_detection.py'

data_root = 'data/faces/'
train_dataloader = dict(dataset=dict(type='mmkd.FaceShapesDataset', data_root=data_root))
val_dataloader = dict(dataset=dict(type='mmkd.FaceShapesDataset', data_root=data_root))
test_dataloader = val_dataloader
val_evaluator = dict(ann_file=data_root + 'annotations/val.json')
test_evaluator = val_evaluator
