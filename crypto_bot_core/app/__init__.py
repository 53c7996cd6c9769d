"""The composition root: assembling a run from its config, the run folder, attaching the
HTTP service, risk replays and portfolio-file runs.

It sits above the engine, the risk analytics, the ledger and the host, and below the
faces (``service/`` and ``cli/``): the engine never learns where its parts came from.
"""
