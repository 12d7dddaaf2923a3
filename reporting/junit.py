"""What behave's JUnit files lack, added once the last feature's file is written (in after_all):

- the run's facts as `<properties>` (CI dashboards read the target from them);
- the reason of each scenario the suite skipped, as `<skipped message="...">`. behave writes a bare
  `<skipped/>`, and with `show_skipped = false` no testcase at all, so a disabled check would vanish;
- what went wrong with the run as a whole, with the ledger of what it left (TESTS-the-run.xml).
"""

from __future__ import annotations

import xml.etree.ElementTree as ElementTree
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from behave.model import Scenario
from behave.reporter.junit import JUnitReporter


@dataclass(frozen=True)
class SkippedCase:
    file: str  # TESTS-<feature file>.xml, as behave names it
    classname: str  # <feature file>.<feature name>, behave's testsuite name and testcase classname
    name: str
    reason: str

    @classmethod
    def of(cls, scenario: Scenario, reason: str, reporter: JUnitReporter) -> SkippedCase:
        feature = scenario.feature
        assert feature is not None  # a parsed scenario's
        stem = reporter.make_feature_filename(feature)
        return cls(f"TESTS-{stem}.xml", f"{stem}.{feature.name or stem}", scenario.name, reason)


def add_properties(junit_dir: Path, properties: Mapping[str, str]) -> None:
    for path in junit_dir.glob("TESTS-*.xml"):
        tree = ElementTree.parse(path)
        suite = tree.getroot()
        if suite.find("properties") is not None:
            continue
        element = ElementTree.Element("properties")
        for key, value in properties.items():
            ElementTree.SubElement(element, "property", name=key, value=value)
        suite.insert(0, element)
        tree.write(path, encoding="utf-8", xml_declaration=True)


def add_skip_reasons(junit_dir: Path, cases: Iterable[SkippedCase]) -> None:
    by_file: dict[str, list[SkippedCase]] = {}
    for case in cases:
        by_file.setdefault(case.file, []).append(case)
    for file, group in by_file.items():
        path = junit_dir / file
        if path.exists():
            tree = ElementTree.parse(path)
        else:  # every scenario of the feature was skipped: behave wrote no file for it
            suite = ElementTree.Element("testsuite", name=group[0].classname, tests="0", errors="0", failures="0")
            suite.set("skipped", "0")
            suite.set("time", "0")
            tree = ElementTree.ElementTree(suite)
        suite = tree.getroot()
        for case in group:
            _mark_skipped(suite, case)
        junit_dir.mkdir(parents=True, exist_ok=True)
        tree.write(path, encoding="utf-8", xml_declaration=True)


def _mark_skipped(suite: ElementTree.Element, case: SkippedCase) -> None:
    testcase = next(
        (
            element
            for element in suite.iter("testcase")
            if element.get("classname") == case.classname and element.get("name") == case.name
        ),
        None,
    )
    if testcase is None:
        testcase = ElementTree.SubElement(suite, "testcase", classname=case.classname, name=case.name)
        testcase.set("status", "skipped")
        testcase.set("time", "0")
        for counter in ("tests", "skipped"):
            suite.set(counter, str(int(suite.get(counter, "0")) + 1))
    skipped = testcase.find("skipped")
    if skipped is None:
        skipped = ElementTree.SubElement(testcase, "skipped")
    skipped.set("message", case.reason)


RUN_FILE = "TESTS-the-run.xml"


def add_run_problems(junit_dir: Path, problems: Iterable[tuple[str, str]], attachment: Path | None = None) -> None:
    """What went wrong with the run as a whole (a refusal, a removal that failed at its end), one `<error>`
    testcase each in a file of its own, as the Allure report has a result for each. `attachment` (the ledger
    of what the run left) is copied beside the files, so an artifact of the JUnit folder carries it, and named
    in `<system-out>` the way Jenkins' JUnit Attachments plugin reads it."""
    problems = list(problems)
    if not problems:
        return
    junit_dir.mkdir(parents=True, exist_ok=True)
    copy = None
    if attachment is not None and attachment.is_file():
        copy = junit_dir / attachment.name
        copy.write_bytes(attachment.read_bytes())
    suite = ElementTree.Element("testsuite", name="the-run", tests=str(len(problems)), errors=str(len(problems)))
    suite.set("failures", "0")
    suite.set("skipped", "0")
    for name, message in problems:
        testcase = ElementTree.SubElement(suite, "testcase", classname="the-run", name=name, time="0")
        ElementTree.SubElement(testcase, "error", type=message.split(":", 1)[0], message=message).text = message
        if copy is not None:
            ElementTree.SubElement(testcase, "system-out").text = f"[[ATTACHMENT|{copy.resolve()}]]"
    ElementTree.ElementTree(suite).write(junit_dir / RUN_FILE, encoding="utf-8", xml_declaration=True)
