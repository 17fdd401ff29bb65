"""Fuzzing the decoders: protobuf, OpenAI JSON and server-sent events, with their limits."""
