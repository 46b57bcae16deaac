"""Schemathesis hooks for scripts/conformance.

Three jobs, each keeping schemathesis's own generation and checks:

1. Mielto's seed declares bearer security (`DualAuthScheme`) but documents only 200, 404 and 422,
   so a request without credentials has no documented answer: Strongroom's, as API Gateway's for
   any route with an authorizer, is 401. Schemathesis's coverage phase sends one such request per
   operation and would report the 401 as undocumented. That case is dropped here, and only that
   one; tests/mielto_api.rs covers requests without or with bad tokens (401 in FastAPI's shape).

2. Requests reach validation and the success path:
   - `X-Workspace-Id` (Mielto) must be the caller's organization, else `404 Workspace not found`
     before the body is read. Generated values are replaced by the caller's workspace
     (`CONFORMANCE_WORKSPACE`), except where the header is what a case is about: coverage cases
     aimed at the header, and values that are not strings (the schema's violations), are sent
     as generated, so the 404 path and any header violation are still exercised.
   - Lightdash: Strongroom validates each warehouse type more strictly than the seed's schema
     (the secret of the chosen authenticationType and no other, a PEM private key, a
     service-account key file, hosts without scheme, AWS access key ids, no blank or control
     characters...). Three positive cases in four (chosen by a hash of the generated body, so
     the run stays reproducible) are mapped onto the shape Strongroom accepts for the generated
     type and authenticationType, keeping every generated value that Strongroom takes as it is.
     The others go out as generated and exercise the refusals of what the seed's schema allows
     and Strongroom does not. Negative cases are never touched. A mapped body still matches the
     seed's schema (schemathesis revalidates it), so every check judges it as before. Should
     Strongroom's rules change, mapped bodies get refused and the run fails (see 3).

3. Every response is appended to `CONFORMANCE_LOG`, tab-separated (operation, method sent,
   status, generation mode, phase, whether the body was mapped, the credentials' type and
   authenticationType, what the case is about), which scripts/conformance summarises and checks:
   an operation whose success path was barely reached fails the run.
"""

from __future__ import annotations

import json
import os
import threading
import unicodedata
import zlib

import schemathesis
from schemathesis.generation.meta import CoverageScenario

WORKSPACE_HEADER = "x-workspace-id"
WORKSPACE = os.environ.get("CONFORMANCE_WORKSPACE", "org_conformance")
LOG = os.environ.get("CONFORMANCE_LOG")

_lock = threading.Lock()
# Ids of the cases whose body was mapped onto a shape Strongroom accepts.
_mapped: set[str] = set()


def _phase_data(case):
    return getattr(getattr(case.meta, "phase", None), "data", None)


def _is_positive(case) -> bool:
    meta = case.meta
    return meta is not None and meta.generation.mode.is_positive


@schemathesis.hook
def filter_case(context, case):
    data = _phase_data(case)
    return not (
        getattr(data, "scenario", None) == CoverageScenario.MISSING_PARAMETER
        and str(getattr(data, "parameter", "")).lower() == "authorization"
    )


@schemathesis.hook
def map_case(context, case):
    _set_workspace(case)
    operation = case.operation
    if operation.method.lower() == "post" and operation.path == "/api/v1/user/warehouseCredentials":
        _map_lightdash_body(case)
    return case


# --- Mielto: the caller's workspace ---------------------------------------------------------


def _set_workspace(case) -> None:
    if not any(p.name.lower() == WORKSPACE_HEADER for p in case.operation.headers):
        return
    names = [name for name in (case.headers or {}) if name.lower() == WORKSPACE_HEADER]
    if not names:
        return  # not sent: the caller's own workspace
    data = _phase_data(case)
    if str(getattr(data, "parameter", "") or "").lower() == WORKSPACE_HEADER:
        return  # a coverage case about this header: sent as generated (a foreign workspace: 404)
    for name in names:
        # The header's schema takes any string: a value that is not one is the point of the case.
        if isinstance(case.headers[name], str):
            case.headers[name] = WORKSPACE


# --- Lightdash: a shape Strongroom accepts --------------------------------------------------
# Strongroom's rules as README ("Lightdash") documents them and functions/lightdash/src/request.rs
# applies them: required/unused fields per type and authenticationType, and the value rules
# (text: not blank, at most 255 characters, no control characters; database objects at most 63).

MAX_TEXT = 255
MAX_DATABASE_OBJECT = 63
MAX_SECRET_BYTES = 32 * 1024
PEM = "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----\n"


def _is_control(c: str) -> bool:
    return unicodedata.category(c) == "Cc"


def _bounded(value, max_chars: int) -> bool:
    return (
        isinstance(value, str)
        and value.strip() != ""
        and len(value) <= max_chars
        and not any(_is_control(c) for c in value)
    )


def _placeholder(value: str) -> bool:
    trimmed = value.strip()
    masked = len(trimmed) >= 3 and all(c in "*•xX" for c in trimmed)
    word = trimmed.strip("[]<>()").lower()
    return masked or word in {"redacted", "hidden", "secret", "masked"}


def _secret_ok(value) -> bool:
    return (
        isinstance(value, str)
        and value != ""
        and len(value.encode("utf-8", "surrogatepass")) <= MAX_SECRET_BYTES
        and not _placeholder(value)
    )


def _text(value, fallback: str, max_chars: int = MAX_TEXT) -> str:
    """The generated text when Strongroom takes it; else it cleaned up; else `fallback`."""
    if _bounded(value, max_chars):
        return value
    if isinstance(value, str):
        cleaned = "".join(c for c in value if not _is_control(c)).strip()[:max_chars]
        if _bounded(cleaned, max_chars):
            return cleaned
    return fallback


def _secret(value, fallback: str) -> str:
    return value if _secret_ok(value) else fallback


def _host_ok(value) -> bool:
    if not _bounded(value, 253):
        return False
    labels = value.rstrip(".").split(".")
    return all(
        0 < len(label) <= 63
        and not label.startswith("-")
        and not label.endswith("-")
        and all((c.isascii() and c.isalnum()) or c in "-_" for c in label)
        for label in labels
    )


def _access_key_id_ok(value) -> bool:
    return isinstance(value, str) and 16 <= len(value) <= 128 and value.isascii() and value.isalnum()


def _email_ok(value) -> bool:
    if not _bounded(value, MAX_TEXT) or " " in value or "@" not in value:
        return False
    local, domain = value.split("@", 1)
    return local != "" and "." in domain


def _selected(body) -> bool:
    encoded = json.dumps(body, sort_keys=True, default=str, ensure_ascii=True).encode()
    return zlib.crc32(encoded) % 4 != 0


def _map_lightdash_body(case) -> None:
    body = case.body
    if not (isinstance(body, dict) and isinstance(body.get("credentials"), dict)):
        return
    if not _is_positive(case) or not _selected(body):
        return
    generated = body["credentials"]
    credentials = _valid_credentials(generated)
    if credentials is None:
        return
    mapped = dict(body)
    mapped["name"] = _text(body.get("name"), "conformance")
    mapped["credentials"] = credentials
    case.body = mapped
    with _lock:
        _mapped.add(case.id)


def _valid_credentials(g: dict):  # noqa: C901 - one branch per warehouse type
    kind = g.get("type")
    c = {"type": kind}
    auth = g.get("authenticationType")
    if auth is not None:
        c["authenticationType"] = auth
    if kind in ("postgres", "redshift"):
        c["user"] = _text(g.get("user"), "analyst", MAX_DATABASE_OBJECT)
        if kind == "postgres" or "password" in g:
            c["password"] = _secret(g.get("password"), "conformance-password")
    elif kind in ("trino", "clickhouse"):
        c["user"] = _text(g.get("user"), "analyst")
        c["password"] = _secret(g.get("password"), "conformance-password")
    elif kind == "snowflake":
        c["user"] = _text(g.get("user"), "analyst")
        auth = auth or "password"
        if auth == "password":
            c["password"] = _secret(g.get("password"), "conformance-password")
        elif auth == "private_key":
            c["privateKey"] = PEM
            if _secret_ok(g.get("password")):
                c["privateKeyPass"] = g["password"]
        elif auth == "sso":
            c["refreshToken"] = _secret(g.get("refreshToken"), "conformance-refresh-token")
    elif kind == "bigquery":
        generated = g.get("keyfileContents")
        keyfile = {k: v for k, v in (generated or {}).items() if isinstance(v, str)}
        if (auth or "private_key") == "private_key":
            if not _email_ok(keyfile.get("client_email")):
                keyfile["client_email"] = "bi@conformance.iam.gserviceaccount.com"
            keyfile["private_key"] = PEM
            if "project_id" in keyfile:
                keyfile["project_id"] = _text(keyfile["project_id"], "conformance")
        c["keyfileContents"] = keyfile
    elif kind == "databricks":
        if "serverHostName" in g:
            host = g["serverHostName"]
            c["serverHostName"] = host if _host_ok(host) else "dbc-1.cloud.databricks.com"
        if "httpPath" in g:
            c["httpPath"] = _text(g["httpPath"], "/sql/1.0/warehouses/1")
        if "database" in g:
            c["database"] = _text(g["database"], "main", MAX_DATABASE_OBJECT)
        auth = auth or "personal_access_token"
        if auth == "personal_access_token":
            c["personalAccessToken"] = _secret(g.get("personalAccessToken"), "dapi-conformance")
            if "oauthClientId" in g:
                c["oauthClientId"] = _text(g["oauthClientId"], "client")
        elif auth == "oauth_m2m":
            c["oauthClientId"] = _text(g.get("oauthClientId"), "client")
            c["oauthClientSecret"] = "conformance-client-secret"
        elif auth == "oauth_u2m":
            c["refreshToken"] = _secret(g.get("refreshToken"), "conformance-refresh-token")
            if "oauthClientId" in g:
                c["oauthClientId"] = _text(g["oauthClientId"], "client")
    elif kind == "athena":
        if "accessKeyId" in g or "secretAccessKey" in g:
            key_id = g.get("accessKeyId")
            c["accessKeyId"] = key_id if _access_key_id_ok(key_id) else "AKIAIOSFODNN7EXAMPLE"
            c["secretAccessKey"] = _secret(g.get("secretAccessKey"), "conformance-secret-access-key")
    elif kind == "duckdb":
        c["token"] = _secret(g.get("token"), "conformance-motherduck-token")
    else:
        return None
    return c


# --- What the run exercised -----------------------------------------------------------------


@schemathesis.hook
def after_call(context, case, response):
    if not LOG:
        return
    meta = case.meta
    mode = meta.generation.mode.value if meta is not None else "-"
    phase = meta.phase.name.value if meta is not None else "-"
    data = _phase_data(case)
    detail = " ".join(
        str(part)
        for part in (getattr(data, "scenario", None), getattr(data, "description", None))
        if part
    )
    body = case.body if isinstance(case.body, dict) else {}
    credentials = body.get("credentials") if isinstance(body.get("credentials"), dict) else {}
    kind = "/".join(str(credentials[k]) for k in ("type", "authenticationType") if k in credentials)
    with _lock:
        mapped = "mapped" if case.id in _mapped else "-"
        with open(LOG, "a", encoding="utf-8") as log:
            log.write(
                "\t".join(
                    (
                        f"{case.operation.method.upper()} {case.operation.path}",
                        case.method.upper(),
                        str(response.status_code),
                        mode,
                        phase,
                        mapped,
                        kind.replace("\t", " ").replace("\n", " ")[:60] or "-",
                        detail.replace("\t", " ").replace("\n", " ")[:200] or "-",
                    )
                )
                + "\n"
            )
