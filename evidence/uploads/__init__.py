"""Resumable (tus) uploads.

The bytes go once, as they arrive, into a multipart upload created at upload creation
directly at the final content key (``sha256/<declared hex>``; parts are invisible until
completion): full parts (``s3_part_size``, at least the store's minimum part size), and a
not-yet-full tail as small "tail piece" objects in the staging area, so any API process can
continue an upload after a restart. Completion seals the object only when the SHA-256
computed while streaming equals the declared one; otherwise the multipart upload is aborted
and nothing ever became visible (R-REC-5, R-REC-6). When the content key already exists
(dedup) or the hash state cannot be saved, the upload is staged under ``staging/`` instead.
The database row is the only truth (offset, parts, tail pieces, SHA-256 state, the write
lock): the offset moves only after the store acknowledged the bytes, so HEAD never reports
bytes that are not durable.

``creation`` (POST), ``state`` (the row, HEAD), ``locks`` (the row's write lock),
``receiving`` (PATCH bodies, via ``writer``), ``finishing`` (sealing, rejection,
termination), ``sweeper`` (expiry and cleanup), ``pending`` (uploads an action waits for).
"""
