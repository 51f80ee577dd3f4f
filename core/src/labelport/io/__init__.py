"""Shared input/output: atomic output, safe archives, hardened XML and JSON, media files."""
