"""A non-C++ producer works from the documented protocol alone: a short
script written the way a user would write it (pyzmq REQ + msgpack, nothing
from this repository), run as its own /usr/bin/python3 process."""
import json
import os
import subprocess

from harness import FleetTestCase

# What a user writes after reading PROTOCOL.md. Keep it self-contained.
PRODUCER = r'''
import json, sys
import msgpack, zmq

frontend, results = sys.argv[1], sys.argv[2]
ctx = zmq.Context()

def call(endpoint, request):
    sock = ctx.socket(zmq.REQ)
    sock.connect(endpoint)
    sock.send(msgpack.packb(request))
    reply = msgpack.unpackb(sock.recv())
    sock.close()
    return reply

accepted = call(frontend, {"op": "submit", "script": "greet.py", "args": ["Ada", 3],
                           "kwargs": {"punct": "!"}, "corr": 1})
result = call(results, {"op": "get", "id": accepted["id"], "wait_ms": 10000})
print(json.dumps({"accepted": accepted, "result": result}))
'''

GREET = """
def main(name, times, punct="."):
    return {"greeting": "hello " + name + punct, "squares": [i * i for i in range(times)]}
"""


class PythonProducer(FleetTestCase):
    FLEET = dict(workers={"io": {"processes": 1, "threads": 2}, "cpu": {"processes": 0}},
                 scripts={"greet.py": GREET})

    def test_producer_script(self):
        path = os.path.join(self.fleet.dir, "producer.py")
        with open(path, "w") as f:
            f.write(PRODUCER)
        self.assertLessEqual(len(PRODUCER.strip().splitlines()), 20)
        proc = subprocess.run(["/usr/bin/python3", path, self.fleet.endpoints["frontend"],
                               self.fleet.endpoints["results"]],
                              capture_output=True, text=True, timeout=60,
                              env={"PATH": "/usr/bin:/bin", "PYTHONDONTWRITEBYTECODE": "1"})
        self.assertEqual(proc.returncode, 0, proc.stderr)
        out = json.loads(proc.stdout)
        self.assertEqual(out["accepted"]["op"], "accepted")
        self.assertEqual(out["accepted"]["corr"], 1)
        res = out["result"]
        self.assertEqual(res["op"], "result")
        self.assertEqual(res["id"], out["accepted"]["id"])
        self.assertEqual(res["state"], "done", res)
        self.assertEqual(res["result"], {"greeting": "hello Ada!", "squares": [0, 1, 4]})
        self.assertEqual(res["attempts"], 1)
