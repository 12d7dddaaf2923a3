"""The lab started while behave loads the suite is the run's lab only when the run's settings ask for it."""

from __future__ import annotations

from typing import ClassVar

import pytest

from workspace_spec import target
from workspace_spec.settings import Settings, SettingsError


class _Lab:
    """A LabProcess without a process: what select_target does with it is what is under test."""

    started: ClassVar[list[_Lab]] = []
    command_for = staticmethod(target.LabProcess.command_for)

    def __init__(self, command: list[str]) -> None:
        self.command = command
        self.env = {"CODER_URL": "http://127.0.0.1:1", "CODER_SESSION_TOKEN": "AAAAAAAAAA-BBBBBBBBBBBBBBBBBBBBBB"}
        self.faults: list[str] = []
        self.waited = self.stopped = False

    @classmethod
    def spawn(cls, settings: Settings) -> _Lab:
        lab = cls(cls.command_for(settings))
        cls.started.append(lab)
        return lab

    @classmethod
    def start(cls, settings: Settings) -> _Lab:
        return cls.spawn(settings).ready()

    def ready(self) -> _Lab:
        self.waited = True
        return self

    def stop(self) -> None:
        self.stopped = True


@pytest.fixture
def labs(monkeypatch: pytest.MonkeyPatch) -> list[_Lab]:
    for name in ("CODER_URL", "CODER_SESSION_TOKEN", "SPEC_LAB_FAULTS", "SPEC_LAB_BUILD_DELAY", "SPEC_TEMPLATE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(target, "LabProcess", _Lab)
    monkeypatch.setattr(target, "_early", [])
    monkeypatch.setattr(_Lab, "started", [])
    return _Lab.started


def test_the_run_takes_the_lab_started_early_when_its_settings_ask_for_that_lab(labs: list[_Lab]) -> None:
    target.start_lab_early()
    assert len(labs) == 1 and not labs[0].waited  # started, not waited for: behave goes on loading
    chosen = target.select_target({"template": "ameide-dev"})
    assert chosen.lab is labs[0] and labs[0].waited and not labs[0].stopped
    assert len(labs) == 1


def test_a_run_whose_options_ask_for_another_lab_stops_the_early_one(labs: list[_Lab]) -> None:
    target.start_lab_early()
    chosen = target.select_target({"lab_build_delay": "8"})
    early, own = labs
    assert early.stopped and chosen.lab is own and "--build-delay" in own.command


def test_a_live_target_or_a_refused_run_stops_the_early_lab(labs: list[_Lab], monkeypatch: pytest.MonkeyPatch) -> None:
    target.start_lab_early()
    live = target.select_target(
        {"coder_url": "https://coder.example.com", "coder_session_token": "AAAAAAAAAA-BBBBBBBBBBBBBBBBBBBBBB"}
    )
    assert live.name == "live" and labs[0].stopped
    monkeypatch.delenv("CODER_URL")  # select_target points the Coder CLI at the live target
    target.start_lab_early()
    with pytest.raises(SettingsError):
        target.select_target({"tempalte": "ameide-dev"})
    assert labs[1].stopped and not target._early


def test_no_lab_starts_early_for_a_live_environment_or_wrong_settings(
    labs: list[_Lab], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CODER_URL", "https://coder.example.com")
    target.start_lab_early()
    monkeypatch.delenv("CODER_URL")
    monkeypatch.setenv("SPEC_LAB_BUILD_DELAY", "soon")
    target.start_lab_early()
    assert labs == []
