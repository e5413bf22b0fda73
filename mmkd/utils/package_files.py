"""Where mmkd's configs and tools are, in a checkout and in an installed wheel.

A checkout has them beside the package (``configs/``, ``tools/``); a wheel carries them inside
it as ``mmkd/.mim/configs`` and ``mmkd/.mim/tools``, the layout mmdet and openmim use. An
editable install (``pip install -e .``) imports the checkout's package, so it reads the
checkout's folders.
"""
import os.path as osp

PACKAGE_DIR = osp.dirname(osp.dirname(osp.abspath(__file__)))
KINDS = ('configs', 'tools')


def package_folder(kind: str) -> str:
    """The folder of ``kind`` (``'configs'`` or ``'tools'``): ``mmkd/.mim/<kind>`` in a wheel,
    ``<checkout>/<kind>`` otherwise."""
    if kind not in KINDS:
        raise ValueError(f'kind must be one of {KINDS}, not {kind!r}')
    candidates = (osp.join(PACKAGE_DIR, '.mim', kind), osp.join(osp.dirname(PACKAGE_DIR), kind))
    for folder in candidates:
        if osp.isdir(folder):
            return folder
    raise FileNotFoundError(f'mmkd has no {kind}/ folder: looked in {" and ".join(candidates)} '
                            '(a wheel built without them?)')


def package_file(kind: str, relative_path: str) -> str:
    """The absolute path of ``relative_path`` in :func:`package_folder`; an error naming the
    folder and the closest names in it when there is no such file."""
    folder = package_folder(kind)
    path = osp.join(folder, relative_path)
    if not osp.isfile(path):
        import difflib
        import glob
        names = [osp.relpath(p, folder)
                 for p in glob.glob(osp.join(folder, '**', '*.py'), recursive=True)]
        close = difflib.get_close_matches(relative_path, names, n=3, cutoff=0.5)
        hint = f'; did you mean {", ".join(close)}?' if close else ''
        raise FileNotFoundError(f'mmkd has no {kind}/{relative_path} (in {folder}){hint}')
    return path
