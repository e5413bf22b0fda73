"""Forward taps: record a submodule's output, addressed by its dotted path in a model."""
import difflib

from torch import nn


def resolve_module(model: nn.Module, path: str, model_name: str = 'model') -> nn.Module:
    """Return ``model``'s submodule at dotted ``path`` ('neck', 'backbone.layer3', ...).

    Raises:
        KeyError: no such module; the message lists the nearest valid names.
    """
    modules = dict(model.named_modules())
    if path in modules:
        return modules[path]
    names = [name for name in modules if name]
    near = difflib.get_close_matches(path, names, n=5, cutoff=0.4)
    top = sorted({name.split('.')[0] for name in names})
    raise KeyError(f'{model_name} has no module {path!r}. Nearest valid names: '
                   f'{near or "none close"}; top-level modules: {top}')


class Tap:
    """Keeps the last output of one submodule until it is taken.

    The recorded object is the module's own output (no copy); :meth:`take` hands it over and
    forgets it, so a feature map lives no longer than the distiller that reads it.
    """

    def __init__(self, model: nn.Module, path: str, model_name: str = 'model'):
        self.path = path
        self.model_name = model_name
        self._output = None
        self._handle = resolve_module(model, path, model_name).register_forward_hook(self._record)

    def _record(self, module, inputs, output):
        self._output = output

    def take(self):
        """Return the recorded output and clear it.

        Raises:
            RuntimeError: nothing was recorded since the last call.
        """
        if self._output is None:
            raise RuntimeError(
                f'Tap on {self.model_name}.{self.path} recorded nothing in this step: that module '
                f'did not run in the forward pass (for the teacher only backbone and neck run '
                f'unless a distiller runs more).')
        output, self._output = self._output, None
        return output

    def clear(self):
        self._output = None

    def remove(self):
        self._handle.remove()
