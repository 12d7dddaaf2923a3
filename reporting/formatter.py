"""The suite's Allure formatter: allure-behave's, plus what readers of the report need and behave 1.3's
statuses that allure-behave 2.16 does not know.

- Labels and links from the spec reference in each scenario's name (`sections`): epic, story, severity,
  a link to the section; the feature's spec text as the description; the owner from `@owner:<team>`.
- A scenario the suite skips for a reason (`scenario.skip(reason=...)`, such as Codex being off) is
  shown as skipped with that reason; scenarios the tags or lines did not select are left out.
- behave's `hook_error` and `cleanup_error` are shown as broken with their message, where allure-behave
  would show skipped or passed.
- A dry run (`--dry-run`, `--steps-catalog`) writes nothing, and keeps behave's JUnit reporter from
  writing too: it checks the Gherkin, and the last real run's reports stay as they were. Hooks do not run
  under a dry run, so only a formatter can see to this.

Registered in pyproject.toml as the `allure` format.
"""

from __future__ import annotations

from typing import Any

import allure_commons
from allure_behave.formatter import AllureFormatter as _AllureFormatter
from allure_behave.listener import AllureListener
from allure_behave.utils import TEST_PLAN_SKIP_REASON
from allure_commons.model2 import Label, Link, Status, StatusDetails, TestResult
from allure_commons.types import LabelType, LinkType
from behave.configuration import Configuration
from behave.formatter.base import Formatter, StreamOpener
from behave.model import Scenario
from behave.model_type import Status as BehaveStatus
from behave.reporter.junit import JUnitReporter

from reporting import sections

OWNER = "owner:"  # the tag that names the team answering for a feature


class AllureFormatter(_AllureFormatter):
    listener: AllureListener

    def __new__(cls, stream_opener: StreamOpener, config: Configuration) -> Formatter:
        if config.dry_run:
            return _DryRun(stream_opener, config)
        return super().__new__(cls)

    def __init__(self, stream_opener: StreamOpener, config: Configuration) -> None:
        super().__init__(stream_opener, config)
        allure_commons.plugin_manager.unregister(self.listener)
        self.listener = _Listener(config)
        allure_commons.plugin_manager.register(self.listener)


class _DryRun(Formatter):
    """Writes nothing, and takes behave's JUnit reporter out of this run."""

    name = "allure"

    def __init__(self, stream_opener: StreamOpener, config: Configuration) -> None:
        super().__init__(stream_opener, config)
        config.reporters[:] = [r for r in config.reporters if not isinstance(r, JUnitReporter)]


class _ShowingSkipped:
    """The run's configuration as allure-behave reads it, with `show_skipped` set per scenario."""

    def __init__(self, config: Configuration | _ShowingSkipped, show_skipped: bool) -> None:
        self._config = config
        self.show_skipped = show_skipped

    def __getattr__(self, name: str) -> Any:
        return getattr(self._config, name)


class _Listener(AllureListener):
    behave_config: Configuration | _ShowingSkipped

    def __init__(self, config: Configuration) -> None:
        super().__init__(config)
        self.hide_excluded = True  # not selected by tags or names: not part of this run's report
        self._corrections: dict[str, tuple[str, StatusDetails]] = {}

    def start_scenario(self, scenario: Scenario) -> None:
        super().start_scenario(scenario)
        result = self.logger.get_test(self.current_scenario_uuid)
        _add_spec_facts(result, scenario)

    def stop_scenario(self, scenario: Scenario) -> None:
        uuid = self.current_scenario_uuid
        reason = _own_skip_reason(scenario)
        if correction := _correction(scenario, reason):
            self._corrections[uuid] = correction
        # Kept: a scenario skipped for a reason; left out: one skipped because it was not selected.
        config = self.behave_config
        self.behave_config = _ShowingSkipped(config, show_skipped=bool(reason))
        try:
            super().stop_scenario(scenario)
        finally:
            self.behave_config = config

    @allure_commons.hookimpl(tryfirst=True)
    def report_result(self, result: TestResult) -> None:
        """Runs before allure-behave's file logger writes the result: the status behave really gave."""
        if correction := self._corrections.pop(result.uuid, None):
            result.status, result.statusDetails = correction


def _own_skip_reason(scenario: Scenario) -> str:
    """Why the suite skipped a selected scenario ('' when it was not skipped, or not selected)."""
    reason = scenario.skip_reason or ""
    if scenario.status != BehaveStatus.skipped or reason == TEST_PLAN_SKIP_REASON:
        return ""
    return reason


def _correction(scenario: Scenario, skip_reason: str) -> tuple[str, StatusDetails] | None:
    status = scenario.status
    if skip_reason:
        return Status.SKIPPED, StatusDetails(message=skip_reason)
    if status == BehaveStatus.hook_error:
        return Status.BROKEN, StatusDetails(message=scenario.error_message or "a hook failed")
    if status == BehaveStatus.cleanup_error:
        message = scenario.error_message or "CleanupFailed: the scenario's cleanup failed"
        return Status.BROKEN, StatusDetails(message=message)
    if status == BehaveStatus.untested:
        return Status.SKIPPED, StatusDetails(message="not run: the run stopped before this scenario")
    return None


def _add_spec_facts(result: TestResult, scenario: Scenario) -> None:
    assert scenario.feature is not None  # a parsed scenario's
    result.description = sections.description(scenario.feature.description, scenario.description)
    result.labels.append(Label(name=LabelType.EPIC, value=sections.EPIC))
    # `@owner:<team>` in the spec is plain Gherkin; Allure shows the team as the result's owner.
    owners = [label.value for label in result.labels if label.name == LabelType.TAG and label.value.startswith(OWNER)]
    result.labels = [label for label in result.labels if not (label.name == LabelType.TAG and label.value in owners)]
    result.labels += [Label(name="owner", value=owner.removeprefix(OWNER)) for owner in owners]  # Allure's own name
    if (severity := sections.severity(scenario.effective_tags)) is not None:
        result.labels = [label for label in result.labels if label.name != LabelType.SEVERITY]
        result.labels.append(Label(name=LabelType.SEVERITY, value=severity))
    if (section := sections.section_of(scenario.name)) is not None:
        result.labels.append(Label(name=LabelType.STORY, value=section.story))
        result.links.append(Link(type=LinkType.LINK, url=section.url, name=section.link_name))
