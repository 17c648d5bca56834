"""One run of one directory: decide its shape (:mod:`.shape`), read, plan (:mod:`.planning`,
:mod:`.read_differences`, the store's inputs alongside in :mod:`.store_inputs`), guard, apply
and report (:mod:`.sync`, :mod:`.report`).
"""
