"""The mall hub: one server per MPP that every desk pushes to and pulls from.

A program of its own (``mppdesk hub …``): it never imports the desk's ui, desk, store, sync or
Qt, and nothing but ``mppdesk.cli`` imports it (import-linter). The contract with desks is
``resources/protocol/hub-sync.md`` and ``hub-sync.openapi.yaml``.

- ``crypto``: the hub key (outside the database), AES-GCM per column, the keyed look-up hash.
- ``schema`` and ``migrations/``: the tables and their Alembic history (``hub init``).
- ``database``: engines for PostgreSQL (first) and SQLite (embedded default), schema checks.
- ``store.HubStore``: every operation (push, pull, look-up, tickets, review, stats, …).
- ``app.create_app``: the Starlette app; ``server.serve`` / ``server.serve_in_thread`` run it.

See ``mppdesk.hub.server`` for the Python API used by tests, benchmarks and the demo.
"""
