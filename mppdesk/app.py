"""Composition root: builds settings, store, clients and the desk window."""
