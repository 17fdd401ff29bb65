"""Tests of the OpenAI Runs clients against the emulator over real sockets."""
