"""Taps: record what a part of a model computes, addressed by a dotted path.

A path names a submodule (``'neck'``, ``'backbone.layer3'``: its forward output is recorded) or a
method of one (``'rpn_head.get_targets'``: its return value is recorded, and
``'roi_head.bbox_head.loss_and_target'`` its keyword arguments too), so a distiller reads the
model's own intermediate results instead of computing them a second time. A path ending in
``'*'`` (``'bbox_head.cls_convs.0.gn*'``) records every call of a step, in order, as a list: what
a module computes for each level of a head that runs once per level.
"""
import contextlib
import difflib
import functools
import inspect
from typing import Dict, Iterable, Iterator

from torch import nn


def _unknown_path(model: nn.Module, path: str, model_name: str) -> KeyError:
    names = [name for name, _ in model.named_modules() if name]
    near = difflib.get_close_matches(path, names, n=5, cutoff=0.4)
    top = sorted({name.split('.')[0] for name in names})
    return KeyError(f'{model_name} ({type(model).__name__}) has no module {path!r}. Nearest '
                    f'valid names: {near or "none close"}; top-level modules: {top}')


def resolve_module(model: nn.Module, path: str, model_name: str = 'model') -> nn.Module:
    """Return ``model``'s submodule at dotted ``path``; a KeyError lists the nearest names."""
    modules = dict(model.named_modules())
    if path not in modules:
        raise _unknown_path(model, path, model_name)
    return modules[path]


def records_by_role(role_paths: Dict[str, str], records: dict) -> dict:
    """``{role: record}`` of a distiller (``role_paths``: role -> tapped path) out of a
    recording's ``{path: record}``; roles whose path recorded nothing are left out."""
    return {role: records[path] for role, path in role_paths.items() if path in records}


class Tap:
    """Keeps the last output of one submodule or method (of every call, in a list, for a path
    ending in ``'*'``), while ``active``, until taken.

    The recorded object is the model's own (no copy); :meth:`take` hands it over and forgets it,
    so nothing lives longer than the distiller step that reads it. For a method, the record is
    ``dict(result=..., inputs={argument name: value})``. Outside a recording (inference, say)
    nothing is kept.
    """

    def __init__(self, model: nn.Module, path: str, model_name: str = 'model'):
        self.path = path
        self.model_name = model_name
        self.active = False
        self.every_call = path.endswith('*')
        path = path.rstrip('*')
        self._output = None
        modules = dict(model.named_modules())
        owner_path, _, attr = path.rpartition('.')
        if path in modules:
            handle = modules[path].register_forward_hook(self._record_forward)
            self._remove = handle.remove
        elif owner_path in modules and callable(getattr(modules[owner_path], attr, None)) \
                and not isinstance(getattr(modules[owner_path], attr), nn.Module):
            self._wrap_method(modules[owner_path], attr)
        else:
            raise _unknown_path(model, path, model_name)

    def _keep(self, record):
        if self.every_call:
            self._output = (self._output or []) + [record]
        else:
            self._output = record

    def _record_forward(self, module, inputs, output):
        if self.active:
            self._keep(output)

    def _wrap_method(self, owner: nn.Module, name: str):
        method = getattr(owner, name)
        signature = inspect.signature(method)

        @functools.wraps(method)
        def recorded(*args, **kwargs):
            result = method(*args, **kwargs)
            if self.active:
                inputs = signature.bind(*args, **kwargs).arguments
                self._keep(dict(result=result, inputs=dict(inputs)))
            return result

        setattr(owner, name, recorded)   # instance attribute shadows the class's method
        self._remove = lambda: delattr(owner, name)

    @property
    def recorded(self) -> bool:
        return self._output is not None

    def take(self):
        """Return the record and clear it.

        Raises:
            RuntimeError: nothing was recorded since the last call.
        """
        if self._output is None:
            raise RuntimeError(
                f'Tap on {self.model_name}.{self.path} recorded nothing in this step: that part '
                f'of the model did not run (for the teacher only backbone and neck run unless a '
                f'distiller runs more).')
        output, self._output = self._output, None
        return output

    def clear(self):
        self._output = None

    def remove(self):
        self._remove()


class TapSet:
    """The taps on one model, one per path however many distillers read it.

    Records are made only inside :meth:`recording`, which MMRazor-style scopes them to the
    forward that fills them::

        with taps.recording() as records:
            model.loss(inputs, data_samples)
        records['neck']          # what the neck returned in that forward
    """

    def __init__(self, model: nn.Module, model_name: str):
        self.model = model
        self.model_name = model_name
        self.taps: Dict[str, Tap] = {}

    def add(self, paths: Iterable[str]) -> None:
        """Tap each of ``paths`` (dotted module or method paths) not tapped yet."""
        for path in paths:
            if path not in self.taps:
                self.taps[path] = Tap(self.model, path, self.model_name)

    @contextlib.contextmanager
    def recording(self, require_all: bool = True) -> Iterator[dict]:
        """Record during the ``with`` block; on leaving it, the yielded dict holds
        ``{path: record}``.

        Args:
            require_all: a tap that recorded nothing raises a RuntimeError naming it (a
                silently missing distill loss is never an option); False keeps only what was
                recorded (a probe of backbone and neck, say).
        """
        records = {}
        for tap in self.taps.values():
            tap.clear()
            tap.active = True
        try:
            yield records
            for path, tap in self.taps.items():
                if require_all or tap.recorded:
                    records[path] = tap.take()
        finally:
            for tap in self.taps.values():
                tap.active = False
                tap.clear()
