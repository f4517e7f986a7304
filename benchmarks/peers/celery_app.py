"""The Celery app of the peers benchmark: Redis broker (db 0) and Redis
result backend (db 1) at $PEERS_REDIS_URL, the shared tasks from tasks.py.

Workers start with `python3 -m celery -A celery_app worker ...` in this
folder; the benchmark process imports the same module to send tasks.
"""
import os

from celery import Celery

import tasks

_url = os.environ.get("PEERS_REDIS_URL", "redis://127.0.0.1:6379")
app = Celery("peers", broker=_url + "/0", backend=_url + "/1")
app.conf.update(
    task_serializer="json",
    result_serializer="json",
    accept_content=["json"],
    worker_hijack_root_logger=False,
    worker_send_task_events=False,
    broker_connection_retry_on_startup=True,
)

noop = app.task(name="peers.noop")(tasks.noop)
sleep_ms = app.task(name="peers.sleep_ms")(tasks.sleep_ms)
burn = app.task(name="peers.burn")(tasks.burn)
