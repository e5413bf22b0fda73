"""Sphinx configuration of the mmkd docs site.

Build with ``bash tools/build_docs.sh``: nitpicky, warnings are errors, so a broken link (to a
page, a heading, a label, an image or an API name) fails the build.
"""
import os
import re
import sys

DOCS = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(DOCS)
sys.path.insert(0, ROOT)

import mmkd  # noqa: E402  (autodoc imports it anyway; fail here, early, if it cannot)


def _version() -> str:
    """``mmkd.__version__``, else the ``version=`` of setup.py, else 0.1.0."""
    version = getattr(mmkd, '__version__', None)
    if version:
        return version
    try:
        with open(os.path.join(ROOT, 'setup.py'), encoding='utf-8') as f:
            found = re.search(r"version\s*=\s*['\"]([^'\"]+)['\"]", f.read())
    except OSError:
        found = None
    return found.group(1) if found else '0.1.0'


project = 'mmkd'
author = 'mmkd contributors'
copyright = 'mmkd contributors'
release = _version()
version = release

extensions = [
    'myst_parser',
    'sphinx.ext.autodoc',
    'sphinx.ext.napoleon',
    'sphinx.ext.mathjax',
    'sphinx.ext.viewcode',
]

source_suffix = {'.md': 'markdown', '.rst': 'restructuredtext'}
root_doc = 'index'
exclude_patterns = ['_build', 'Thumbs.db', '.DS_Store']

# -- MyST ------------------------------------------------------------------------------------
myst_enable_extensions = ['dollarmath', 'colon_fence', 'deflist']
# anchors for headings down to ###, so that `page.md#a-heading` links are checked as well
myst_heading_anchors = 3

# -- checks ----------------------------------------------------------------------------------
# Every cross-reference must resolve: `-n` in tools/build_docs.sh. The exceptions are names of
# other packages, which have no inventory here (no intersphinx: the build runs offline).
nitpicky = True
nitpick_ignore_regex = [
    (r'py:.*', r'(torch|mmengine|mmdet|mmcv|numpy|optuna)(\..*)?'),
    (r'py:.*', r'nn\..*'),   # torch.nn in annotations that are not evaluated
    (r'py:exc', r'pickle\.UnpicklingError'),   # the standard library's: no inventory either
    # napoleon's "(int, optional)" / "(str): one of ..." become type fields
    (r'py:class', r'optional'),
]

# -- autodoc ---------------------------------------------------------------------------------
autodoc_member_order = 'bysource'
autodoc_typehints = 'signature'
# a method without a docstring of its own is left out, rather than shown with torch's
# (nn.Module.forward's, say) or with its base class's
autodoc_inherit_docstrings = False
autodoc_default_options = {'members': True, 'show-inheritance': True}
napoleon_google_docstring = True
napoleon_numpy_docstring = False
napoleon_use_rtype = False



def _resolve_short_python_names(app, env, node, contnode):
    """Resolve a Python cross-reference that names an object by its last components only.

    mmkd's docstrings write :class:`Adapter` or :func:`pair_levels` for objects of a sibling
    module, which the reader understands, but which Sphinx's exact lookup (the current module,
    then the global name) does not find. Such a reference is looked up again as if it were
    written with a leading dot (any documented object whose name ends in it): one match
    resolves it; none leaves the warning (so a name that does not exist still fails the
    build); several give Sphinx's own "more than one target" warning.
    """
    if node.get('refdomain') != 'py' or node.hasattr('refspecific'):
        return None
    node['refspecific'] = True
    try:
        return env.get_domain('py').resolve_xref(
            env, node['refdoc'], app.builder, node['reftype'], node['reftarget'], node,
            contnode)
    finally:
        del node['refspecific']


def setup(app):
    app.connect('missing-reference', _resolve_short_python_names)


# -- HTML ------------------------------------------------------------------------------------
html_theme = 'furo'
html_title = f'mmkd {release}'
html_static_path = []
