"""What the run preloads arrives in sys.modules, and a library that is not there stops nothing."""

from __future__ import annotations

import sys

from workspace_spec import preload


def test_preloaded_modules_are_imported_and_a_missing_one_is_passed_over() -> None:
    sys.modules.pop("colorsys", None)
    preload.in_background(("workspace_spec.no_such_module", "colorsys")).join(10)
    assert "colorsys" in sys.modules


def test_the_run_preloads_modules_that_exist() -> None:
    import importlib.util

    for name in (*preload.HTTP, *preload.KUBERNETES, *preload.SSH, *preload.METRICS):
        assert importlib.util.find_spec(name) is not None, name
