"""runbind's code generation pipeline: lock, sync, generate, check (see docs/maintainers.md)."""
