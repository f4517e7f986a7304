"""An I/O-like task: sleeps `ms` milliseconds, then returns `ms`.

time.sleep releases the GIL, so many run at once in one io worker.
Use it to test timeouts: {"script": "sleepy.py", "args": [2000], "timeout_ms": 500}.
"""

import time


def main(ms):
    time.sleep(ms / 1000.0)
    return ms
