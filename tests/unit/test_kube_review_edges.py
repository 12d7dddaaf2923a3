"""The rights review where the API server's answer is odd, a right has a subresource (pods/log), or the server
takes its time: what the suite's Kubernetes identity is then said to lack."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from aiohttp import web
from kubernetes.client.rest import ApiException

from tests.helpers.serving import serving
from tests.unit.test_kube_rights import KUBECONFIG
from workspace_spec.kube import RIGHTS, Cluster, ClusterUnavailable


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


def test_an_api_answering_a_page_instead_of_json_is_unusable_not_a_traceback(tmp_path: Path) -> None:
    """An authenticating proxy in front of the API answers 200 with its sign-in page."""

    async def sign_in_page(request: web.Request) -> web.Response:
        return web.Response(text="<html>Sign in</html>", content_type="text/html")

    app = web.Application()
    app.router.add_get("/{tail:.*}", sign_in_page)
    with serving(app) as url:
        config = tmp_path / "kubeconfig"
        config.write_text(KUBECONFIG.replace("https://127.0.0.1:9", url))
        cluster = Cluster(str(config), 5.0)
        for read in (lambda: cluster.namespace("ns"), lambda: cluster.pods("ns")):
            with pytest.raises(ClusterUnavailable) as raised:
                read()
            assert "with a body that is not a JSON object" in str(raised.value)
