"""Run a python command line (a script, ``-m module`` or ``-c code``) in a process forked from a
server that has torch, mmengine and mmdet imported already, so that the tests' many tool runs
do not each pay the seconds of those imports. The process is otherwise as a fresh
interpreter would run the command: its own working directory, environment, ``sys.argv`` and
``__main__``, its output (file descriptors 1 and 2) to a file, its exit status returned.
mmkd is not imported by the server (a test checks that an exported student runs without it).

A command whose environment changes what is read when the interpreter or those libraries
start (``PYTHON*``, OpenMP / MKL thread counts) runs in a subprocess instead (see
:func:`needs_fresh_interpreter`).
"""
import multiprocessing
import os
import runpy
import sys
import traceback

PRELOAD = ['torch', 'mmengine.runner', 'mmdet.models', 'mmdet.datasets', 'mmdet.evaluation']
STARTUP_ENV = ('PYTHON', 'OMP_', 'MKL_', 'KMP_', 'OPENBLAS_', 'LD_')

_context = None


def needs_fresh_interpreter(env_extra) -> bool:
    return any(key.startswith(STARTUP_ENV) for key in (env_extra or {}))


def _forkserver():
    global _context
    if _context is None:
        _context = multiprocessing.get_context('forkserver')
        _context.set_forkserver_preload(PRELOAD)
    return _context


def _main(args, cwd, env, log_file):
    """In the forked process: the command line ``python ARGS``, as the interpreter runs it."""
    log = os.open(log_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
    os.dup2(log, 1)
    os.dup2(log, 2)
    os.chdir(cwd)
    os.environ.clear()
    os.environ.update(env)
    status = 0
    try:
        if args[0] == '-c':
            sys.argv = ['-c', *args[2:]]
            sys.path.insert(0, '')
            exec(compile(args[1], '<string>', 'exec'), {'__name__': '__main__'})
        elif args[0] == '-m':
            sys.argv = [args[1], *args[2:]]
            sys.path.insert(0, cwd)
            runpy.run_module(args[1], run_name='__main__', alter_sys=True)
        else:
            script = os.path.abspath(args[0])
            sys.argv = [args[0], *args[1:]]
            sys.path.insert(0, os.path.dirname(script))
            runpy.run_path(script, run_name='__main__')
    except SystemExit as exit_:
        code = exit_.code
        if isinstance(code, str):
            print(code, file=sys.stderr)
        status = code if isinstance(code, int) else (0 if code is None else 1)
    except BaseException:
        traceback.print_exc()
        status = 1
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
    sys.exit(status)


def run(args, cwd, env, log_file, timeout):
    """Run ``python ARGS`` in a forked process; returns its exit status (``None``: timed out,
    and killed)."""
    process = _forkserver().Process(target=_main, args=(list(args), cwd, dict(env), log_file))
    process.start()
    process.join(timeout)
    if process.is_alive():
        process.kill()
        process.join()
        return None
    return process.exitcode
