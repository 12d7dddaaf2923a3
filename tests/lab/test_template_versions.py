"""Template versions as `coder templates push --activate=false` and `coder templates versions promote` use
them: files, versions, the import job, promotion, and workspaces built from a pushed version."""

from __future__ import annotations

import os
import subprocess
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from kubernetes import client as kube_client

from lab.cli_templates import TemplateCommandError, push_version
from lab.template_source import pack
from tests.helpers.lab import Lab

TAR = {"Content-Type": "application/x-tar"}
GOOD = {"main.tf": 'resource "kubernetes_pod" "main" {\n  image = "ghcr.io/coder/envbuilder:1.1.0"\n}\n'}
# Plans (no plan pulls an image), but no start build can pull its image.
UNPULLABLE = {"main.tf": 'resource "kubernetes_pod" "main" {\n  image = "ghcr.io/coder/envbuilder:no-such-tag"\n}\n'}
# terraform cannot plan a module without configuration: the import fails.
NOTHING_TO_PLAN = {"README.md": "no terraform here\n"}


@pytest.fixture(scope="module")
def template(api: httpx.Client) -> dict[str, Any]:
    return api.get("/api/v2/organizations/default/templates/ameide-dev").json()


def upload(api: httpx.Client, files: dict[str, str]) -> str:
    return str(api.post("/api/v2/files", content=pack(files), headers=TAR).json()["hash"])


def create(api: httpx.Client, body: dict[str, Any]) -> httpx.Response:
    return api.post("/api/v2/organizations/default/templateversions", json=body)


def request(template: dict[str, Any], file_id: str, name: str) -> dict[str, Any]:
    return {
        "name": name,
        "template_id": template["id"],
        "file_id": file_id,
        "storage_method": "file",
        "provisioner": "terraform",
        "tags": {},
    }


def wait_for_import(api: httpx.Client, version: dict[str, Any]) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        version = api.get(f"/api/v2/templateversions/{version['id']}").json()
        if version["job"]["status"] not in ("pending", "running"):
            return version
        time.sleep(0.05)
    raise AssertionError(f"import of {version['name']} never ended")


def name() -> str:
    return f"ci-{uuid.uuid4().hex[:8]}"


def test_an_upload_answers_its_id_and_the_same_upload_again_the_same_id(api: httpx.Client) -> None:
    content = pack({"main.tf": f"# {uuid.uuid4()}\n"})
    first = api.post("/api/v2/files", content=content, headers=TAR)
    again = api.post("/api/v2/files", content=content, headers=TAR)
    assert first.status_code == 201 and again.status_code == 200
    assert again.json() == first.json() and set(first.json()) == {"hash"}
    uuid.UUID(first.json()["hash"])
    stored = api.get(f"/api/v2/files/{first.json()['hash']}")
    assert stored.content == content and stored.headers["content-type"] == "application/x-tar"


def test_an_upload_of_another_type_is_refused(api: httpx.Client) -> None:
    answer = api.post("/api/v2/files", content=b"{}", headers={"Content-Type": "application/json"})
    assert answer.status_code == 400
    assert answer.json() == {"message": 'Unsupported content type header "application/json".'}
    assert api.get("/api/v2/files/nope").json() == {"message": "File id must be a valid UUID."}
    assert api.get(f"/api/v2/files/{uuid.uuid4()}").status_code == 404


def test_a_version_is_created_pending_and_imported(api: httpx.Client, template: dict[str, Any]) -> None:
    wanted = name()
    answer = create(api, request(template, upload(api, GOOD), wanted))
    assert answer.status_code == 201, answer.text
    version = answer.json()
    assert version["name"] == wanted and version["template_id"] == template["id"]
    assert version["job"]["status"] == "pending" and version["job"]["type"] == "template_version_import"
    done = wait_for_import(api, version)
    assert done["job"]["status"] == "succeeded" and "error" not in done["job"]
    logs = api.get(f"/api/v2/templateversions/{version['id']}/logs").json()
    assert "Detecting persistent resources" in {line["stage"] for line in logs}
    # Pushed inactive: found by name and listed, but the template's active version is unchanged.
    by_name = api.get(f"/api/v2/templates/{template['id']}/versions/{wanted}").json()
    assert by_name["id"] == version["id"]
    listed = [v["name"] for v in api.get(f"/api/v2/templates/{template['id']}/versions").json()]
    assert listed[0] == "v1" and wanted in listed
    assert api.get(f"/api/v2/templates/{template['id']}").json()["active_version_id"] == template["active_version_id"]


def test_a_duplicate_name_for_the_template_conflicts(api: httpx.Client, template: dict[str, Any]) -> None:
    body = request(template, upload(api, GOOD), name())
    assert create(api, body).status_code == 201
    again = create(api, body)
    assert again.status_code == 409
    assert again.json() == {
        "message": f'A template version with name "{body["name"]}" already exists for this template.',
        "validations": [{"field": "name", "detail": "This value is already in use and should be unique."}],
    }


def test_a_version_request_is_checked_as_coderd_checks_it(api: httpx.Client, template: dict[str, Any]) -> None:
    file_id = upload(api, GOOD)
    unknown_file = create(api, request(template, str(uuid.uuid4()), name()))
    assert unknown_file.status_code == 404 and unknown_file.json() == {"message": "File not found."}
    unknown_template = create(api, request(template, file_id, name()) | {"template_id": str(uuid.uuid4())})
    assert unknown_template.status_code == 404 and unknown_template.json() == {"message": "Template does not exist."}
    invalid = create(api, {"name": "bad name", "file_id": file_id, "storage_method": "s3", "provisioner": "terraform"})
    assert invalid.status_code == 400 and invalid.json()["message"] == "Validation failed."
    assert {v["field"] for v in invalid.json()["validations"]} == {"name", "storage_method"}
    not_a_uuid = create(api, request(template, "abc", name()))
    assert not_a_uuid.status_code == 400 and not_a_uuid.json()["message"] == "Request body must be valid JSON."
    unclosed = create(api, request(template, upload(api, {"main.tf": 'resource "a" "b" {\n'}), name()))
    assert unclosed.status_code == 500
    assert unclosed.json()["detail"].startswith("parse module: main.tf:1,18-19: Unclosed configuration block")


def test_a_version_is_promoted_only_when_its_import_succeeded(api: httpx.Client, template: dict[str, Any]) -> None:
    failed = wait_for_import(api, create(api, request(template, upload(api, NOTHING_TO_PLAN), name())).json())
    assert failed["job"]["status"] == "failed"
    assert failed["job"]["error"] == "template import provision for start: terraform plan: exit status 1"
    refused = api.patch(f"/api/v2/templates/{template['id']}/versions", json={"id": failed["id"]})
    assert refused.status_code == 403
    assert refused.json() == {
        "message": "Only versions that have been built successfully can be promoted.",
        "detail": "Attempted to promote a version with a failed build",
    }
    unknown = api.patch(f"/api/v2/templates/{template['id']}/versions", json={"id": str(uuid.uuid4())})
    assert unknown.status_code == 404 and unknown.json() == {"message": "Template version not found."}
    other = api.get("/api/v2/organizations/default/templates/ameide-gitops").json()
    foreign = api.patch(f"/api/v2/templates/{template['id']}/versions", json={"id": other["active_version_id"]})
    assert foreign.status_code == 400
    assert foreign.json() == {"message": "The provided template version doesn't belong to the specified template."}
    good = wait_for_import(api, create(api, request(template, upload(api, GOOD), name())).json())
    try:
        promoted = api.patch(f"/api/v2/templates/{template['id']}/versions", json={"id": good["id"]})
        assert promoted.status_code == 200 and promoted.json() == {"message": "Updated the active template version!"}
        assert api.get(f"/api/v2/templates/{template['id']}").json()["active_version_id"] == good["id"]
    finally:
        api.patch(f"/api/v2/templates/{template['id']}/versions", json={"id": template["active_version_id"]})


def test_no_workspace_is_built_from_a_version_whose_import_failed(api: httpx.Client, template: dict[str, Any]) -> None:
    failed = wait_for_import(api, create(api, request(template, upload(api, NOTHING_TO_PLAN), name())).json())
    answer = api.post("/api/v2/users/me/workspaces", json={"name": "from-failed", "template_version_id": failed["id"]})
    assert answer.status_code == 400
    assert answer.json()["message"] == (
        f'The provided template version "{failed["name"]}" has failed to import: '
        '"template import provision for start: terraform plan: exit status 1". You cannot build workspaces with it!'
    )


def wait_for_build(api: httpx.Client, workspace: dict[str, Any]) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        workspace = api.get(f"/api/v2/workspaces/{workspace['id']}").json()
        if workspace["latest_build"]["job"]["status"] in ("succeeded", "failed"):
            return workspace
        time.sleep(0.05)
    raise AssertionError("the build never ended")


def test_a_pushed_version_builds_workspaces_and_one_naming_an_unpullable_image_fails(
    own_lab: Lab, api: httpx.Client, admin_kube: kube_client.CoreV1Api
) -> None:
    good = push_version(own_lab.env, "ameide-dev", GOOD, name())
    broken = push_version(own_lab.env, "ameide-dev", UNPULLABLE, name())
    assert broken["job"]["status"] == "succeeded", "no plan pulls an image: the import itself succeeds"
    built = {}
    for version in (good, broken):
        body = {"name": f"ws-{uuid.uuid4().hex[:6]}", "template_version_id": version["id"]}
        built[version["name"]] = wait_for_build(api, api.post("/api/v2/users/me/workspaces", json=body).json())
    ok, failed = built[good["name"]], built[broken["name"]]
    assert ok["latest_build"]["status"] == "running" and ok["latest_build"]["template_version_id"] == good["id"]
    assert ok["outdated"] is True  # built from a version that is not (yet) the active one
    assert failed["latest_build"]["status"] == "failed"
    assert failed["latest_build"]["job"]["error"] == "terraform apply: exit status 1"
    logs = api.get(f"/api/v2/workspacebuilds/{failed['latest_build']['id']}/logs").json()
    assert any("ImagePullBackOff" in line["output"] for line in logs if line["log_level"] == "error")
    namespace = f"ameide-ws-{failed['id']}"
    events = {(e.reason, e.type) for e in admin_kube.list_namespaced_event(namespace).items}
    assert {("Failed", "Warning"), ("BackOff", "Normal")} <= events
    for workspace in (ok, failed):
        api.post(f"/api/v2/workspaces/{workspace['id']}/builds", json={"transition": "delete"}).raise_for_status()


def test_the_stand_in_cli_pushes_inactive_and_promotes(own_lab: Lab, api: httpx.Client, tmp_path: Path) -> None:
    env = os.environ | {"CODER_URL": own_lab.url, "CODER_SESSION_TOKEN": own_lab.token}
    cli = own_lab.env["CODER_CLI"]
    (tmp_path / "main.tf").write_text(GOOD["main.tf"])
    wanted = name()
    pushed = subprocess.run(
        [cli, "templates", "push", "ameide-dev", "-d", str(tmp_path), "--activate=false", "--name", wanted, "-y"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert pushed.returncode == 0, pushed.stderr
    template = api.get("/api/v2/organizations/default/templates/ameide-dev").json()
    version = api.get(f"/api/v2/templates/{template['id']}/versions/{wanted}").json()
    assert template["active_version_id"] != version["id"]
    promote = [cli, "templates", "versions", "promote", "--template=ameide-dev", f"--template-version={wanted}"]
    try:
        promoted = subprocess.run(promote, capture_output=True, text=True, env=env, timeout=30)
        assert promoted.returncode == 0, promoted.stderr
        assert f'Successfully promoted version "{wanted}" to active for template "ameide-dev"' in promoted.stdout
        assert api.get(f"/api/v2/templates/{template['id']}").json()["active_version_id"] == version["id"]
    finally:
        api.patch(f"/api/v2/templates/{template['id']}/versions", json={"id": template["active_version_id"]})
    with pytest.raises(TemplateCommandError, match=r"terraform plan: exit status 1\b"):
        push_version(own_lab.env, "ameide-dev", NOTHING_TO_PLAN, name())
