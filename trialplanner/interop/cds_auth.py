"""Who may call the CDS Hooks service: a JWT signed with a key the clinic lead registered.

Per CDS Hooks 2.0 the EHR signs a JWT (asymmetric: RS/ES/PS) with `iss`, `aud` = the URL being
called, `exp`, `iat` and a unique `jti`, and names the key in the header's `kid`. Keys are only
those pasted into the registry; a `jku` header is ignored, nothing is fetched.
"""

import base64
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import jwt
from django.db import IntegrityError, transaction
from django.utils import timezone

from trialplanner.inputs import nesting_depth
from trialplanner.interop.models import CdsClient, CdsJwtUse

ALGORITHMS = ["RS256", "RS384", "RS512", "ES256", "ES384", "ES512", "PS256", "PS384", "PS512"]
LEEWAY_SECONDS = 30
MAX_LIFETIME_SECONDS = 300  # the spec's five minutes
# A CDS Hooks JWT is a few hundred characters of flat JSON. PyJWT parses the header and claims
# with the json module, which fails with RecursionError (a 500) on deeply nested input, so the
# token is measured before PyJWT sees it.
MAX_TOKEN_CHARS = 8192
MAX_TOKEN_DEPTH = 8


class NotAuthorised(Exception):
    """The request carries no acceptable JWT; the message says why (logged, not for patients)."""


@dataclass(frozen=True)
class Caller:
    client: CdsClient
    jti: str


def public_keys(jwks) -> dict:
    """kid -> PyJWK of a pasted JWKS; ValueError naming what is wrong (private keys are refused)."""
    if not isinstance(jwks, dict) or not isinstance(jwks.get("keys"), list) or not jwks["keys"]:
        raise ValueError('A JWKS is a JSON object with a non-empty "keys" list.')
    keys = {}
    for n, key in enumerate(jwks["keys"], start=1):
        if not isinstance(key, dict) or not key.get("kid"):
            raise ValueError(f"Key {n} has no kid.")
        if any(part in key for part in ("d", "p", "q", "k")):
            raise ValueError(f"Key {key['kid']} holds private or symmetric key material: paste public keys only.")
        if key.get("kty") not in ("RSA", "EC"):
            raise ValueError(f"Key {key['kid']}: only RSA and EC keys are accepted.")
        try:
            keys[key["kid"]] = jwt.PyJWK(key)
        except (jwt.PyJWKError, jwt.InvalidKeyError, ValueError, TypeError) as exc:
            raise ValueError(f"Key {key['kid']} cannot be read: {exc}") from None
    return keys


def _shallow(token: str) -> bool:
    """Whether the JSON header and claims of `token` are at most MAX_TOKEN_DEPTH levels deep."""
    for segment in token.split(".")[:2]:
        try:
            text = base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)).decode("utf-8", "replace")
        except ValueError:
            return False
        if nesting_depth(text) > MAX_TOKEN_DEPTH:
            return False
    return True


def authenticate(authorization: str, *, audience: str) -> Caller:
    """The registered client whose key signed this bearer token for `audience`, else NotAuthorised."""
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise NotAuthorised("missing bearer token")
    token = token.strip()
    if len(token) > MAX_TOKEN_CHARS or not _shallow(token):
        raise NotAuthorised("malformed token")
    try:
        header = jwt.get_unverified_header(token)
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        raise NotAuthorised("malformed token") from None
    if header.get("alg") not in ALGORITHMS:
        raise NotAuthorised(f"algorithm {header.get('alg')!r} not accepted")
    client = CdsClient.objects.select_related("clinic").filter(issuer=claims.get("iss"), is_active=True).first()
    if client is None:
        raise NotAuthorised("unknown issuer")
    try:
        key = public_keys(client.jwks).get(header.get("kid"))
    except ValueError:
        key = None
    if key is None:
        raise NotAuthorised("unknown key id")
    try:
        verified = jwt.decode(
            token,
            key.key,
            algorithms=[header["alg"]],
            audience=audience,
            issuer=client.issuer,
            leeway=LEEWAY_SECONDS,
            options={"require": ["iss", "aud", "exp", "jti"]},
        )
    except jwt.ExpiredSignatureError:
        raise NotAuthorised("token expired") from None
    except jwt.InvalidAudienceError:
        raise NotAuthorised("wrong audience") from None
    except jwt.PyJWTError as exc:
        raise NotAuthorised(f"invalid token: {exc}") from None
    now = timezone.now()
    expires = datetime.fromtimestamp(verified["exp"], tz=UTC)
    if expires > now + timedelta(seconds=MAX_LIFETIME_SECONDS + LEEWAY_SECONDS):
        raise NotAuthorised("token lives longer than five minutes")
    jti = str(verified["jti"])[:200]
    try:
        with transaction.atomic():
            CdsJwtUse.objects.filter(client=client, expires_at__lt=now - timedelta(seconds=LEEWAY_SECONDS)).delete()
            CdsJwtUse.objects.create(client=client, jti=jti, expires_at=expires)
    except IntegrityError:
        raise NotAuthorised("jti replayed") from None
    return Caller(client=client, jti=jti)
