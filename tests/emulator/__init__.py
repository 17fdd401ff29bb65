"""Tests of the local emulator (its protocol sides called in-process)."""
