"""GitHub's REST API (docs.github.com/rest; GitHub Enterprise Server 3.19's description, npm `@octokit/openapi`)
on the git host under /api/v3: the subset PyGithub uses for the E2E flow, and the answers the GitHub CLI reads
from it (`gh api user`, the API root with the token's scopes, `/meta`); the JSON it shares with the GraphQL API
is render.py's.

Errors carry GitHub's body `{"message", "documentation_url", "status"}` (plus `errors` on a 422).
Faults: `pr-forbidden` (creating a pull request answers 403), `repo-missing` (through the git host).
"""

from __future__ import annotations

import base64
import json
import logging
import math
from typing import Any

from aiohttp import web

from lab.faults import PR_FORBIDDEN
from lab.github.githost import NAME
from lab.github.gitrepo import BareRepo
from lab.github.render import GHES_VERSION, PREFIX, Urls, pull_json, repo_json_of, respond, viewer
from lab.github.state import (
    DOCS,
    PULLS_DOCS,
    GitHub,
    GitHubError,
    Json,
    github,
    invalid,
    not_found,
    now,
    pull_error,
    ref_node_id,
)

log = logging.getLogger("lab.github")
routes = web.RouteTableDef()
REPO = f"{PREFIX}/repos/{{owner:{NAME}}}/{{repo:{NAME}}}"
REFS_DOCS = f"{DOCS}/git/refs"
PER_PAGE, MAX_PER_PAGE = 30, 100
EMPTY_TREE = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"


def _repo(request: web.Request) -> tuple[str, str, BareRepo]:
    owner, name = request.match_info["owner"], request.match_info["repo"]
    return owner, name, github(request).repo(owner, name)


def _page(request: web.Request, items: list[Any]) -> tuple[list[Any], dict[str, str]]:
    """One page of `items` and its Link header, as GitHub paginates (`per_page`, `page`)."""
    try:
        per_page = min(max(int(request.query.get("per_page", PER_PAGE)), 1), MAX_PER_PAGE)
        page = max(int(request.query.get("page", 1)), 1)
    except ValueError:
        per_page, page = PER_PAGE, 1
    last = max(math.ceil(len(items) / per_page), 1)
    links = []

    def link(number: int, rel: str) -> str:
        return f'<{request.url.update_query(per_page=per_page, page=number)}>; rel="{rel}"'

    if page < last:
        links += [link(page + 1, "next"), link(last, "last")]
    if page > 1:
        links += [link(1, "first"), link(page - 1, "prev")]
    headers = {"Link": ", ".join(links)} if links else {}
    return items[(page - 1) * per_page : page * per_page], headers


async def _json_body(request: web.Request) -> Json:
    try:
        body = json.loads(await request.text() or "{}")
    except ValueError as error:
        raise GitHubError(400, "Problems parsing JSON") from error
    if not isinstance(body, dict):
        raise GitHubError(400, "Problems parsing JSON")
    return body


@routes.get(PREFIX)
@routes.get(f"{PREFIX}/")
async def get_root(request: web.Request) -> web.Response:
    """The API root: a map of URL templates (`root`); clients such as the GitHub CLI read its headers."""
    api, web_base = Urls(request).api, Urls(request).web
    search = "{&page,per_page,sort,order}"
    return respond(
        {
            "current_user_url": f"{api}/user",
            "current_user_authorizations_html_url": f"{web_base}/settings/connections/applications{{/client_id}}",
            "authorizations_url": f"{api}/authorizations",
            "code_search_url": f"{api}/search/code?q={{query}}{search}",
            "commit_search_url": f"{api}/search/commits?q={{query}}{search}",
            "emails_url": f"{api}/user/emails",
            "emojis_url": f"{api}/emojis",
            "events_url": f"{api}/events",
            "feeds_url": f"{api}/feeds",
            "followers_url": f"{api}/user/followers",
            "following_url": f"{api}/user/following{{/target}}",
            "gists_url": f"{api}/gists{{/gist_id}}",
            "hub_url": f"{api}/hub",
            "issue_search_url": f"{api}/search/issues?q={{query}}{search}",
            "issues_url": f"{api}/issues",
            "keys_url": f"{api}/user/keys",
            "label_search_url": f"{api}/search/labels?q={{query}}&repository_id={{repository_id}}{{&page,per_page}}",
            "notifications_url": f"{api}/notifications",
            "organization_url": f"{api}/orgs/{{org}}",
            "organization_repositories_url": f"{api}/orgs/{{org}}/repos{{?type,page,per_page,sort}}",
            "organization_teams_url": f"{api}/orgs/{{org}}/teams",
            "public_gists_url": f"{api}/gists/public",
            "rate_limit_url": f"{api}/rate_limit",
            "repository_url": f"{api}/repos/{{owner}}/{{repo}}",
            "repository_search_url": f"{api}/search/repositories?q={{query}}{search}",
            "current_user_repositories_url": f"{api}/user/repos{{?type,page,per_page,sort}}",
            "starred_url": f"{api}/user/starred{{/owner}}{{/repo}}",
            "starred_gists_url": f"{api}/gists/starred",
            "topic_search_url": f"{api}/search/topics?q={{query}}{{&page,per_page}}",
            "user_url": f"{api}/users/{{user}}",
            "user_organizations_url": f"{api}/user/orgs",
            "user_repositories_url": f"{api}/users/{{user}}/repos{{?type,page,per_page,sort}}",
            "user_search_url": f"{api}/search/users?q={{query}}{search}",
        }
    )


@routes.get(f"{PREFIX}/meta")
async def get_meta(_request: web.Request) -> web.Response:
    """GitHub Enterprise Server's meta information (`api-overview`): the GitHub CLI reads `installed_version`
    to tell which features the server has."""
    return respond({"verifiable_password_authentication": True, "installed_version": GHES_VERSION})


@routes.get(f"{PREFIX}/user")
async def get_user(request: web.Request) -> web.Response:
    user = viewer(request)
    return respond(Urls(request).profile(user, _public_repos(request, user.login), private=True))


@routes.get(f"{PREFIX}/users/{{username:{NAME}}}")
async def get_user_by_name(request: web.Request) -> web.Response:
    """An account the API names elsewhere (a pull request's user, a repository's owner): PyGithub fetches
    it when a lazy attribute is read."""
    found = github(request).account(request.match_info["username"])
    if found is None:
        raise not_found(f"{DOCS}/users/users#get-a-user")
    return respond(Urls(request).profile(found, _public_repos(request, found.login)))


def _public_repos(request: web.Request, login: str) -> int:
    return len(github(request).githost.repo_names(login))


@routes.get(REPO)
async def get_repo(request: web.Request) -> web.Response:
    owner, name, _ = _repo(request)
    return respond(repo_json_of(Urls(request), github(request), owner, name, full=True))


@routes.get(f"{REPO}/branches")
async def list_branches(request: web.Request) -> web.Response:
    owner, name, repo = _repo(request)
    api = f"{Urls(request).api}/repos/{owner}/{name}"
    branches = [
        {"name": branch, "commit": {"sha": sha, "url": f"{api}/commits/{sha}"}, "protected": False}
        for branch, sha in (await repo.branches()).items()
    ]
    page, headers = _page(request, branches)
    return respond(page, headers=headers)


@routes.get(f"{REPO}/branches/{{branch:.+}}")
async def get_branch(request: web.Request) -> web.Response:
    """`branch-with-protection`: the branch's commit in full, and no protection."""
    owner, name, repo = _repo(request)
    branch = request.match_info["branch"]
    sha = await repo.branch_sha(branch)
    found = await repo.commit(sha) if sha else None
    if found is None:
        raise GitHubError(404, "Branch not found", f"{DOCS}/branches/branches#get-a-branch")
    urls = Urls(request)
    url = f"{urls.api}/repos/{owner}/{name}/branches/{branch}"
    return respond(
        {
            "name": branch,
            "commit": urls.commit(owner, name, github(request).repo_id(owner, name), found),
            "_links": {"self": url, "html": f"{urls.web}/{owner}/{name}/tree/{branch}"},
            "protected": False,
            "protection": {
                "enabled": False,
                "required_status_checks": {"enforcement_level": "off", "contexts": [], "checks": []},
            },
            "protection_url": f"{url}/protection",
        }
    )


@routes.get(f"{REPO}/commits/{{sha:[0-9a-f]{{7,40}}}}")
async def get_commit(request: web.Request) -> web.Response:
    """GET /repos/{o}/{r}/commits/{sha}: PyGithub reads a branch's commit date through it."""
    owner, name, repo = _repo(request)
    found = await repo.commit(request.match_info["sha"])
    if found is None:
        raise GitHubError(422, f"No commit found for SHA: {request.match_info['sha']}", f"{DOCS}/commits/commits")
    urls = Urls(request)
    body = urls.commit(owner, name, github(request).repo_id(owner, name), found)
    parents = found["parents"].split()
    # A root commit's diff is against the empty tree.
    changes = await repo.changes(parents[0] if parents else EMPTY_TREE, found["sha"])
    additions, deletions = sum(c.additions for c in changes), sum(c.deletions for c in changes)
    body["stats"] = {"total": additions + deletions, "additions": additions, "deletions": deletions}
    body["files"] = [urls.file(owner, name, found["sha"], change) for change in changes]
    return respond(body)


@routes.get(f"{REPO}/readme")
async def get_readme(request: web.Request) -> web.Response:
    """The repository's README (`content-file`, base64 in lines of 60 as GitHub sends it): the first file at
    the top of the tree whose name, case aside, is README or README.<ext>."""
    owner, name, repo = _repo(request)
    ref = request.query.get("ref") or "main"
    docs = f"{DOCS}/repos/contents#get-a-repository-readme"
    candidates = [p for p in await repo.tree_paths(ref) if p.lower() == "readme" or p.lower().startswith("readme.")]
    found = await repo.file(ref, candidates[0]) if candidates else None
    if found is None:
        raise not_found(docs)
    path, (sha, data) = candidates[0], found
    urls = Urls(request)
    api = f"{urls.api}/repos/{owner}/{name}"
    encoded = base64.b64encode(data).decode()
    content = "".join(f"{encoded[i : i + 60]}\n" for i in range(0, len(encoded), 60))
    self_url = f"{api}/contents/{path}?ref={ref}"
    html = f"{urls.web}/{owner}/{name}/blob/{ref}/{path}"
    git_url = f"{api}/git/blobs/{sha}"
    return respond(
        {
            "name": path,
            "path": path,
            "sha": sha,
            "size": len(data),
            "url": self_url,
            "html_url": html,
            "git_url": git_url,
            "download_url": f"{urls.web}/{owner}/{name}/raw/{ref}/{path}",
            "type": "file",
            "content": content,
            "encoding": "base64",
            "_links": {"self": self_url, "git": git_url, "html": html},
        }
    )


@routes.get(f"{REPO}/pulls")
async def list_pulls(request: web.Request) -> web.Response:
    owner, name, repo = _repo(request)
    state = request.query.get("state", "open")
    head, base = request.query.get("head", ""), request.query.get("base", "")
    pulls = []
    for pull in reversed(github(request).pulls(owner, name)):  # newest first (sort=created, desc)
        if state != "all" and pull.state != state:
            continue
        if head and head not in (f"{owner}:{pull.head}", pull.head):
            continue
        if base and base != pull.base:
            continue
        pulls.append(pull)
    page, headers = _page(request, pulls)
    urls = Urls(request)
    return respond([await pull_json(urls, github(request), repo, p, full=False) for p in page], headers=headers)


@routes.post(f"{REPO}/pulls")
async def create_pull(request: web.Request) -> web.Response:
    owner, name, repo = _repo(request)
    docs = f"{PULLS_DOCS}#create-a-pull-request"
    state = github(request)
    if state.faults.on(PR_FORBIDDEN):
        raise GitHubError(403, "Resource not accessible by integration", docs)
    body = await _json_body(request)
    for key in ("title", "head", "base"):
        if not isinstance(body.get(key), str) or not body[key]:
            raise invalid(docs, pull_error(code="missing_field", field=key))
    text = body.get("body")
    text = text if isinstance(text, str) else None
    pull = await state.open_pull(
        owner, name, str(body["head"]), str(body["base"]), str(body["title"]), text, viewer(request)
    )
    result = await pull_json(Urls(request), state, repo, pull)
    return respond(result, 201, headers={"Location": result["url"]})


@routes.get(f"{REPO}/pulls/{{number:[0-9]+}}")
async def get_pull(request: web.Request) -> web.Response:
    owner, name, repo = _repo(request)
    pull = github(request).pull(owner, name, int(request.match_info["number"]))
    return respond(await pull_json(Urls(request), github(request), repo, pull))


@routes.patch(f"{REPO}/pulls/{{number:[0-9]+}}")
async def edit_pull(request: web.Request) -> web.Response:
    owner, name, repo = _repo(request)
    pull = github(request).pull(owner, name, int(request.match_info["number"]))
    docs = f"{PULLS_DOCS}#update-a-pull-request"
    body = await _json_body(request)
    state = body.get("state")
    if state not in (None, "open", "closed"):
        raise invalid(docs, pull_error(field="state", code="invalid"))
    if state == "open" and pull.state == "closed" and await repo.branch_sha(pull.head) is None:
        message = f"state cannot be changed. The {pull.head} branch has been deleted."
        raise invalid(docs, pull_error(field="state", code="custom", message=message))
    if isinstance(body.get("title"), str):
        pull.title = body["title"]
    if "body" in body:
        pull.body = body["body"] if isinstance(body["body"], str) else None
    if state is not None and state != pull.state:
        pull.closed_at = now() if state == "closed" else None
        log.info("pull request %s/%s#%d %s", owner, name, pull.number, "closed" if pull.closed_at else "reopened")
    pull.updated_at = now()
    return respond(await pull_json(Urls(request), github(request), repo, pull))


@routes.get(f"{REPO}/pulls/{{number:[0-9]+}}/files")
async def pull_files(request: web.Request) -> web.Response:
    owner, name, repo = _repo(request)
    pull = github(request).pull(owner, name, int(request.match_info["number"]))
    await GitHub.refresh(repo, pull)
    urls = Urls(request)
    base = await repo.merge_base(pull.base_sha, pull.head_sha)
    changes = await repo.changes(base, pull.head_sha) if base else []
    page, headers = _page(request, [urls.file(owner, name, pull.head_sha, change) for change in changes])
    return respond(page, headers=headers)


@routes.get(f"{REPO}/pulls/{{number:[0-9]+}}/commits")
async def pull_commits(request: web.Request) -> web.Response:
    """The pull request's commits, oldest first (GitHub lists at most 250)."""
    owner, name, repo = _repo(request)
    state = github(request)
    pull = state.pull(owner, name, int(request.match_info["number"]))
    await GitHub.refresh(repo, pull)
    urls = Urls(request)
    base = await repo.merge_base(pull.base_sha, pull.head_sha)
    commits = (await repo.log(base, pull.head_sha))[:250] if base else []
    repo_id = state.repo_id(owner, name)
    page, headers = _page(request, [urls.commit(owner, name, repo_id, found) for found in commits])
    return respond(page, headers=headers)


# PyGithub reads .../git/ref/..., the ref's own url is .../git/refs/...
@routes.get(f"{REPO}/git/ref/heads/{{branch:.+}}")
@routes.get(f"{REPO}/git/refs/heads/{{branch:.+}}")
async def get_ref(request: web.Request) -> web.Response:
    owner, name, repo = _repo(request)
    branch = request.match_info["branch"]
    sha = await repo.branch_sha(branch)
    if sha is None:
        raise not_found(f"{REFS_DOCS}#get-a-reference")
    urls = Urls(request)
    return respond(
        {
            "ref": f"refs/heads/{branch}",
            "node_id": ref_node_id(github(request).repo_id(owner, name), f"refs/heads/{branch}"),
            "url": f"{urls.api}/repos/{owner}/{name}/git/refs/heads/{branch}",
            "object": {"sha": sha, "type": "commit", "url": f"{urls.api}/repos/{owner}/{name}/git/commits/{sha}"},
        }
    )


@routes.delete(f"{REPO}/git/ref/heads/{{branch:.+}}")
@routes.delete(f"{REPO}/git/refs/heads/{{branch:.+}}")
async def delete_ref(request: web.Request) -> web.Response:
    owner, name, repo = _repo(request)
    branch = request.match_info["branch"]
    if not await repo.delete_branch(branch):
        raise GitHubError(422, "Reference does not exist", f"{REFS_DOCS}#delete-a-reference")
    log.info("branch %s of %s/%s deleted", branch, owner, name)
    github(request).githost.pushed(owner, name)
    github(request).close_pulls_of(owner, name, branch)
    return web.Response(status=204)
