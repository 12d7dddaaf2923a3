"""The files that run the suite elsewhere (CI workflows, the image, the cluster manifests) pass their
linters, and the cluster role grants exactly the rights docs/live-deployment.md lists."""

import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yaml"))
MANIFESTS = sorted(p for p in (ROOT / "deploy").glob("*.yaml") if p.name != "kustomization.yaml")

sys.path.insert(0, str(ROOT / ".ci"))
from junit_summary import summarize  # noqa: E402


def run_linter(*command: str | Path) -> None:
    tool = Path(command[0])
    if not tool.exists():
        pytest.fail(f"{tool.name} is not installed in {BIN}: bin/setup --dev")
    done = subprocess.run([str(part) for part in command], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, f"{tool.name} found problems:\n{done.stdout}{done.stderr}"


def test_workflows_pass_actionlint():
    assert {p.name for p in WORKFLOWS} >= {
        "coder-devcontainer-smoke.yaml",
        "coder-devcontainer-e2e.yaml",
        "tests.yaml",
    }
    run_linter(BIN / "actionlint", "-no-color", *WORKFLOWS)


def test_dockerfile_passes_hadolint():
    run_linter(BIN / "hadolint", "--no-color", ROOT / "Dockerfile")


def test_manifests_pass_strict_kubernetes_validation():
    assert MANIFESTS
    run_linter(BIN / "kubernetes-validate", "--strict", "--quiet", *MANIFESTS)


def test_kustomization_lists_every_manifest_but_the_on_demand_job():
    kustomization = yaml.safe_load((ROOT / "deploy" / "kustomization.yaml").read_text())
    assert set(kustomization["resources"]) == {p.name for p in MANIFESTS} - {"job.yaml"}


def test_the_generated_config_maps_hold_existing_files_and_pass_strict_validation(tmp_path):
    """The alert rules and the dashboard reach the cluster as the ConfigMaps kustomize makes of them."""
    kustomization = yaml.safe_load((ROOT / "deploy" / "kustomization.yaml").read_text())
    generated = []
    for generator in kustomization["configMapGenerator"]:
        files = [ROOT / "deploy" / name for name in generator["files"]]
        assert all(path.is_file() for path in files), generator["files"]
        metadata = {"name": generator["name"], "namespace": generator["namespace"]}
        metadata["labels"] = generator["options"]["labels"]
        data = {path.name: path.read_text() for path in files}
        generated.append({"apiVersion": "v1", "kind": "ConfigMap", "metadata": metadata, "data": data})
    assert {path for item in generated for path in item["data"]} == {"workspace-spec.rules.yaml", "workspace-spec.json"}
    (tmp_path / "config-maps.yaml").write_text(yaml.safe_dump_all(generated))
    run_linter(BIN / "kubernetes-validate", "--strict", "--quiet", tmp_path / "config-maps.yaml")


def test_the_scheduled_smoke_pushes_its_metrics():
    cronjob = yaml.safe_load((ROOT / "deploy" / "cronjob.yaml").read_text())
    (container,) = cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"]
    env = {item["name"]: item.get("value") for item in container["env"]}
    assert env["SPEC_PUSHGATEWAY_URL"].startswith("http://")
    assert container["args"] == ["--tags=@smoke"]  # the alerts select tags="@smoke"


def documented_rights() -> set[tuple[str, str]]:
    page = (ROOT / "docs" / "live-deployment.md").read_text()
    section = page.split("## Rights in the cluster", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| `([a-z]+)` \| `([a-z/]+)` \|", section, flags=re.MULTILINE)
    assert rows, "docs/live-deployment.md: no rights table under 'Rights in the cluster'"
    return set(rows)


def test_cluster_role_grants_exactly_the_documented_rights():
    documents = list(yaml.safe_load_all((ROOT / "deploy" / "rbac.yaml").read_text()))
    (role,) = [d for d in documents if d["kind"] == "ClusterRole"]
    granted = set()
    for rule in role["rules"]:
        assert rule["apiGroups"] == [""], rule
        assert set(rule) == {"apiGroups", "resources", "verbs"}, rule
        granted |= {(verb, resource) for verb in rule["verbs"] for resource in rule["resources"]}
    assert granted == documented_rights()
    (binding,) = [d for d in documents if d["kind"] == "ClusterRoleBinding"]
    assert binding["roleRef"]["name"] == role["metadata"]["name"]
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "workspace-spec", "namespace": "workspace-spec"}]


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=lambda p: p.name)
def test_workflow_actions_are_pinned_and_secrets_stay_out_of_scripts(workflow):
    text = workflow.read_text()
    for line in re.findall(r"uses:.*", text):
        assert re.fullmatch(r"uses: [\w.-]+/[\w./-]+@[0-9a-f]{40} # v\d+\.\d+\.\d+", line), line
    parsed = yaml.safe_load(text)
    assert parsed["permissions"] == {"contents": "read"}
    for job in parsed["jobs"].values():
        for step in job["steps"]:
            assert "secrets." not in step.get("run", ""), step


def test_smoke_workflow_gives_no_secret_to_forks_and_promotes_through_the_suite_never_from_a_pull_request():
    parsed = yaml.safe_load((ROOT / ".github" / "workflows" / "coder-devcontainer-smoke.yaml").read_text())
    job = parsed["jobs"]["smoke"]
    assert "github.event.pull_request.head.repo.full_name == github.repository" in job["if"]
    steps = {step.get("name"): step for step in job["steps"]}
    push = steps["Push the template as an inactive version"]["run"]
    assert "--activate=false" in push and '--name "$TEMPLATE_VERSION"' in push
    smoke = steps["Smoke"]["env"]
    assert smoke["SPEC_TEMPLATE_VERSION"] == "${{ env.TEMPLATE_VERSION }}"
    # The suite promotes (after its own verdict and cleanup); nothing else in the workflow does.
    assert smoke["SPEC_PROMOTE_ON_PASS"] == "${{ github.event_name != 'pull_request' }}"
    assert not [name for name, step in steps.items() if "promote" in step.get("run", "")], "a second way to promote"
    assert "SPEC_PROMOTE_ON_PASS" not in steps["Preflight"]["env"]


def test_junit_summary_counts_and_quotes_failures(tmp_path):
    (tmp_path / "TESTS-x.xml").write_text(
        '<testsuite name="x"><testcase classname="app_proxy" name="ok"/>'
        '<testcase classname="app_proxy" name="bad"><failure message="502 | from `proxy`"/></testcase>'
        '<testcase classname="app_proxy" name="skip"><skipped/></testcase>'
        '<testcase classname="pull_request" name="codex"><skipped message="Codex is off"/></testcase></testsuite>'
    )
    summary = summarize(tmp_path)
    lines = summary.splitlines()
    assert "### workspace-spec: failed" in lines
    assert lines[lines.index("| passed | failed | errors | skipped |") + 2] == "| 1 | 1 | 0 | 2 |"
    assert "502 \\| from 'proxy'" in summary
    assert "| skipped | pull_request: codex | Codex is off |" in lines
    assert "No JUnit files" in summarize(tmp_path / "none")
