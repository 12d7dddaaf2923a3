"""GitHub's REST API (docs.github.com/rest) on the git host under /api/v3: the subset PyGithub uses for
the E2E flow, and the answers the GitHub CLI reads from it (`gh api user`, the API root with the token's
scopes); the JSON it shares with the GraphQL API is render.py's.

Errors carry GitHub's body `{"message", "documentation_url", "status"}` (plus `errors` on a 422).
Faults: `pr-forbidden` (creating a pull request answers 403), `repo-missing` (through the git host).
"""

from __future__ import annotations

import json
import logging
import math
from typing import Any

from aiohttp import web

from lab.faults import PR_FORBIDDEN
from lab.github.githost import NAME
from lab.github.gitrepo import BareRepo
from lab.github.render import PREFIX, Urls, pull_json, repo_json_of, respond
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
)

log = logging.getLogger("lab.github")
routes = web.RouteTableDef()
REPO = f"{PREFIX}/repos/{{owner:{NAME}}}/{{repo:{NAME}}}"
REFS_DOCS = f"{DOCS}/git/refs"
PER_PAGE, MAX_PER_PAGE = 30, 100


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
    """The API root: a map of URL templates (clients such as the GitHub CLI read its headers)."""
    urls = Urls(request)
    return respond(
        {
            "current_user_url": f"{urls.api}/user",
            "repository_url": f"{urls.api}/repos/{{owner}}/{{repo}}",
            "user_url": f"{urls.api}/users/{{user}}",
            "organization_url": f"{urls.api}/orgs/{{org}}",
            "rate_limit_url": f"{urls.api}/rate_limit",
        }
    )


@routes.get(f"{PREFIX}/user")
async def get_user(request: web.Request) -> web.Response:
    user = github(request).user
    return respond(Urls(request).account(user) | {"name": user.name, "email": None})


@routes.get(REPO)
async def get_repo(request: web.Request) -> web.Response:
    owner, name, _ = _repo(request)
    return respond(repo_json_of(Urls(request), github(request), owner, name))


@routes.get(f"{REPO}/branches")
async def list_branches(request: web.Request) -> web.Response:
    owner, name, repo = _repo(request)
    urls = Urls(request)
    branches = [_branch_json(urls, owner, name, branch, sha) for branch, sha in (await repo.branches()).items()]
    page, headers = _page(request, branches)
    return respond(page, headers=headers)


@staticmethod
def _branch_json(urls: Urls, owner: str, name: str, branch: str, sha: str) -> Json:
    return {
        "name": branch,
        "commit": {"sha": sha, "url": f"{urls.api}/repos/{owner}/{name}/commits/{sha}"},
        "protected": False,
    }


@routes.get(f"{REPO}/branches/{{branch:.+}}")
async def get_branch(request: web.Request) -> web.Response:
    owner, name, repo = _repo(request)
    branch = request.match_info["branch"]
    sha = await repo.branch_sha(branch)
    if sha is None:
        raise GitHubError(404, "Branch not found", f"{DOCS}/branches/branches#get-a-branch")
    return respond(_branch_json(Urls(request), owner, name, branch, sha))


@routes.get(f"{REPO}/commits/{{sha:[0-9a-f]{{7,40}}}}")
async def get_commit(request: web.Request) -> web.Response:
    """GET /repos/{o}/{r}/commits/{sha}: PyGithub reads a branch's commit date through it."""
    owner, name, repo = _repo(request)
    found = await repo.commit(request.match_info["sha"])
    if found is None:
        raise GitHubError(422, f"No commit found for SHA: {request.match_info['sha']}", f"{DOCS}/commits/commits")
    urls = Urls(request)
    api = f"{urls.api}/repos/{owner}/{name}"

    def person(role: str) -> Json:
        return {"name": found[f"{role}_name"], "email": found[f"{role}_email"], "date": found[f"{role}_date"]}

    return respond(
        {
            "sha": found["sha"],
            "node_id": f"C_lab{found['sha'][:12]}",
            "url": f"{api}/commits/{found['sha']}",
            "html_url": f"{urls.web}/{owner}/{name}/commit/{found['sha']}",
            "commit": {
                "url": f"{api}/git/commits/{found['sha']}",
                "author": person("author"),
                "committer": person("committer"),
                "message": found["message"].rstrip("\n"),
                "tree": {"sha": found["tree"], "url": f"{api}/git/trees/{found['tree']}"},
                "comment_count": 0,
            },
            "author": None,  # no GitHub account behind the lab's commit identities
            "committer": None,
            "parents": [{"sha": p, "url": f"{api}/commits/{p}"} for p in found["parents"].split()],
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
    pull = await state.open_pull(
        owner, name, str(body["head"]), str(body["base"]), str(body["title"]), text if isinstance(text, str) else None
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
    files: list[Json] = []
    base = await repo.merge_base(pull.base_sha, pull.head_sha)
    for change in await repo.changes(base, pull.head_sha) if base else []:
        blob = f"{urls.web}/{owner}/{name}/blob/{pull.head_sha}/{change.filename}"
        entry: Json = {
            "sha": change.sha,
            "filename": change.filename,
            "status": change.status,
            "additions": change.additions,
            "deletions": change.deletions,
            "changes": change.additions + change.deletions,
            "blob_url": blob,
            "raw_url": blob.replace("/blob/", "/raw/", 1),
            "contents_url": f"{urls.api}/repos/{owner}/{name}/contents/{change.filename}?ref={pull.head_sha}",
        }
        if change.patch is not None:  # GitHub leaves it out for binary files
            entry["patch"] = change.patch
        files.append(entry)
    page, headers = _page(request, files)
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
            "node_id": f"REF_lab{sha[:12]}",
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
    github(request).close_pulls_of(owner, name, branch)
    return web.Response(status=204)
