"""Who may do what: the lab's identities, their RBAC rules, the authorizer and SelfSubjectAccessReview.

Requests become attributes as staging/src/k8s.io/apiserver/pkg/endpoints/request/requestinfo.go reads
a URL (verb from the method: get/list/watch/create/delete/deletecollection; `namespaces/<ns>` sets the
namespace, even for the namespace itself). Rules match as plugin/pkg/auth/authorizer/rbac/rbac.go
(`RuleAllows`) does; an allowed request's reason names the binding as rbac.go's describers do. The
default bindings every authenticated user has come from
plugin/pkg/auth/authorizer/rbac/bootstrappolicy/policy.go (system:discovery, system:basic-user,
system:public-info-viewer). A denied request answers 403 with the message of
staging/src/k8s.io/apiserver/pkg/endpoints/handlers/responsewriters/errors.go `forbiddenMessage`
wrapped by apimachinery's errors.go `NewForbidden`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from lab.faults import KUBE_RIGHT_MISSING, Faults

Obj = dict[str, Any]
AUTHENTICATED = "system:authenticated"


@dataclass(frozen=True)
class User:
    name: str
    groups: tuple[str, ...] = ()


CI_NAMESPACE, CI_ACCOUNT = "ci", "workspace-spec"
CI = User(
    f"system:serviceaccount:{CI_NAMESPACE}:{CI_ACCOUNT}",
    ("system:serviceaccounts", f"system:serviceaccounts:{CI_NAMESPACE}", AUTHENTICATED),
)
ADMIN = User("kubernetes-admin", ("kubeadm:cluster-admins", AUTHENTICATED))


@dataclass(frozen=True)
class Rule:
    """One PolicyRule: resource rules (groups, resources incl. `pods/log`) or non-resource URLs."""

    verbs: tuple[str, ...]
    resources: tuple[str, ...] = ()
    groups: tuple[str, ...] = ("",)
    urls: tuple[str, ...] = ()

    def allows(self, request: Attributes) -> bool:
        if "*" not in self.verbs and request.verb not in self.verbs:
            return False
        if not request.resource:
            return any(
                url == request.path or (url.endswith("*") and request.path.startswith(url[:-1])) for url in self.urls
            )
        wanted = f"{request.resource}/{request.subresource}" if request.subresource else request.resource
        return ("*" in self.groups or request.group in self.groups) and any(
            r in ("*", wanted) or (r.startswith("*/") and r[2:] == request.subresource) for r in self.resources
        )


@dataclass(frozen=True)
class Binding:
    """A ClusterRoleBinding of a ClusterRole to one subject (kind: ServiceAccount, Group or User)."""

    name: str
    role: str
    kind: str
    subject: str  # a group's or user's name; `<namespace>/<name>` for a service account
    rules: Callable[[Faults], tuple[Rule, ...]]

    def applies_to(self, user: User) -> bool:
        if self.kind == "Group":
            return self.subject in user.groups
        if self.kind == "ServiceAccount":
            namespace, name = self.subject.split("/")
            return user.name == f"system:serviceaccount:{namespace}:{name}"
        return user.name == self.subject

    def describe(self) -> str:
        # rbac.go's describeSubject writes a service account as "<name>/<namespace>".
        subject = self.subject
        if self.kind == "ServiceAccount":
            namespace, name = subject.split("/")
            subject = f"{name}/{namespace}"
        return f'ClusterRoleBinding "{self.name}" of ClusterRole "{self.role}" to {self.kind} "{subject}"'


def ci_rules(faults: Faults) -> tuple[Rule, ...]:
    """What the suite documents it needs, and no more; KUBE_RIGHT_MISSING takes `list persistentvolumeclaims` away."""
    listed = ("pods", "events") if faults.on(KUBE_RIGHT_MISSING) else ("persistentvolumeclaims", "pods", "events")
    return (
        Rule(("get",), ("namespaces",)),
        Rule(("list",), listed),
        Rule(("get",), ("pods/log",)),
    )


DISCOVERY_URLS = ("/api", "/api/*", "/apis", "/apis/*", "/healthz", "/livez", "/openapi", "/openapi/*", "/readyz")
INFO_URLS = ("/healthz", "/livez", "/readyz", "/version", "/version/")
BINDINGS = (
    Binding(
        "cluster-admin",
        "cluster-admin",
        "Group",
        "kubeadm:cluster-admins",
        lambda _: (
            Rule(("*",), ("*",), ("*",)),
            Rule(("*",), urls=("*",)),
        ),
    ),
    Binding(
        "system:discovery",
        "system:discovery",
        "Group",
        AUTHENTICATED,
        lambda _: (Rule(("get",), urls=(*DISCOVERY_URLS, "/version", "/version/")),),
    ),
    Binding(
        "system:public-info-viewer",
        "system:public-info-viewer",
        "Group",
        AUTHENTICATED,
        lambda _: (Rule(("get",), urls=INFO_URLS),),
    ),
    Binding(
        "system:basic-user",
        "system:basic-user",
        "Group",
        AUTHENTICATED,
        lambda _: (
            Rule(("create",), ("selfsubjectaccessreviews", "selfsubjectrulesreviews"), ("authorization.k8s.io",)),
            Rule(("create",), ("selfsubjectreviews",), ("authentication.k8s.io",)),
        ),
    ),
    Binding(CI_ACCOUNT, CI_ACCOUNT, "ServiceAccount", f"{CI_NAMESPACE}/{CI_ACCOUNT}", ci_rules),
)


@dataclass(frozen=True)
class Attributes:
    """What a request asks, as the authorizer sees it: a resource request, or a non-resource path."""

    verb: str
    resource: str = ""
    group: str = ""
    namespace: str = ""
    name: str = ""
    subresource: str = ""
    path: str = ""
    version: str = field(default="v1", compare=False)


def request_attributes(method: str, path: str, query: dict[str, str] | Any) -> Attributes:
    parts = [p for p in path.split("/") if p]
    if len(parts) >= 3 and parts[0] == "api":
        group, version, rest = "", parts[1], parts[2:]
    elif len(parts) >= 4 and parts[0] == "apis":
        group, version, rest = parts[1], parts[2], parts[3:]
    else:
        return Attributes(verb=method.lower(), path=path)
    namespace = ""
    if rest[0] == "namespaces" and len(rest) > 1:
        namespace = rest[1]
        if len(rest) > 2 and rest[2] not in ("status", "finalize"):
            rest = rest[2:]
    name = rest[1] if len(rest) > 1 else ""
    verb = {"POST": "create", "PUT": "update", "PATCH": "patch"}.get(method, "")
    if method in ("GET", "HEAD"):
        verb = "get" if name else "watch" if query.get("watch") in ("1", "true") else "list"
    elif method == "DELETE":
        verb = "delete" if name else "deletecollection"
    return Attributes(verb, rest[0], group, namespace, name, rest[2] if len(rest) > 2 else "", path, version)


class Authorizer:
    def __init__(self, faults: Faults) -> None:
        self.faults = faults  # read at every decision: faults change while the lab runs

    def decide(self, user: User, request: Attributes) -> tuple[bool, str]:
        """(allowed, reason); the reason names the binding that allowed it, and is empty on a denial."""
        for binding in BINDINGS:
            if binding.applies_to(user) and any(rule.allows(request) for rule in binding.rules(self.faults)):
                return True, f"RBAC: allowed by {binding.describe()}"
        return False, ""

    def review(self, user: User, body: Obj) -> Obj:
        """Answer a SelfSubjectAccessReview: the object back with `status` {allowed, reason?}."""
        spec = body.get("spec") or {}
        if (resource := spec.get("resourceAttributes")) is not None:
            request = Attributes(
                verb=resource.get("verb", ""),
                resource=resource.get("resource", ""),
                group=resource.get("group", ""),
                namespace=resource.get("namespace", ""),
                name=resource.get("name", ""),
                subresource=resource.get("subresource", ""),
            )
        else:
            other = spec.get("nonResourceAttributes") or {}
            request = Attributes(verb=other.get("verb", ""), path=other.get("path", ""))
        allowed, reason = self.decide(user, request)
        result: Obj = {"allowed": allowed}
        if reason:
            result["reason"] = reason
        meta = {"creationTimestamp": None} | (body.get("metadata") or {})
        return {
            "kind": "SelfSubjectAccessReview",
            "apiVersion": "authorization.k8s.io/v1",
            "metadata": meta,
            "spec": spec,
            "status": result,
        }


def forbidden(user: User, request: Attributes) -> tuple[str, Obj]:
    """The 403 Status message and details for a denied request, word for word the API server's."""
    if not request.resource:
        return f'forbidden: User "{user.name}" cannot {request.verb} path "{request.path}"', {}
    resource = f"{request.resource}/{request.subresource}" if request.subresource else request.resource
    scope = f'in the namespace "{request.namespace}"' if request.namespace else "at the cluster scope"
    why = f'User "{user.name}" cannot {request.verb} resource "{resource}" in API group "{request.group}" {scope}'
    qualified = f"{request.resource}.{request.group}" if request.group else request.resource
    named = f' "{request.name}"' if request.name else ""
    details: Obj = {"name": request.name} if request.name else {}
    if request.group:
        details["group"] = request.group
    details["kind"] = request.resource
    return f"{qualified}{named} is forbidden: {why}", details
