"""submit_batch: per-item ids and errors aligned, a bad item does not spoil
the good ones, max_batch (PROTOCOL.md: submit_batch)."""
import uuid

from harness import FleetTestCase

MAX_BATCH = 20

ADD = """
def main(a, b):
    return a + b
"""


class Batch(FleetTestCase):
    FLEET = dict(broker={"max_batch": MAX_BATCH}, scripts={"add.py": ADD})

    def uid(self, name):
        return "%s-%s" % (name, uuid.uuid4().hex)

    def test_bad_items_in_the_middle(self):
        dup = self.uid("dup")
        tasks = [
            {"script": "builtin:echo", "args": ["first"]},                 # 0 ok
            {"script": "../escape.py"},                                     # 1 bad script shape
            {"script": "add.py", "args": [1, 2], "type": "gpu"},            # 2 bad type
            {"script": "add.py", "args": [20, 22], "id": dup},              # 3 ok, client id
            {"script": "builtin:echo", "args": ["dup"], "id": dup},         # 4 duplicate in batch
            {"script": "/abs/path.py"},                                     # 5 bad script shape
            {"script": "noext"},                                            # 6 bad script shape
            {"args": [1]},                                                  # 7 missing script
            "not a map",                                                    # 8 not a map
            {"script": "add.py", "args": "x"},                              # 9 mistyped args
            {"script": "builtin:echo", "args": [{"last": True}], "type": "cpu"},  # 10 ok
        ]
        good = {0: "first", 3: 42, 10: {"last": True}}
        bad = {1: "bad_request", 2: "bad_request", 4: "duplicate_id", 5: "bad_request",
               6: "bad_request", 7: "bad_request", 8: "bad_request", 9: "bad_request"}
        reply = self.client.submit_batch(tasks, corr="b1")
        self.assertEqual(reply["op"], "accepted_batch", reply)
        self.assertEqual(reply["corr"], "b1")
        ids, errors = reply["ids"], reply["errors"]
        self.assertEqual(len(ids), len(tasks))
        self.assertEqual(len(errors), len(tasks))
        for i in range(len(tasks)):
            if i in good:
                self.assertIsInstance(ids[i], str, (i, reply))
                self.assertIsNone(errors[i], (i, reply))
            else:
                self.assertIsNone(ids[i], (i, reply))
                self.assertIsInstance(errors[i], dict, (i, reply))
                self.assertEqual(errors[i]["code"], bad[i], (i, errors[i]))
                self.assertIsInstance(errors[i]["message"], str)
        self.assertEqual(ids[3], dup)
        self.assertEqual(len({ids[i] for i in good}), len(good))
        results = self.client.wait_many([ids[i] for i in good])
        for (i, expected), res in zip(sorted(good.items()), results):
            self.assertDone(res, expected)
        # The duplicate never ran: the id holds the first task's result.
        self.assertDone(self.client.get(dup), 42)

    def test_duplicate_of_an_earlier_task(self):
        tid = self.uid("earlier")
        self.assertDone(self.client.run("builtin:echo", [1], id=tid), 1)
        reply = self.client.submit_batch([{"script": "builtin:echo", "args": [2], "id": tid},
                                          {"script": "builtin:echo", "args": [3]}])
        self.assertIsNone(reply["ids"][0])
        self.assertEqual(reply["errors"][0]["code"], "duplicate_id")
        self.assertIsNone(reply["errors"][1])
        self.assertDone(self.client.wait(reply["ids"][1]), 3)
        self.assertDone(self.client.get(tid), 1)

    def test_exactly_max_batch_is_accepted(self):
        tasks = [{"script": "builtin:echo", "args": [i]} for i in range(MAX_BATCH)]
        reply = self.client.submit_batch(tasks)
        self.assertEqual(reply["op"], "accepted_batch", reply)
        self.assertEqual(reply["errors"], [None] * MAX_BATCH)
        results = self.client.wait_many(reply["ids"])
        for i, res in enumerate(results):
            self.assertDone(res, i)

    def test_over_max_batch_is_too_large(self):
        before = self.client.status()["tasks"]["submitted"]
        marker = self.uid("over")
        tasks = [{"script": "builtin:echo", "args": [i], "id": "%s-%d" % (marker, i)}
                 for i in range(MAX_BATCH + 1)]
        reply = self.client.submit_batch(tasks, corr=5)
        self.assertErrorReply(reply, "too_large")
        self.assertEqual(reply.get("corr"), 5)
        # Refused as a whole: none of its tasks exists.
        self.assertEqual(self.client.status()["tasks"]["submitted"], before)
        self.assertEqual(self.client.get("%s-0" % marker)["state"], "unknown")
        self.assertServing()

    def test_empty_batch(self):
        reply = self.client.submit_batch([])
        self.assertEqual(reply, {"op": "accepted_batch", "ids": [], "errors": []})

    def test_tasks_not_an_array(self):
        for tasks in ({"script": "builtin:echo"}, "x", None, 3):
            reply = self.client.submit_batch(tasks)
            self.assertErrorReply(reply, "bad_request")
        reply = self.client.request("frontend", {"op": "submit_batch"})
        self.assertErrorReply(reply, "bad_request")
        self.assertServing()

    def test_all_bad(self):
        reply = self.client.submit_batch([{"script": ""}, {"script": "a.txt"}])
        self.assertEqual(reply["ids"], [None, None])
        self.assertEqual([e["code"] for e in reply["errors"]], ["bad_request"] * 2)
