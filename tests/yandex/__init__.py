"""Tests of the Yandex Runs clients against the emulator over real sockets."""
