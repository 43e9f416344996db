"""Oversight: complaints, jurisdiction disputes, supervision letters, fault accountability,
publicity and statistics. Empty until those arrive; it may read every domain and never
imports HTTP (contracts in pyproject.toml, rooms in docs/DEVELOPING.md)."""
