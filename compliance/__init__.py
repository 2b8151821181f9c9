"""Compliance: PII encryption and blind indexes (``crypto``, ``keys``), consent and opt-in
workflows (``consent``), residency (``residency``), data expiration (``retention``), the
right-to-be-forgotten cascade (``erasure``), the cold-storage archive of event partitions
whose personal payloads erasure crypto-shreds (``archive``), evidence packs (``evidence``)
and the hash-chained audit log (``audit``).
"""
