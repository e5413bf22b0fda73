"""``mmkd COMMAND ...`` (or ``python -m mmkd COMMAND ...``): the command-line tools of a checkout,
from an installed package.

Each command runs the tool script itself (``tools/train.py`` for ``mmkd train``, from the
checkout or from the wheel's ``mmkd/.mim/tools``), so the two are one implementation and take
the same arguments; config paths may be ``mmkd::`` paths (``mmkd train mmkd::pkd_frcnn.py``).
"""
import runpy
import sys
from typing import List, Optional

from .utils.package_files import package_file

COMMANDS = {
    'train': ('train.py', 'train a detector or a distillation config'),
    'test': ('test.py', "score a checkpoint with the config's test evaluator"),
    'inspect': ('inspect_distill.py', 'check a teacher/student pair and its loss scales'),
    'export': ('export_student.py', 'write the student of a run as a plain mmdet model'),
    'search': ('search_recipe.py', 'search the distillers and weights that help on your data'),
    'benchmark': ('benchmark.py', 'time a distilled step against the student alone'),
    'chain': ('chain.py', 'train a teacher-assistant chain'),
}


def usage() -> str:
    lines = ['usage: mmkd COMMAND [ARGS ...]   (mmkd COMMAND --help for its arguments)', '',
             'commands:']
    lines += [f'  {name:<10} {text}  (tools/{script})'
              for name, (script, text) in COMMANDS.items()]
    return '\n'.join(lines)


def main(argv: Optional[List[str]] = None) -> None:
    argv = sys.argv[1:] if argv is None else list(argv)
    if not argv or argv[0] in ('-h', '--help'):
        print(usage())
        return
    command, *args = argv
    if command not in COMMANDS:
        sys.exit(f'mmkd: unknown command {command!r}\n\n{usage()}')
    script = package_file('tools', COMMANDS[command][0])
    sys.argv = [script, *args]
    runpy.run_path(script, run_name='__main__')
