"""Webhook delivery: its own loop (``idp-connector deliver``), never part of a sync.

:class:`~connector.delivery.deliverer.Deliverer` posts each endpoint's events in order, signed,
retried on the schedule of :mod:`connector.rules.retry_schedule`, then dead-lettered; the store
keeps each endpoint's position and lease (:mod:`connector.store.webhooks`).
"""
