"""codegen.patch: a text patch whose target is missing, or there twice, fails naming the patch."""

from __future__ import annotations

import re

import pytest

from codegen import protos
from codegen.errors import GenerationError
from codegen.patch import PatchError, replace_all, replace_once, sub_once


def test_replace_once_replaces_the_one_occurrence() -> None:
    assert replace_once("a(StrEnum)b", "(StrEnum)", "(OpenStrEnum)", what="x") == "a(OpenStrEnum)b"


def test_a_missing_target_raises_naming_the_patch() -> None:
    with pytest.raises(PatchError, match=r"^patch 'open enum Colour': '\(StrEnum\)' not found"):
        replace_once("class Colour(Enum):", "(StrEnum)", "(OpenStrEnum)", what="open enum Colour")


def test_a_target_found_twice_raises_and_says_how_often() -> None:
    with pytest.raises(PatchError, match=r"'x' found 3 times, expected exactly once$"):
        replace_once("x x x", "x", "y", what="three")


def test_an_empty_target_never_matches() -> None:
    with pytest.raises(PatchError, match="not found"):
        replace_once("text", "", "y", what="empty")


def test_a_long_target_is_shortened_in_the_message() -> None:
    with pytest.raises(PatchError) as caught:
        replace_once("", "y" * 200, "", what="long")
    assert len(str(caught.value)) < 140
    assert "..." in str(caught.value)


def test_sub_once_takes_a_pattern_string_flags_or_a_compiled_pattern() -> None:
    text = "import a\nimport datetime\nimport b\n"
    assert sub_once(r"^import datetime\n", "", text, flags=re.M, what="d") == "import a\nimport b\n"
    compiled = re.compile(r"import (\w+)\nimport b")
    assert (
        sub_once(compiled, lambda m: m.group(1).upper(), text, what="c") == "import a\nDATETIME\n"
    )


def test_sub_once_without_a_match_or_with_two_raises() -> None:
    with pytest.raises(PatchError, match=r"^patch 'gone': pattern '\^import x\$' not found"):
        sub_once(r"^import x$", "", "import y\n", flags=re.M, what="gone")
    with pytest.raises(PatchError, match=r"found 2 times"):
        sub_once(r"import", "", "import a\nimport b\n", what="two")


def test_a_patch_error_is_a_generation_error() -> None:
    assert issubclass(PatchError, GenerationError)


# --------------------------------------------------------------------------- the patches in use


def test_the_value_pattern_patch_fails_when_betterproto2_rewrites_to_dict() -> None:
    code = "import betterproto2\n\n\nclass Value(betterproto2.Message):\n    pass\n"
    with pytest.raises(PatchError, match=r"^patch 'Value\.to_dict: an or-pattern"):
        protos._patch_well_known_types(code)


def test_the_dateutil_patch_fails_when_the_import_changes_shape() -> None:
    code = "import dateutil\nimport betterproto2\n"
    with pytest.raises(PatchError, match=r"^patch 'drop the unused dateutil import'"):
        protos._patch_well_known_types(code)


def test_a_module_without_well_known_types_gets_only_the_helpers() -> None:
    code = protos._patch_well_known_types("import betterproto2\n")
    assert "def _fraction(nanos: int) -> str:" in code
    assert code.index("import base64\n") < code.index("import betterproto2\n")


def test_the_time_field_patch_fails_when_the_annotation_changes() -> None:
    field = (
        "class A:\n"
        '    t: "dt.datetime | None" = betterproto2.field(\n'
        "        1, betterproto2.TYPE_MESSAGE, optional=True,\n"
        "        unwrap=lambda: __google__protobuf__.Timestamp,\n"
        "    )\n"
    )
    with pytest.raises(
        PatchError, match=r"^patch 'Timestamp field: its type': 'datetime\.datetime'"
    ):
        protos._unwrap_time_fields(field)
    fixed = protos._unwrap_time_fields(
        "import datetime\n" + field.replace("dt.datetime", "datetime.datetime")
    )
    assert "import datetime" not in fixed
    assert '"__google__protobuf__.Timestamp | None"' in fixed
    assert "unwrap" not in fixed


def test_replace_all_replaces_every_occurrence_and_needs_one() -> None:
    assert replace_all("x x x", "x", "y", what="three") == "y y y"
    with pytest.raises(PatchError, match=r"^patch 'none': 'z' not found, expected at least once"):
        replace_all("x x x", "z", "y", what="none")
    with pytest.raises(PatchError, match="not found"):
        replace_all("text", "", "y", what="empty")


def test_the_from_dict_patch_fails_when_betterproto2_changes_its_signature() -> None:
    code = (
        "import betterproto2\n\n\nclass Struct(betterproto2.Message):\n"
        "    def from_dict(cls, data, *, ignore_unknown_fields: bool = False) -> Self: ...\n"
    )
    with pytest.raises(PatchError, match=r"^patch 'from_dict: annotate value"):
        protos._patch_well_known_types(code)
    fixed = protos._patch_well_known_types(code.replace("data,", "value,"))
    assert "def from_dict(cls, value: typing.Any, *," in fixed
