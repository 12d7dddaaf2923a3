"""coderd's site handler (site/site.go): the dashboard's pages, `/login`, and the single-page app.

`/login` is the sign-in page the path-app proxy sends a browser without a session to. DASHBOARD_PAGE is
what the site handler answers any path nothing else routes with: the dashboard's single-page app, 200
(the `app-foreign-page` fault has the app proxy's paths answered with it).
"""

from __future__ import annotations

from aiohttp import web

routes = web.RouteTableDef()
DASHBOARD_PAGE = """<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>Coder</title><meta property="og:type" content="website"></head>
<body><div id="root"></div><script type="module" src="/assets/index.js"></script></body>
</html>
"""


@routes.get("/login")
async def login(_: web.Request) -> web.Response:
    page = (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>Sign In - Coder'
        '</title></head>\n<body><h1>Sign in to Coder</h1><a href="/api/v2/users/oidc/callback">'
        "Sign in with Keycloak</a></body></html>\n"
    )
    return web.Response(text=page, content_type="text/html")
