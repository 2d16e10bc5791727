"""Who may call the CDS Hooks service: a JWT signed with a key the clinic lead registered.

Per CDS Hooks 2.0 the EHR signs a JWT (asymmetric: RS/ES/PS) with `iss`, `aud` = the URL being
called, `exp`, `iat` and a unique `jti`, and names the key in the header's `kid`. Keys are only
those pasted into the registry; a `jku` header is ignored, nothing is fetched.
"""

import base64
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Literal

import jwt
from django.db import IntegrityError, transaction
from django.utils import timezone
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from trialplanner.inputs import nesting_depth, text_problem
from trialplanner.interop.models import CdsClient, CdsJwtUse

ALGORITHMS = ["RS256", "RS384", "RS512", "ES256", "ES384", "ES512", "PS256", "PS384", "PS512"]
# Each EC curve signs with one algorithm (RFC 7518 3.4).
EC_CURVES = {"P-256": "ES256", "P-384": "ES384", "P-521": "ES512"}
# exp and iat are seconds since 1970; past 2100 is not a time a token can mean.
MAX_EPOCH_SECONDS = 4_102_444_800
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
        if key["kid"] in keys:
            raise ValueError(f"Two keys share the kid {key['kid']}: each key needs its own.")
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
    """Whether `token` is a compact JWS (three parts) whose header and claims are UTF-8 JSON objects at
    most MAX_TOKEN_DEPTH levels deep (PyJWT's json module would recurse on deeper ones, or read UTF-16)."""
    parts = token.split(".")
    if len(parts) != 3:
        return False
    for segment in parts[:2]:
        try:
            text = base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)).decode("utf-8")
        except ValueError:
            return False
        if not text.lstrip().startswith("{") or nesting_depth(text) > MAX_TOKEN_DEPTH:
            return False
    return True


class _Header(BaseModel):
    model_config = ConfigDict(strict=True, extra="allow")
    alg: Literal[*ALGORITHMS]  # type: ignore[valid-type]
    kid: Annotated[str, StringConstraints(min_length=1, max_length=200)]


class _Claims(BaseModel):
    """CDS Hooks 2.0's required claims with their JSON types; times are whole seconds since 1970."""

    model_config = ConfigDict(strict=True, extra="allow")
    iss: Annotated[str, StringConstraints(min_length=1, max_length=300)]
    sub: Annotated[str, StringConstraints(min_length=1, max_length=300)]
    aud: Annotated[str, StringConstraints(max_length=2000)] | list[Annotated[str, StringConstraints(max_length=2000)]]
    exp: Annotated[int, Field(gt=0, lt=MAX_EPOCH_SECONDS)]
    iat: Annotated[int, Field(gt=0, lt=MAX_EPOCH_SECONDS)]
    jti: Annotated[str, StringConstraints(min_length=1, max_length=200)]


def algorithms_for(jwk: dict) -> list[str]:
    """The algorithms a registered key may verify: its key type's (and curve's) only, or its own `alg`."""
    if jwk.get("kty") == "RSA":
        allowed = [a for a in ALGORITHMS if a[:2] in ("RS", "PS")]
    elif jwk.get("kty") == "EC":
        allowed = [EC_CURVES[jwk["crv"]]] if jwk.get("crv") in EC_CURVES else []
    else:
        allowed = []
    if jwk.get("alg"):
        allowed = [a for a in allowed if a == jwk["alg"]]
    return allowed


def _unverified(token: str) -> tuple[_Header, _Claims]:
    try:
        header = jwt.get_unverified_header(token)
        claims = jwt.decode(token, options={"verify_signature": False})
    except (jwt.PyJWTError, ValueError, TypeError, RecursionError):
        raise NotAuthorised("malformed token") from None
    try:
        typed = _Header.model_validate(header), _Claims.model_validate(claims)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"])
        raise NotAuthorised(f"bad token {where}: {err['msg']}") from None
    # The forms' text rules on every string the database will see (PostgreSQL refuses NUL with a 500).
    texts = [typed[0].kid, typed[1].iss, typed[1].sub, typed[1].jti]
    texts += [typed[1].aud] if isinstance(typed[1].aud, str) else typed[1].aud
    if any(text_problem(t) for t in texts):
        raise NotAuthorised("bad token: control or bidi characters in a claim")
    return typed


def authenticate(authorization: str, *, audience: str) -> Caller:
    """The registered client whose key signed this bearer token for `audience`, else NotAuthorised.

    Every failure of reading, key lookup and verification is NotAuthorised (the view answers 401):
    header and claims are typed before PyJWT sees them, and a key verifies only its own key type's
    algorithms (an ES256 token is never tried against an RSA key).
    """
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise NotAuthorised("missing bearer token")
    token = token.strip()
    if len(token) > MAX_TOKEN_CHARS or not token.isascii() or not _shallow(token):
        raise NotAuthorised("malformed token")
    header, claims = _unverified(token)
    client = CdsClient.objects.select_related("clinic").filter(issuer=claims.iss, is_active=True).first()
    if client is None:
        raise NotAuthorised("unknown issuer")
    try:
        key = public_keys(client.jwks).get(header.kid)
    except ValueError:
        key = None
    if key is None:
        raise NotAuthorised("unknown key id")
    jwk = next((k for k in client.jwks["keys"] if k.get("kid") == header.kid), {})
    if header.alg not in algorithms_for(jwk):
        raise NotAuthorised(f"algorithm {header.alg} does not fit key {header.kid}")
    try:
        verified = jwt.decode(
            token,
            key.key,
            algorithms=[header.alg],
            audience=audience,
            issuer=client.issuer,
            leeway=LEEWAY_SECONDS,
            options={"require": ["iss", "sub", "aud", "exp", "iat", "jti"]},
        )
    except jwt.ExpiredSignatureError:
        raise NotAuthorised("token expired") from None
    except jwt.InvalidAudienceError:
        raise NotAuthorised("wrong audience") from None
    except jwt.PyJWTError as exc:
        raise NotAuthorised(f"invalid token: {exc}") from None
    except (ValueError, TypeError, AttributeError, KeyError, OverflowError) as exc:
        # A key or signature the crypto library cannot use: still the caller's fault, never a 500.
        raise NotAuthorised(f"token cannot be verified: {type(exc).__name__}") from None
    now = timezone.now()
    claims = _Claims.model_validate(verified)
    expires = datetime.fromtimestamp(claims.exp, tz=UTC)
    issued = datetime.fromtimestamp(claims.iat, tz=UTC)
    if expires > now + timedelta(seconds=MAX_LIFETIME_SECONDS + LEEWAY_SECONDS):
        raise NotAuthorised("token lives longer than five minutes")
    if issued > now + timedelta(seconds=LEEWAY_SECONDS) or issued > expires:
        raise NotAuthorised("token issued in the future")
    jti = claims.jti
    try:
        with transaction.atomic():
            CdsJwtUse.objects.filter(client=client, expires_at__lt=now - timedelta(seconds=LEEWAY_SECONDS)).delete()
            CdsJwtUse.objects.create(client=client, jti=jti, expires_at=expires)
    except IntegrityError:
        raise NotAuthorised("jti replayed") from None
    return Caller(client=client, jti=jti)
