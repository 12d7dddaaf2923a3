"""What the identity server's routes share: the realm it serves, the realm's signing key (as its JWKS and
as the DER public key Keycloak's realm info shows) and the faults; and how a handler finds them."""

from __future__ import annotations

import base64
import functools
import hashlib
import json

from aiohttp import web
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from lab.faults import Faults


def _b64url_uint(value: int) -> str:
    raw = value.to_bytes((value.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _jwk(public: rsa.RSAPublicKey) -> dict[str, str]:
    numbers = public.public_numbers()
    n, e = _b64url_uint(numbers.n), _b64url_uint(numbers.e)
    # kid is the RFC 7638 thumbprint, so it is stable for the key and unique per app.
    thumbprint = hashlib.sha256(json.dumps({"e": e, "kty": "RSA", "n": n}, separators=(",", ":")).encode())
    kid = base64.urlsafe_b64encode(thumbprint.digest()).rstrip(b"=").decode()
    return {"kid": kid, "kty": "RSA", "alg": "RS256", "use": "sig", "n": n, "e": e}


class Realm:
    """One realm with a fresh RSA signing key; `faults` is read at every request."""

    def __init__(self, name: str, faults: Faults) -> None:
        self.name = name
        self.faults = faults

    @functools.cached_property
    def _public_key(self) -> rsa.RSAPublicKey:
        # Made with the first request that shows it: a 2048-bit key takes 20-200 ms, which the lab's start
        # need not spend for a run that never asks the identity server for its keys.
        return rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key()

    @property
    def jwks(self) -> dict[str, list[dict[str, str]]]:
        return {"keys": [_jwk(self._public_key)]}

    @property
    def public_der(self) -> bytes:
        return self._public_key.public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    def issuer(self, request: web.Request) -> str:
        # Like Keycloak without a fixed frontend URL: the issuer is built from the request's origin.
        return f"{request.scheme}://{request.host}/realms/{self.name}"


REALM = web.AppKey("realm", Realm)


def realm(request: web.Request) -> Realm:
    return request.app[REALM]
