"""Generated names resolved on use: found once, and a missing one is a SpecVersionError naming it
and the spec commit (never an ImportError or AttributeError)."""

from __future__ import annotations

import pickle
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from runbind_generated import __provenance__
from runbind_generated.openai import RunObject
from runbind_generated.proto.yandex.cloud.ai.assistants.v1 import runs

from runbind import RunbindError, SpecVersionError, UnsupportedOperationError
from runbind._core import generated, lazy, seam
from runbind._core.generated import converted, has_field, need, need_field, newer_fields

OPENAI = "runbind_generated.openai"
OPENAI_SPEC = f"openai-openapi@{__provenance__['openai-openapi']['commit']}"
CLOUD_SPEC = f"cloudapi@{__provenance__['cloudapi']['commit']}"


def test_a_present_name_is_the_generated_class_and_is_resolved_once() -> None:
    assert need(OPENAI, "RunObject") is RunObject
    assert generated._names[(OPENAI, "RunObject")] is RunObject
    assert need(OPENAI, "RunObject") is RunObject


def test_a_missing_name_is_a_spec_version_error_naming_it_and_the_commit() -> None:
    with pytest.raises(SpecVersionError) as caught:
        need(OPENAI, "NoSuchModel")
    error = caught.value
    assert error.name == f"{OPENAI}.NoSuchModel"
    assert error.spec == OPENAI_SPEC
    assert f"{OPENAI}.NoSuchModel" in str(error)
    assert OPENAI_SPEC in str(error)
    assert isinstance(error, UnsupportedOperationError)
    assert isinstance(error, RunbindError)
    assert (OPENAI, "NoSuchModel") not in generated._names  # a later spec may still add it


def test_a_missing_generated_module_is_a_spec_version_error() -> None:
    module = "runbind_generated.proto.yandex.cloud.ai.assistants.v9"
    with pytest.raises(SpecVersionError) as caught:
        need(module, "Run")
    assert caught.value.name == f"{module}.Run"
    assert caught.value.spec == CLOUD_SPEC


def test_a_module_outside_the_generated_code_stays_an_import_error() -> None:
    with pytest.raises(ModuleNotFoundError):
        need("runbind_no_such_package.sub", "Name")


def test_fields_of_messages_and_models() -> None:
    assert has_field(runs.Run, "state")
    assert not has_field(runs.Run, "no_such_field")
    assert has_field(RunObject, "required_action")
    assert not has_field(RunObject, "no_such_field")
    need_field(runs.Run, "state")
    with pytest.raises(SpecVersionError) as caught:
        need_field(runs.Run, "no_such_field")
    assert caught.value.name == f"{runs.Run.__module__}.Run.no_such_field"
    assert caught.value.spec == CLOUD_SPEC


def test_newer_fields_drop_an_unset_missing_field_and_refuse_a_set_one() -> None:
    assert newer_fields(runs.Run, state=None) == {"state": None}
    assert newer_fields(runs.Run, no_such_field=None) == {}
    with pytest.raises(SpecVersionError, match=r"Run\.no_such_field"):
        newer_fields(runs.Run, no_such_field=1)


def test_import_errors_of_generated_names_are_converted_and_others_are_not() -> None:
    exc = ImportError(f"cannot import name 'ErrorResponse' from '{OPENAI}' (/x/__init__.py)")
    error = converted(exc)
    assert error is not None
    assert error.name == f"{OPENAI}.ErrorResponse"
    assert error.spec == OPENAI_SPEC
    assert converted(ImportError("cannot import name 'X' from 'json' (/x.py)")) is None
    gone = ModuleNotFoundError("no module", name="runbind_generated.openai._gone")
    error = converted(gone)
    assert error is not None
    assert error.name == "runbind_generated.openai._gone"
    assert converted(ModuleNotFoundError("no module", name="h11")) is None


def test_the_error_pickles_with_its_attributes() -> None:
    error = SpecVersionError(f"{OPENAI}.Response", OPENAI_SPEC)
    back = pickle.loads(pickle.dumps(error))
    assert (type(back), back.name, back.spec, str(back)) == (
        SpecVersionError,
        error.name,
        error.spec,
        str(error),
    )


@pytest.fixture
def needy_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A module (an adapter after an upstream removal) importing a name the code lacks."""
    name = "runbind_test_needy_adapter"
    (tmp_path / f"{name}.py").write_text(
        f"from {OPENAI} import NoSuchModel\nADAPTER = None\nValue = NoSuchModel\n",
        encoding="utf-8",
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    yield name
    sys.modules.pop(name, None)


def test_an_adapter_importing_a_missing_name_is_a_spec_version_error(needy_module: str) -> None:
    seam.register("needy", needy_module)
    try:
        with pytest.raises(SpecVersionError) as caught:
            seam.adapter("needy")
    finally:
        seam._modules.pop("needy", None)
    assert caught.value.name == f"{OPENAI}.NoSuchModel"
    assert caught.value.spec == OPENAI_SPEC


def test_a_lazy_attribute_needing_a_missing_name_is_a_spec_version_error(
    needy_module: str,
) -> None:
    getattr_, _ = lazy.attach("runbind", {"Value": needy_module})
    with pytest.raises(SpecVersionError, match=r"runbind_generated\.openai\.NoSuchModel"):
        getattr_("Value")


def test_the_tests_spec_version_helpers_see_names_and_fields() -> None:
    from tests import _spec_version as sv  # noqa: PLC0415

    assert not sv.lacks(f"{sv.RUNS}.Run")
    assert not sv.lacks(f"{sv.RUNS}.Run.state")  # a field
    assert not sv.lacks(f"{OPENAI}.RunObject.required_action")
    assert sv.lacks(f"{sv.RUNS}.Run.no_such_field")
    assert sv.lacks(f"{OPENAI}.NoSuchModel")
    assert sv.lacks("runbind_generated.no_such_module.Name")
    assert sv.missing(f"{OPENAI}.RunObject", f"{OPENAI}.NoSuchModel") == [f"{OPENAI}.NoSuchModel"]
    assert sv.generated(OPENAI, "RunObject") is RunObject


def test_a_stand_in_for_a_missing_name_skips_the_test_using_it_naming_it() -> None:
    from tests import _spec_version as sv  # noqa: PLC0415

    absent = sv.generated(OPENAI, "NoSuchModel")
    for use in (absent, lambda: absent.model_validate, lambda: isinstance(1, absent)):
        with pytest.raises(pytest.skip.Exception, match=rf"{OPENAI}\.NoSuchModel") as caught:
            use()
        assert OPENAI_SPEC in str(caught.value)
    with pytest.raises(AttributeError):
        absent.__wrapped__  # noqa: B018 - introspection is not a use
