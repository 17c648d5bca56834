"""Operations: Prometheus metrics, health and readiness endpoints, JSON log lines.

Used by ``serve`` (:mod:`connector.ops.health` registers ``/healthz``, ``/readyz`` and
``/metrics`` on the served app) and by the workers (:mod:`connector.workers`), which count their
runs and their requests to each IdP in :mod:`connector.ops.metrics`.
"""
