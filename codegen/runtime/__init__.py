"""Code that is copied into the generated package, kept here as ordinary modules.

``codec`` becomes ``runbind_generated/proto/_codec_runtime.py`` verbatim (under the generated
header); ``wkt`` holds the methods and helpers spliced into the well-known types. Being real
modules, they are linted, type-checked and unit-tested like the rest of ``codegen/``.
"""
