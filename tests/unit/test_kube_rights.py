"""The rights review of the suite's Kubernetes identity: every right is asked for all namespaces (workspace
namespaces come and go), so a right granted in one namespace only is a right missing."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from workspace_spec.kube import RIGHTS, Cluster

KUBECONFIG = """apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:9"}}]
users: [{name: u, user: {token: not-used}}]
contexts: [{name: c, context: {cluster: c, user: u}}]
current-context: c
"""


class AccessReviews:
    """The API server's SelfSubjectAccessReview, with a RoleBinding granting `local` in `namespace` alone
    and a ClusterRoleBinding granting the other rights everywhere."""

    def __init__(self, local: tuple[str, str], namespace: str) -> None:
        self.local, self.namespace = local, namespace
        self.asked: list[Any] = []

    def create_self_subject_access_review(self, review: Any, _request_timeout: float) -> Any:
        attributes = review.spec.resource_attributes
        self.asked.append(attributes)
        if (attributes.verb, attributes.resource) != self.local:
            allowed = True
        else:  # no namespace (or "") means all namespaces: only a cluster-wide grant allows that
            allowed = attributes.namespace == self.namespace
        return SimpleNamespace(status=SimpleNamespace(allowed=allowed))


@pytest.fixture
def cluster(tmp_path: Path) -> Cluster:
    config = tmp_path / "kubeconfig"
    config.write_text(KUBECONFIG)
    return Cluster(str(config))


@pytest.mark.parametrize("namespace", ["default", "ci"])
def test_a_right_granted_in_one_namespace_only_is_missing(cluster: Cluster, namespace: str) -> None:
    reviews = cluster._authorization = AccessReviews(("list", "pods"), namespace)  # type: ignore[assignment]
    assert [right.describe() for right in cluster.missing_rights()] == ["list pods"]
    assert len(reviews.asked) == len(RIGHTS)
    assert all(not attributes.namespace for attributes in reviews.asked), "asked in a namespace, not in all"


def test_rights_granted_cluster_wide_are_all_there(cluster: Cluster) -> None:
    cluster._authorization = AccessReviews(("none", "none"), "")  # type: ignore[assignment]
    assert cluster.missing_rights() == []
