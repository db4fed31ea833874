"""Snapshot / restore of the scene between stages, without undo (headless-safe).

store       take a snapshot (the scene written as a .blend) and restore one
delta       bring back only the datablocks that changed since a snapshot
blocks      per-datablock digests of a .blend file
digests     a snapshot's digests, read on a worker thread after it is written
rigid       the scene's rigid-body world, saved in the payload and set back
"""
