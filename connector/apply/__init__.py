"""Applying a plan: the interpreter that cuts a plan into transactions and hands each change to
its handler (:mod:`connector.store.handlers`, registered when that package loads), and tallies
and audits what happened (:mod:`.applier`).  Reads only the plan and the store.
"""
