"""Shared geometry: coordinate conventions and mask codecs, one place for every plugin."""
