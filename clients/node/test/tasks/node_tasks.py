# Task functions the Node client tests call (clients/node/test/*.js). The
# integration test tests/integration/test_client_node.py copies this file
# into the fleet's script root as node_tasks.py.
import os
import time


def main(a, b, scale=1):
    return {"sum": (a + b) * scale}


def square(x):
    return x * x


def describe(*args, **kwargs):
    """What the arguments became in Python: their type names and values."""
    return {"types": [type(a).__name__ for a in args], "args": list(args),
            "kwargs": kwargs}


def chatty(x):
    print("chatty", x)
    return x


def boom(message):
    raise ValueError(message)


def nap(ms, value=None):
    time.sleep(ms / 1000.0)
    return value


def gate(path, value):
    """Holds its thread until `path` exists (30 s at most), then returns value."""
    end = time.monotonic() + 30
    while path and not os.path.exists(path) and time.monotonic() < end:
        time.sleep(0.01)
    return value
