"""celery_tasks - lab 20's Celery app: one task, `work`, short (a little arithmetic) or slow
(a sleep of `ms` milliseconds), on the broker CONLAB_AMQP_URL names (`conlab lab service
rabbitmq` sets it), results back over the same broker (rpc://).

The worker takes one message at a time per process (prefetch multiplier 1, acks late), so a
message it cannot run yet stays in the broker's queue, where the trace can see it wait.
"""
import os
import time

from celery import Celery

app = Celery("celery_tasks",
             broker=os.environ.get("CONLAB_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672//"),
             backend="rpc://")
app.conf.update(worker_prefetch_multiplier=1, task_acks_late=True,
                broker_connection_retry_on_startup=False, worker_hijack_root_logger=False,
                task_serializer="json", result_serializer="json", accept_content=["json"])


@app.task
def work(kind, ms, sent):
    """Run one task; say when it started (for the queue wait), how long it ran, and where."""
    start = time.time()
    if kind == "slow":
        time.sleep(ms / 1000)
    else:
        sum(i * i for i in range(20000))
    return {"pid": os.getpid(), "queued": start - sent, "ran": time.time() - start}
