"""The lab's GitHub: the REST subset on the git host under /api/v3, driven with PyGithub and httpx, and
pushes with the real git; each fault's answer."""

from __future__ import annotations

import base64
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from github import Auth, Github, GithubException

from lab.faults import Faults
from lab.github import BOT, DEVELOPER, GitHub, install
from lab.github.githost import GitHost
from lab.github.smarthttp import git_app
from tests.helpers.git import git
from tests.helpers.serving import serving

BOT_TOKEN = "ghp_" + "b" * 36
LINKED_TOKEN = "gho_" + "e" * 36
REPO = "ameideio/workspace-spec-sandbox"
README = "# sandbox\n\none\ntwo\nthree\n"


class Host:
    def __init__(self, base: str, faults: Faults, tmp_path: Path) -> None:
        self.base = base
        self.api = f"{base}/api/v3"
        self.faults = faults
        self.tmp_path = tmp_path
        self.url = f"{base}/{REPO}.git"

    def github(self, token: str = BOT_TOKEN) -> Github:
        # No throttling: PyGithub spaces requests (0.25 s) and writes (1 s) out for github.com's sake.
        return Github(
            base_url=self.api, auth=Auth.Token(token), retry=None, seconds_between_requests=0, seconds_between_writes=0
        )

    def http(self, token: str = BOT_TOKEN) -> httpx.Client:
        return httpx.Client(base_url=self.api, headers={"Authorization": f"token {token}"}, timeout=10)

    def branch(self, name: str, change: str | None = "appended\n", token: str = LINKED_TOKEN) -> Path:
        """A clone with branch `name` (one commit appending `change` to README.md, or none), pushed."""
        work = self.tmp_path / f"work-{name.replace('/', '-')}"
        assert git("clone", self.url, str(work), cwd=self.tmp_path).returncode == 0
        git("checkout", "-b", name, cwd=work)
        if change is not None:
            with (work / "README.md").open("a") as readme:
                readme.write(change)
            assert git("commit", "-am", f"Change on {name}", cwd=work).returncode == 0
        pushed = git("push", "origin", name, cwd=work, token=token)
        assert pushed.returncode == 0, pushed.stderr
        return work


@pytest.fixture
def host(tmp_path: Path) -> Iterator[Host]:
    faults = Faults()
    githost = GitHost(tmp_path / "repos", [BOT_TOKEN, LINKED_TOKEN], faults)
    githost.create_repo("ameideio", "ameide", {"README.md": "# ameide\n"})
    githost.create_repo("ameideio", "workspace-spec-sandbox", {"README.md": README}, bot_writable=True)
    app = git_app(githost)
    install(app, GitHub(githost, faults, {BOT_TOKEN: BOT, LINKED_TOKEN: DEVELOPER}))
    with serving(app) as base:
        githost.base_url = base
        yield Host(base, faults, tmp_path)


def remote_branches(host: Host) -> set[str]:
    listed = git("ls-remote", "--heads", host.url, cwd=host.tmp_path).stdout.split()
    return {ref.removeprefix("refs/heads/") for ref in listed[1::2]}


def test_pull_request_flow_with_pygithub(host: Host) -> None:
    work = host.branch("spec/e2e-1")
    gh = host.github()
    assert gh.get_user().login == "ameide-bot"
    repo = gh.get_repo(REPO)
    assert (repo.full_name, repo.default_branch, repo.owner.login, repo.private) == (REPO, "main", "ameideio", False)
    assert repo.clone_url == host.url and repo.html_url == f"{host.base}/{REPO}"
    assert sorted(b.name for b in repo.get_branches()) == ["main", "spec/e2e-1"]
    assert repo.get_branch("spec/e2e-1").commit.sha == git("rev-parse", "HEAD", cwd=work).stdout.strip()

    pull = repo.create_pull(title="Spec run 1", body="From the lab", head="spec/e2e-1", base="main")
    assert (pull.number, pull.state, pull.merged, pull.title) == (1, "open", False, "Spec run 1")
    assert pull.body == "From the lab"
    assert (pull.head.ref, pull.head.label, pull.base.ref, pull.base.label) == (
        "spec/e2e-1",
        "ameideio:spec/e2e-1",
        "main",
        "ameideio:main",
    )
    assert pull.html_url == f"{host.base}/{REPO}/pull/1" and pull.user.login == "ameide-bot"
    assert (pull.commits, pull.additions, pull.deletions, pull.changed_files) == (1, 1, 0, 1)

    (changed,) = repo.get_pull(1).get_files()
    assert (changed.filename, changed.status, changed.additions, changed.deletions, changed.changes) == (
        "README.md",
        "modified",
        1,
        0,
        1,
    )
    assert changed.patch == "@@ -3,3 +3,4 @@\n one\n two\n three\n+appended"
    assert [p.number for p in repo.get_pulls(state="open", head="ameideio:spec/e2e-1")] == [1]
    assert [p.number for p in repo.get_pulls(state="open", head="ameideio:other")] == []

    pull.edit(state="closed")
    assert repo.get_pull(1).state == "closed" and repo.get_pull(1).closed_at is not None
    assert list(repo.get_pulls(state="open")) == []
    assert [p.number for p in repo.get_pulls(state="closed", base="main")] == [1]

    repo.get_git_ref("heads/spec/e2e-1").delete()
    assert remote_branches(host) == {"main"}  # really gone from the bare repository
    with pytest.raises(GithubException) as missing:
        repo.get_git_ref("heads/spec/e2e-1")
    assert missing.value.status == 404
    assert [f.filename for f in repo.get_pull(1).get_files()] == ["README.md"]  # the pull keeps its head


def test_github_errors(host: Host) -> None:
    host.branch("spec/twice")
    host.branch("spec/empty", change=None)
    repo = host.github().get_repo(REPO)

    def create_error(head: str) -> dict:
        with pytest.raises(GithubException) as failed:
            repo.create_pull(title="t", body="", head=head, base="main")
        assert (failed.value.status, failed.value.data["message"]) == (422, "Validation Failed")
        return failed.value.data["errors"][0]

    assert create_error("spec/none") == {"resource": "PullRequest", "field": "head", "code": "invalid"}
    assert create_error("spec/empty")["message"] == "No commits between main and spec/empty"
    repo.create_pull(title="t", body="", head="spec/twice", base="main")
    assert create_error("ameideio:spec/twice")["message"] == "A pull request already exists for ameideio:spec/twice."

    with host.http() as http:
        gone = http.delete(f"/repos/{REPO}/git/refs/heads/spec/none")
        assert (gone.status_code, gone.json()["message"]) == (422, "Reference does not exist")
        deleted = http.delete(f"/repos/{REPO}/git/refs/heads/spec/twice")
        assert deleted.status_code == 204 and "spec/twice" not in remote_branches(host)
        assert http.get(f"/repos/{REPO}/pulls/1").json()["state"] == "closed"  # its head went away
        assert http.get(f"/repos/{REPO}/branches/nope").json()["message"] == "Branch not found"
        assert http.get(f"/repos/{REPO}/pulls/99").status_code == 404
        assert http.get("/repos/ameideio/nope").json()["message"] == "Not Found"
        page = http.get(f"/repos/{REPO}/branches", params={"per_page": 1})
        assert len(page.json()) == 1 and 'rel="next"' in page.headers["Link"]
    for headers in ({}, {"Authorization": "token ghp_wrong"}, {"Authorization": f"Basic {BOT_TOKEN}"}):
        denied = httpx.get(f"{host.api}/user", headers=headers)
        assert denied.status_code == 401
        assert denied.json() == {
            "message": "Bad credentials",
            "documentation_url": "https://docs.github.com/rest",
            "status": "401",
        }
    for token in (BOT_TOKEN, LINKED_TOKEN):
        assert httpx.get(f"{host.api}/user", headers={"Authorization": f"Bearer {token}"}).status_code == 200


def test_pr_forbidden_fault(host: Host) -> None:
    host.branch("spec/forbidden")
    host.faults.replace(["pr-forbidden"])
    repo = host.github().get_repo(REPO)
    with pytest.raises(GithubException) as forbidden:
        repo.create_pull(title="t", body="", head="spec/forbidden", base="main")
    assert (forbidden.value.status, forbidden.value.data["message"]) == (403, "Resource not accessible by integration")
    assert list(repo.get_pulls(state="all")) == []


def test_push_rejected_fault(host: Host) -> None:
    work = host.branch("spec/first", token=BOT_TOKEN)  # both tokens push
    wrong = git("push", "origin", "spec/first:spec/wrong", cwd=work, token="ghp_not-issued")
    assert wrong.returncode != 0 and "spec/wrong" not in remote_branches(host)
    host.faults.replace(["push-rejected"])
    git("commit", "--allow-empty", "-m", "more", cwd=work)
    refused = git("push", "origin", "spec/first", "spec/first:spec/second", cwd=work, token=LINKED_TOKEN)
    assert refused.returncode == 1
    assert "remote: error: GH006: Protected branch update failed for refs/heads/spec/second." in refused.stderr
    assert "! [remote rejected] spec/first -> spec/first (protected branch hook declined)" in refused.stderr
    assert remote_branches(host) == {"main", "spec/first"}
    head = git("rev-parse", "HEAD~1", cwd=work).stdout.split()
    assert git("ls-remote", host.url, "refs/heads/spec/first", cwd=work).stdout.split()[0] == head[0]


def test_repo_missing_fault(host: Host) -> None:
    host.faults.replace(["repo-missing"])
    cloned = git("clone", host.url, "gone", cwd=host.tmp_path)
    assert cloned.returncode == 128 and "not found" in cloned.stderr
    with pytest.raises(GithubException) as missing:
        host.github().get_repo(REPO)
    assert (missing.value.status, missing.value.data["message"]) == (404, "Not Found")
    assert host.github().get_repo("ameideio/ameide").name == "ameide"  # only the bot-writable one is gone
    host.faults.replace([])
    assert subprocess.run(["git", "ls-remote", host.url], capture_output=True, check=False).returncode == 0


def graphql(host: Host, query: str, token: str = BOT_TOKEN, **variables: object) -> dict:
    with host.http(token) as http:
        answer = http.post(f"{host.base}/api/graphql", json={"query": query, "variables": variables}).json()
    assert "errors" not in answer, answer["errors"]
    return answer["data"]


def test_one_object_one_node_id_in_both_apis(host: Host) -> None:
    host.branch("spec/ids")
    repo = host.github().get_repo(REPO)
    pull = repo.create_pull(title="t", body="", head="spec/ids", base="main")
    found = graphql(
        host,
        'query($n: Int!) { viewer { id } repository(owner: "ameideio", name: "workspace-spec-sandbox") {'
        " id owner { id } pullRequest(number: $n) { id author { ... on User { id } } } } }",
        n=pull.number,
    )
    assert found["repository"]["id"] == repo.node_id and found["repository"]["owner"]["id"] == repo.owner.node_id
    assert found["repository"]["pullRequest"]["id"] == pull.node_id
    assert found["viewer"]["id"] == found["repository"]["pullRequest"]["author"]["id"] == pull.user.node_id
    node = graphql(
        host, "query($id: ID!) { node(id: $id) { ... on PullRequest { number headRefName } } }", id=pull.node_id
    )
    assert node["node"] == {"number": pull.number, "headRefName": "spec/ids"}

    # Two branches at one commit are two refs; the commit is a third object.
    host.branch("spec/ids-twin", change=None)  # main's commit
    main, twin = repo.get_git_ref("heads/main"), repo.get_git_ref("heads/spec/ids-twin")
    assert main.object.sha == twin.object.sha and main.node_id != twin.node_id
    refs = graphql(
        host,
        '{ repository(owner: "ameideio", name: "workspace-spec-sandbox") {'
        ' main: ref(qualifiedName: "refs/heads/main") { id target { id oid } }'
        ' twin: ref(qualifiedName: "refs/heads/spec/ids-twin") { id } } }',
    )["repository"]
    assert (refs["main"]["id"], refs["twin"]["id"]) == (main.node_id, twin.node_id)
    assert refs["main"]["target"]["oid"] == main.object.sha
    assert refs["main"]["target"]["id"] == repo.get_commit(main.object.sha).raw_data["node_id"] != main.node_id


def test_cursors_page_through_a_connection(host: Host) -> None:
    repo = host.github().get_repo(REPO)
    for n in range(3):
        host.branch(f"spec/page-{n}")
        repo.create_pull(title=f"p{n}", body="", head=f"spec/page-{n}", base="main")
    query = (
        'query($after: String) { repository(owner: "ameideio", name: "workspace-spec-sandbox") {'
        " pullRequests(first: 2, after: $after) { totalCount nodes { number }"
        " pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } } }"
    )
    first = graphql(host, query, after=None)["repository"]["pullRequests"]
    assert [n["number"] for n in first["nodes"]] == [1, 2] and first["totalCount"] == 3
    assert first["pageInfo"]["hasNextPage"] and first["pageInfo"]["endCursor"]
    rest = graphql(host, query, after=first["pageInfo"]["endCursor"])["repository"]["pullRequests"]
    assert [n["number"] for n in rest["nodes"]] == [3]
    assert (rest["pageInfo"]["hasNextPage"], rest["pageInfo"]["hasPreviousPage"]) == (False, True)
    with host.http() as http:
        unbounded = http.post(
            f"{host.base}/api/graphql",
            json={
                "query": '{ repository(owner: "ameideio", name: "workspace-spec-sandbox") {'
                " pullRequests { nodes { number } } } }"
            },
        ).json()
    assert unbounded["errors"][0]["type"] == "MISSING_PAGINATION_BOUNDARIES"


def test_mergeable_is_computed_shortly_after(host: Host) -> None:
    work = host.branch("spec/clean")
    repo = host.github().get_repo(REPO)
    pull = repo.create_pull(title="t", body="", head="spec/clean", base="main")
    assert (pull.mergeable, pull.mergeable_state) == (None, "unknown")  # not known yet as it opens

    def settled(number: int) -> tuple[bool | None, str]:
        deadline = time.monotonic() + 5
        while (found := repo.get_pull(number)).mergeable is None and time.monotonic() < deadline:
            time.sleep(0.05)
        return found.mergeable, found.mergeable_state

    assert settled(pull.number) == (True, "clean")
    state = '{ repository(owner: "ameideio", name: "workspace-spec-sandbox") {'
    state += " pullRequest(number: %d) { mergeable mergeStateStatus } } }"
    assert graphql(host, state % pull.number)["repository"]["pullRequest"] == {
        "mergeable": "MERGEABLE",
        "mergeStateStatus": "CLEAN",
    }
    # main moves under the same line: the branch now conflicts.
    git("checkout", "-b", "other", "origin/main", cwd=work)
    (work / "README.md").write_text(README.replace("three", "THREE") + "other\n")
    git("commit", "-am", "conflicting", cwd=work)
    assert git("push", "origin", "other:main", cwd=work, token=LINKED_TOKEN).returncode == 0
    assert settled(pull.number) == (False, "dirty")
    assert graphql(host, state % pull.number)["repository"]["pullRequest"]["mergeable"] == "CONFLICTING"


def test_repository_urls_push_time_users_and_enterprise_version(host: Host) -> None:
    hostname = "127.0.0.1"
    with host.http() as http:
        repo = http.get(f"/repos/{REPO}")
        assert repo.headers["X-GitHub-Enterprise-Version"] == "3.19.0"
        body = repo.json()
        assert body["ssh_url"] == f"git@{hostname}:{REPO}.git"  # scp form: no room for a port
        assert body["git_url"] == f"git://{hostname}/{REPO}.git"
        assert body["clone_url"] == host.url
        before = body["pushed_at"]
        assert http.get("/meta").json()["installed_version"] == "3.19.0"
        assert httpx.get(f"{host.api}/meta").status_code == 200  # GHES answers it without a token
        assert http.get("/users/ameide-bot").json()["name"] == "Ameide Bot"
        assert http.get("/users/nobody").status_code == 404
        readme = http.get(f"/repos/{REPO}/readme").json()
        assert base64.b64decode(readme["content"]).decode() == README and readme["path"] == "README.md"
    time.sleep(1.1)  # timestamps are whole seconds
    host.branch("spec/pushed")
    with host.http() as http:
        assert http.get(f"/repos/{REPO}").json()["pushed_at"] > before
    gh = host.github(LINKED_TOKEN)
    assert gh.get_user().login == "lab-admin"  # the external-auth token is the developer's, not the bot's
    assert graphql(host, "{ viewer { login } }", token=LINKED_TOKEN)["viewer"]["login"] == "lab-admin"
    named = host.github().get_repo(REPO).get_pulls(state="all")
    assert all(p.user.name for p in named)  # a lazy attribute: GET /users/{login}
