"""The template-version gate: which versions a run promotes, whether it earned it, and Coder's refusal."""

from dataclasses import replace

import pytest

from workspace_spec.coder import CoderError
from workspace_spec.coder_types import Template
from workspace_spec.promotion import (
    Candidate,
    Configured,
    PromotionOutcome,
    PromotionRefused,
    RunFacts,
    candidates,
    decide,
    promote,
)
from workspace_spec.settings import load_settings

CONFIGURED = [
    Configured("ameide-dev", "ci-123", "SPEC_TEMPLATE_VERSION"),
    Configured("ameide-gitops", "", "SPEC_E2E_TEMPLATE_VERSION"),
]
PASSED = RunFacts(started=True, selected=12, passed=12, failed=0, skipped=0, interrupted=False, left_behind=0)


def test_a_run_that_passed_and_cleaned_up_earns_the_promotion():
    assert decide(PASSED).promote
    assert decide(replace(PASSED, passed=11, skipped=1)).promote  # an optional check turned off is no failure


@pytest.mark.parametrize(
    ("facts", "line"),
    [
        (replace(PASSED, passed=10, failed=2), "not promoted: 2 scenarios failed"),
        (replace(PASSED, passed=11, failed=1), "not promoted: 1 scenario failed"),
        (replace(PASSED, left_behind=1), "not promoted: cleanup incomplete"),
        (replace(PASSED, passed=3, failed=1, interrupted=True), "not promoted: run interrupted"),
        (replace(PASSED, passed=9), "not promoted: 3 scenarios did not run"),
        (replace(PASSED, passed=0, skipped=12), "not promoted: nothing was checked"),
        (replace(PASSED, started=False, passed=0), "not promoted: the run stopped before its first check"),
        (replace(PASSED, passed=11, failed=1, left_behind=2), "not promoted: 1 scenario failed; cleanup incomplete"),
        (replace(PASSED, errored=True), "not promoted: the suite errored outside its scenarios"),
    ],
)
def test_a_run_that_did_not_pass_as_a_whole_promotes_nothing_and_says_why(facts, line):
    decision = decide(facts)
    assert not decision.promote
    assert decision.line == line


def test_the_candidates_are_the_pushed_versions_of_the_templates_the_run_uses():
    assert candidates({"ameide-dev"}, CONFIGURED) == [Candidate("ameide-dev", "ci-123")]


def test_promotion_is_refused_up_front_for_a_used_template_without_a_pushed_version():
    with pytest.raises(PromotionRefused, match="set SPEC_E2E_TEMPLATE_VERSION for template 'ameide-gitops'"):
        candidates({"ameide-dev", "ameide-gitops"}, CONFIGURED)
    with pytest.raises(PromotionRefused, match="create no workspace"):
        candidates(set(), CONFIGURED)


def test_the_setting_is_a_bool_off_by_default():
    assert load_settings().promote_on_pass is False
    assert load_settings({"promote_on_pass": "true"}).promote_on_pass is True


class FakeCoder:
    """Coder as the gate sees it; `refuse` names the templates whose promotion it refuses, as coderd does for a
    version whose import failed."""

    def __init__(self, refuse: frozenset[str] = frozenset()) -> None:
        self.refuse = refuse
        self.active: dict[str, str] = {}

    def template(self, organization: str, name: str) -> Template:
        return Template(f"id-{name}", name, "org", "v1", 0)

    def template_version_id(self, template_id: str, name: str) -> str:
        return f"{template_id}/{name}"

    def promote_version(self, template_id: str, version_id: str) -> str:
        if template_id.removeprefix("id-") in self.refuse:
            raise CoderError(
                403,
                "PATCH",
                f"/api/v2/templates/{template_id}/versions",
                "Only versions that have been built successfully can be promoted.",
                "Attempted to promote a version with a failed build",
            )
        self.active[template_id] = version_id
        return "Updated the active template version!"


def test_the_gate_promotes_each_candidate_and_says_so():
    coder = FakeCoder()
    outcome = PromotionOutcome("pending", [Candidate("ameide-dev", "ci-1"), Candidate("ameide-gitops", "ci-2")])
    lines = promote(coder, "default", outcome)
    assert lines == [
        "promoted: ameide-dev version ci-1 is now active",
        "promoted: ameide-gitops version ci-2 is now active",
    ]
    assert outcome.status == "promoted" and outcome.promoted == outcome.candidates
    assert coder.active == {"id-ameide-dev": "id-ameide-dev/ci-1", "id-ameide-gitops": "id-ameide-gitops/ci-2"}


def test_a_promotion_coder_refuses_is_recorded_with_its_answer():
    coder = FakeCoder(refuse=frozenset({"ameide-gitops"}))
    outcome = PromotionOutcome("pending", [Candidate("ameide-dev", "ci-1"), Candidate("ameide-gitops", "ci-2")])
    lines = promote(coder, "default", outcome)
    assert lines == ["promoted: ameide-dev version ci-1 is now active"]
    assert outcome.status == "failed" and outcome.promoted == [Candidate("ameide-dev", "ci-1")]
    assert outcome.error == (
        "promotion failed: ameide-gitops version ci-2: Coder answered 403 to PATCH "
        "/api/v2/templates/id-ameide-gitops/versions: Only versions that have been built successfully can be "
        "promoted. (Attempted to promote a version with a failed build)"
    )
    assert "\n" not in outcome.error
