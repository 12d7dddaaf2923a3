import pytest

from workspace_spec.naming import Namer, is_valid_workspace_name


def test_names_are_unique_valid_and_prefixed():
    namer = Namer("spec")
    names = [namer.workspace() for _ in range(50)]
    assert len(set(names)) == 50
    assert all(is_valid_workspace_name(name) and name.startswith(f"spec-{namer.run_id}-") for name in names)


def test_runs_get_different_ids():
    assert Namer("spec").run_id != Namer("spec").run_id


def test_longest_prefix_still_fits_coder_limit():
    name = Namer("a" * 16).workspace()
    assert len(name) <= 32 and is_valid_workspace_name(name)


@pytest.mark.parametrize("name", ["bad_name", "-lead", "trail-", "dou--ble", "x" * 33, "new", "a.b", ""])
def test_coder_rejects_these_names(name):
    assert not is_valid_workspace_name(name)


def test_owns_names_of_any_run_with_the_prefix():
    namer = Namer("spec")
    assert namer.owns("spec-zzzzzz-3")
    assert not namer.owns("other-zzzzzz-3")
    assert not namer.owns("specimen-1")


def test_owns_the_branches_of_any_run_and_no_other_branch_under_the_prefix():
    namer = Namer("spec")
    assert namer.owns_branch(namer.branch())
    assert namer.owns_branch("spec/zzzzzz-12")
    assert not namer.owns_branch("spec/experiment")
    assert not namer.owns_branch("spec/zzzzzz-1-fix")
    assert not namer.owns_branch("other/zzzzzz-1")
    assert not namer.owns("spec-notes")
