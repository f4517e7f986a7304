"""Fail loudly (DESIGN decision 9): a serving thread of the broker that dies
takes the broker down at once with exit code 70, so that its supervisor
restarts it, instead of leaving a process that acknowledges submits and never
dispatches them. The death is injected with ZFLEET_FAULT (common/fail_loudly.h).
"""
import os

from harness import Fleet, FleetTestCase, ReplyTimeout, poll


class FaultyFleet(Fleet):
    """A fleet whose broker (and local workers) run with ZFLEET_FAULT set."""

    def __init__(self, fault, after, **kwargs):
        super().__init__(**kwargs)
        self.fault = (fault, str(after))

    def _spawn_broker(self):
        saved = {k: os.environ.get(k) for k in ("ZFLEET_FAULT", "ZFLEET_FAULT_AFTER")}
        os.environ["ZFLEET_FAULT"], os.environ["ZFLEET_FAULT_AFTER"] = self.fault
        try:
            super()._spawn_broker()
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v


class FailLoudly(FleetTestCase):
    FLEET = None

    def broker_dies(self, fault, after, poke):
        fleet = self.new_fleet(FaultyFleet, fault=fault, after=after,
                               workers={"io": {"processes": 1, "threads": 2},
                                        "cpu": {"processes": 0}})
        client = fleet.client(timeout_ms=500)
        for i in range(after + 20):
            if not fleet.alive():
                break
            try:
                poke(client, i)
            except ReplyTimeout:
                pass
        rc = poll(lambda: fleet.proc.poll(), lambda r: r is not None, timeout_s=10)
        self.assertEqual(rc, 70, fleet.log_tail())
        self.assertIn("injected fault at " + fault, fleet.log_tail())

    def test_dispatcher_death_exits_70(self):
        self.broker_dies("broker-dispatch", 3,
                         lambda c, i: c.submit("builtin:echo", [i]))

    def test_intake_death_exits_70(self):
        self.broker_dies("broker-intake", 3,
                         lambda c, i: c.submit("builtin:echo", [i]))

    def test_result_thread_death_exits_70(self):
        # start() polls status on the results endpoint: leave it room.
        self.broker_dies("broker-results", 200, lambda c, i: c.status())

    def test_no_fault_no_exit(self):
        fleet = self.new_fleet(FaultyFleet, fault="broker-elsewhere", after=0,
                               workers={"io": {"processes": 1, "threads": 2},
                                        "cpu": {"processes": 0}})
        client = fleet.client()
        for i in range(20):
            self.assertDone(client.run("builtin:echo", [i]), i)
        self.assertTrue(fleet.alive())
