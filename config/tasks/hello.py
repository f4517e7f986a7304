"""Smallest possible zfleet task: {"script": "hello.py", "args": ["you"]}."""


def main(name="world"):
    return f"hello {name}"
