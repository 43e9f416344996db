"""The custody ledger: one hash chain that every domain writes to (R-REC-7).

Entry points: ``append_event`` (and ``append_case_event`` for a person's act on a case) in
``service.py``; the one canonical form of an entry (typed row, body, hash) in ``chain.py``;
checkpoints in ``checkpoint.py``; verification in ``verify.py``; which subjects the chain
holds entries about in ``subjects.py`` (the completeness check that needs the domains is
``backend/audit.py``, in the composition root). The ledger imports only ``backend.core``.
"""
