"""Where the real (third-party) data sets are; mmkd ships none of them.

Each set is a folder of one data root: ``$MMKD_DATA_ROOT`` when set (absolute, or relative to
the working directory), otherwise ``../shared/data`` beside the project. The tests, the tools
and the BCCD configs (``{{$MMKD_DATA_ROOT:../shared/data}}`` in
``configs/_base_/datasets/bccd_detection.py``) all read this variable.
"""
import os
import os.path as osp

DATA_ROOT_ENV = 'MMKD_DATA_ROOT'
PROJECT_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
DEFAULT_DATA_ROOT = osp.join(PROJECT_ROOT, '..', 'shared', 'data')

REAL_DATA_SETS = {
    'bccd': dict(
        title='BCCD blood-cell detection set',
        files='the BCCD/ folder (Annotations/, ImageSets/Main/, JPEGImages/)',
        source='https://github.com/Shenggan/BCCD_Dataset (MIT licence)'),
    'cards': dict(
        title='playing-card rank set',
        files='a VOC root made by python -m mmkd.datasets.labelimg_folders SRC/images OUT '
              '--val-from train from the images/ folder',
        source='https://github.com/EdjeElectronics/TensorFlow-Object-Detection-API-Tutorial-'
               'Train-Multiple-Objects-Windows-10 (Apache-2.0)'),
    'dlib_faces': dict(
        title='dlib example faces',
        files='training.xml, testing.xml and the images of the examples/faces folder',
        source='https://github.com/davisking/dlib (Boost Software License 1.0)'),
}


def data_root() -> str:
    """The absolute data root: ``$MMKD_DATA_ROOT`` or ``../shared/data`` beside the project."""
    return osp.abspath(os.environ.get(DATA_ROOT_ENV) or DEFAULT_DATA_ROOT)


def real_data_path(name: str) -> str:
    """Where real data set ``name`` (a key of :data:`REAL_DATA_SETS`) is looked for."""
    if name not in REAL_DATA_SETS:
        raise KeyError(f'unknown real data set {name!r}; known: {sorted(REAL_DATA_SETS)}')
    return osp.join(data_root(), name)


def missing_data_message(name: str, path: str = None, option: str = None) -> str:
    """Where data set ``name`` comes from and where to put it, for when it is not at ``path``
    (default :func:`real_data_path`). ``option``: the command-line option that gave ``path``,
    named instead of the variable."""
    data_set = REAL_DATA_SETS[name]
    if option:
        where, other_copy = f'{option} {path}', f'or point {option} at a copy'
    else:
        where = path or real_data_path(name)
        other_copy = f'or set {DATA_ROOT_ENV} to a folder that holds {name}/'
    return (f'no {data_set["title"]} at {where}: copy {data_set["files"]} of '
            f'{data_set["source"]} there, {other_copy}')
