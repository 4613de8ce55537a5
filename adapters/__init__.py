"""Adapters: turn real PSA exports into the canonical landing files with a no-code YAML mapping."""
