"""The orchestrator's use cases: short functions and one runner that drive the ports.

``pipeline`` (what a worker does with one config), ``record`` (one transaction per result),
``queue_control`` (create, pause, cancel, retry), ``coordinator`` (the queue loop),
``checkpoints`` (payloads), ``recovery`` (crashed queues, stale claims).
"""
