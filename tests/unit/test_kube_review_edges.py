"""The rights review where the API server's answer is odd, a right has a subresource (pods/log), or the server
takes its time: what the suite's Kubernetes identity is then said to lack."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from kubernetes.client.rest import ApiException

from tests.unit.test_kube_rights import KUBECONFIG
from workspace_spec.kube import RIGHTS, Cluster


def _cluster(tmp_path: Path, request_timeout: float = 10.0) -> Cluster:
    config = tmp_path / "kubeconfig"
    config.write_text(KUBECONFIG)
    return Cluster(str(config), request_timeout)


class PodLogsOnly:
    """A Role that grants `get pods/log` and every right without a subresource, but not `get pods` itself."""

    def __init__(self) -> None:
        self.timeouts: list[float] = []

    def create_self_subject_access_review(self, review: Any, _request_timeout: float) -> Any:
        self.timeouts.append(_request_timeout)
        attributes = review.spec.resource_attributes
        if (attributes.verb, attributes.resource) == ("get", "pods"):
            allowed = attributes.subresource == "log"
        else:
            allowed = attributes.subresource is None
        return SimpleNamespace(status=SimpleNamespace(allowed=allowed))


def test_the_pod_log_right_is_asked_for_the_log_subresource(tmp_path: Path) -> None:
    cluster = _cluster(tmp_path)
    cluster._authorization = PodLogsOnly()  # type: ignore[assignment]
    assert cluster.missing_rights() == []


def test_each_review_is_bounded_by_the_request_timeout(tmp_path: Path) -> None:
    cluster = _cluster(tmp_path, request_timeout=7.5)
    reviews = cluster._authorization = PodLogsOnly()  # type: ignore[assignment]
    cluster.missing_rights()
    assert reviews.timeouts == [7.5] * len(RIGHTS)


class Answering:
    def __init__(self, answer: Any) -> None:
        self.answer = answer

    def create_self_subject_access_review(self, review: Any, _request_timeout: float) -> Any:
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer


@pytest.mark.parametrize(
    "answer",
    [
        ApiException(status=404, reason="Not Found"),  # read as no answer
        SimpleNamespace(status=None),
        SimpleNamespace(status=SimpleNamespace(allowed=False)),
        SimpleNamespace(status=SimpleNamespace(allowed=None)),
    ],
)
def test_a_review_without_an_allowing_answer_counts_the_right_as_missing(tmp_path: Path, answer: Any) -> None:
    cluster = _cluster(tmp_path)
    cluster._authorization = Answering(answer)  # type: ignore[assignment]
    assert cluster.missing_rights() == list(RIGHTS)
