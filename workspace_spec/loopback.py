"""Names under `.localhost` reach this machine's loopback whatever the resolver says (RFC 6761 §6.3), as
browsers make them: Chromium answers `*.localhost` itself. A deployment may put Coder's subdomain apps on
such a wildcard (`*.apps.localhost`); the suite's HTTP requests then go where a browser's would, with the
name kept in the Host header (and as the TLS server name)."""

from __future__ import annotations

import httpx

LOOPBACK = "127.0.0.1"


def under_localhost(host: str) -> bool:
    return host.rstrip(".").lower().endswith(".localhost")


class LoopbackTransport(httpx.BaseTransport):
    """An httpx transport that connects `*.localhost` names to 127.0.0.1 and every other one as usual."""

    def __init__(self, inner: httpx.BaseTransport | None = None) -> None:
        self._inner = inner or httpx.HTTPTransport()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if not under_localhost(request.url.host):
            return self._inner.handle_request(request)
        extensions = dict(request.extensions)
        if request.url.scheme == "https":
            extensions.setdefault("sni_hostname", request.url.host)
        rerouted = httpx.Request(
            request.method,
            request.url.copy_with(host=LOOPBACK),
            headers=request.headers,  # with the Host header httpx made from the name
            stream=request.stream,
            extensions=extensions,
        )
        return self._inner.handle_request(rerouted)

    def close(self) -> None:
        self._inner.close()
