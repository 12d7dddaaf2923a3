"""The gate's words and records: the refusals a user reads, summary.json's promotion entry, the organization
the gate looks templates up in."""

from __future__ import annotations

import pytest

from workspace_spec.coder_types import Template
from workspace_spec.promotion import Candidate, Configured, PromotionOutcome, PromotionRefused, candidates, promote


def test_a_run_that_uses_no_template_is_refused_with_the_whole_reason() -> None:
    with pytest.raises(PromotionRefused) as refused:
        candidates([], [Configured("ameide-dev", "ci-1", "SPEC_TEMPLATE_VERSION")])
    assert str(refused.value) == (
        "SPEC_PROMOTE_ON_PASS (-D promote_on_pass) is set, but the selected scenarios create no workspace, "
        "so they check no template version"
    )


def test_every_template_without_a_pushed_version_is_named_in_one_refusal() -> None:
    configured = [
        Configured("ameide-dev", "", "SPEC_TEMPLATE_VERSION"),
        Configured("ameide-gitops", "", "SPEC_E2E_TEMPLATE_VERSION"),
    ]
    with pytest.raises(PromotionRefused) as refused:
        candidates(["ameide-gitops", "ameide-dev"], configured)
    assert str(refused.value) == (
        "SPEC_PROMOTE_ON_PASS (-D promote_on_pass) promotes the pushed version the run checks, and none is set: "
        "set SPEC_TEMPLATE_VERSION for template 'ameide-dev' and SPEC_E2E_TEMPLATE_VERSION for template "
        "'ameide-gitops'"
    )


def test_a_gate_not_asked_for_has_no_entry_in_the_summary() -> None:
    assert PromotionOutcome().to_json() is None
    assert PromotionOutcome("off", [Candidate("ameide-dev", "ci-1")]).to_json() is None


def test_the_summary_entry_of_a_promotion_names_every_candidate_and_what_was_promoted() -> None:
    outcome = PromotionOutcome(
        "failed",
        [Candidate("ameide-dev", "ci-1"), Candidate("ameide-gitops", "ci-2")],
        [Candidate("ameide-dev", "ci-1")],
        [],
        "promotion failed: ameide-gitops version ci-2: Coder answered 403",
    )
    assert outcome.to_json() == {
        "status": "failed",
        "candidates": [
            {"template": "ameide-dev", "version": "ci-1"},
            {"template": "ameide-gitops", "version": "ci-2"},
        ],
        "promoted": [{"template": "ameide-dev", "version": "ci-1"}],
        "reasons": [],
        "error": "promotion failed: ameide-gitops version ci-2: Coder answered 403",
    }


def test_the_summary_entry_of_a_run_that_did_not_earn_it_gives_the_reasons_and_no_error() -> None:
    outcome = PromotionOutcome("not promoted", [Candidate("ameide-dev", "ci-1")], [], ["1 scenario failed"])
    assert outcome.to_json() == {
        "status": "not promoted",
        "candidates": [{"template": "ameide-dev", "version": "ci-1"}],
        "promoted": [],
        "reasons": ["1 scenario failed"],
        "error": None,
    }


def test_the_summary_entry_of_an_outcome_that_is_pending_is_written_too() -> None:
    assert PromotionOutcome("pending").to_json() == {
        "status": "pending",
        "candidates": [],
        "promoted": [],
        "reasons": [],
        "error": None,
    }


class RecordingCoder:
    def __init__(self) -> None:
        self.looked_up: list[tuple[str, str]] = []

    def template(self, organization: str, name: str) -> Template:
        self.looked_up.append((organization, name))
        return Template(f"id-{name}", name, organization, "v1", 0)

    def template_version_id(self, template_id: str, name: str) -> str:
        return f"{template_id}/{name}"

    def promote_version(self, template_id: str, version_id: str) -> str:
        return "Updated the active template version!"


def test_the_gate_looks_each_template_up_in_the_configured_organization() -> None:
    coder = RecordingCoder()
    outcome = PromotionOutcome("pending", [Candidate("ameide-dev", "ci-1")])
    promote(coder, "platform-team", outcome)
    assert coder.looked_up == [("platform-team", "ameide-dev")]
