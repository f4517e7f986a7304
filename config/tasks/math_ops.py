"""Small pure-CPU tasks, handy for cpu-type submissions and benchmarks.

Call with "func": "add" | "fib" | "burn" | "noop", e.g.
{"script": "math_ops.py", "func": "fib", "args": [30], "type": "cpu"}.
"""


def add(a, b):
    return a + b


def fib(n):
    """n-th Fibonacci number (fib(0) == 0), by a loop so no recursion limit.

    Results above 2**64-1 (n > 93) cannot be msgpack-encoded and come back as
    a failed task with code `unserializable_result`.
    """
    a, b = 0, 1
    for _ in range(n):
        a, b = b, a + b
    return a


def burn(n):
    """Pure-Python CPU work: n loop iterations (about 30-50 ns each); returns
    a small checksum. Holds the GIL the whole time: scales with processes."""
    acc = 0
    for i in range(n):
        acc = (acc + i * i) % 1000003
    return acc


def noop():
    """Does nothing; its result is nil. Measures pure dispatch overhead."""
    return None
