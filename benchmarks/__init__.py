"""Side-by-side benchmarks of runbind against its anchors, run by ``nox -s bench``.

``python -m benchmarks`` measures our code and the anchors (Google's protobuf, plain betterproto2,
openai-python, grpcio, the Yandex SDK) in one run and prints ratios; see ``benchmarks/__main__``.
"""
