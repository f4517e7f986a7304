"""The task functions every system runs, so the work is identical.

zfleet loads this file as a script (the fleet's script root is this folder);
Celery registers them in celery_app.py; RQ and Dask import them by module
name (their workers get this folder on PYTHONPATH).
"""
import time


def noop():
    """Does nothing; its result is None. Measures dispatch overhead."""
    return None


def sleep_ms(ms):
    """I/O-like: sleeps `ms` milliseconds (releases the GIL), returns `ms`."""
    time.sleep(ms / 1000.0)
    return ms


def burn(n):
    """Pure-Python CPU work, the same loop as config/tasks/math_ops.py `burn`:
    n iterations (about 30-50 ns each here); holds the GIL throughout."""
    acc = 0
    for i in range(n):
        acc = (acc + i * i) % 1000003
    return acc
