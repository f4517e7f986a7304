"""A task that always fails, to see a Python exception come back as a
failed result with code `exception`, type ValueError and a traceback.
"""


def main(message="this task always fails"):
    raise ValueError(message)
