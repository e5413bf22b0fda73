"""Checks of a run's annotation files before any model is built, with errors that name the key."""
import json
import os.path as osp

# Annotation files up to this size are parsed to check they list images; larger ones (COCO's
# train2017 is ~450 MB) only get the cheap checks, since the dataset parses them anyway.
MAX_PARSED_BYTES = 64 * 2**20


def check_dataset_files(cfg, splits=('train', 'val', 'test')) -> None:
    """Check the ``ann_file`` of each ``{split}_dataloader.dataset`` (wrappers included).

    Raises FileNotFoundError (no file, for a dataset that does not generate its own) or
    ValueError (empty file, not JSON, or no images), naming the config key and the path.
    """
    for split in splits:
        loader = cfg.get(f'{split}_dataloader')
        if loader:
            _check_dataset(loader.get('dataset'), f'{split}_dataloader.dataset')


def _check_dataset(dataset, key: str) -> None:
    if not dataset:
        return
    if dataset.get('dataset'):                        # RepeatDataset, ClassBalancedDataset
        _check_dataset(dataset['dataset'], f'{key}.dataset')
    for index, inner in enumerate(dataset.get('datasets') or []):      # ConcatDataset
        _check_dataset(inner, f'{key}.datasets[{index}]')
    ann_file = dataset.get('ann_file')
    if not ann_file or '://' in ann_file:
        return
    data_root = dataset.get('data_root') or ''
    path = ann_file if osp.isabs(ann_file) else osp.join(data_root, ann_file)
    if not osp.exists(path):
        if not _generates_its_data(dataset.get('type')):
            raise FileNotFoundError(f'{key}.ann_file: no annotation file at {path!r} '
                                    f'(data_root={data_root!r}, ann_file={ann_file!r})')
        return
    size = osp.getsize(path)
    if size == 0:
        raise ValueError(f'{key}.ann_file: {path} is empty (0 bytes)')
    if not path.endswith('.json'):
        return
    with open(path, 'rb') as f:
        head = f.read(64).lstrip()
    if not head.startswith(b'{'):
        raise ValueError(f'{key}.ann_file: {path} is not a COCO JSON object '
                         f'(it starts with {head[:20]!r})')
    if size <= MAX_PARSED_BYTES:
        with open(path) as f:
            try:
                images = json.load(f).get('images')
            except json.JSONDecodeError as err:
                raise ValueError(f'{key}.ann_file: {path} is not valid JSON ({err})') from None
        if not images:
            raise ValueError(f'{key}.ann_file: {path} lists no images, so the dataset would be '
                             f'empty')


def _generates_its_data(dataset_type) -> bool:
    """Whether the dataset class writes a missing ``ann_file`` itself (``WRITES_ANN_FILE``)."""
    from mmkd.registry import DATASETS
    cls = DATASETS.get(dataset_type) if isinstance(dataset_type, str) else dataset_type
    return getattr(cls, 'WRITES_ANN_FILE', False) is True
