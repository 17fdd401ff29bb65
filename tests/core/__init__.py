"""Tests of the hand-written layer, one module per module of src/runbind."""
