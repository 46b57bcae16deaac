"""Schemathesis hooks for scripts/conformance.

Four jobs, each keeping schemathesis's own generation and checks:

1. Mielto's seed declares bearer security (`DualAuthScheme`) but documents only 200, 404 and 422,
   so a request without credentials has no documented answer: Strongroom's, as API Gateway's for
   any route with an authorizer, is 401. Schemathesis's coverage phase sends one such request per
   operation and would report the 401 as undocumented. In the seed runs that case is dropped
   here, and only that one; tests/mielto_api.rs covers requests without or with bad tokens (401
   in FastAPI's shape). Our own document documents API Gateway's 401, so its run keeps the case.

2. Requests reach validation and the success path:
   - `X-Workspace-Id` (Mielto) must be the caller's organization, else `404 Workspace not found`
     before the body is read. Generated values are replaced by the caller's workspace
     (`CONFORMANCE_WORKSPACE`), except where the header is what a case is about: coverage cases
     aimed at the header, and values that are not strings (the schema's violations), are sent
     as generated, so the 404 path and any header violation are still exercised.
   - Nile: `workspaceSlug` and `databaseName` are set to the caller's workspace and to the
     database scripts/conformance registered (`CONFORMANCE_NILE_DATABASE`): the seed documents
     no 404, and any other value names no database. A positive `tenantId` Strongroom refuses
     (blank, control characters, over 255 characters) is cleaned up, and the case counted as
     mapped: the seed's schema takes any string and documents no 400.
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

   - Lightdash's authenticationType: one its type does not take is dropped (the type's default
     stands), as is every other field Strongroom refuses.
   - The `X-Workspace-Id` of a case about a header (a foreign workspace, or `Authorization` left
     out) is not touched: editing its headers makes schemathesis revalidate the case as positive
     and send the header the case left out.

3. Every response is appended to `CONFORMANCE_LOG`, tab-separated (operation, method sent,
   status, generation mode, phase, whether the body was mapped, the credentials' type and
   authenticationType, what the case is about), which scripts/conformance summarises and checks:
   an operation whose success path was barely reached fails the run.

4. Our own document, openapi/strongroom.yaml (`CONFORMANCE_DOCUMENT=strongroom`), run with every
   check, `positive_data_acceptance` among them: a positive case Strongroom refuses fails the run.
   The document's schemas say what JSON Schema can (types, lengths, enums, per-type and
   per-strategy shapes, text without control characters); rules it states in words only are
   applied here, to positive cases (in `before_call`, so every phase's cases, the examples' and
   the stateful phase's too), keeping every generated value Strongroom takes and counting the
   case as mapped when anything changed. Negative cases are never mapped. A case about a path
   parameter (its path generated to break the schema, or a coverage case aimed at it) keeps
   its generated value: an unknown id, the documented 404.
   Fixtures, made through the API itself (`CONFORMANCE_API`, the run's `CONFORMANCE_TOKEN`, the
   run's own organization `CONFORMANCE_WORKSPACE`), so that each operation reaches its success
   path:
   - made once and shared: a Lightdash credential (what `PATCH …/warehouseCredentials/{uuid}`
     updates), a Mielto credential (`GET`/`PUT /api/v1/credentials/{credential_id}`), a Credible
     connection of each type in project `conformance` (`GET` one, its stored test, and `PATCH`,
     which gets the connection of the type of the first sub-object the body sends, since a
     connection takes only its own type's), two Lightdash PostgreSQL credentials for the native
     API (the one `GET`, rotation settings and rotate-now act on, and the admin login its
     `alternating-users` settings name), and the Nile database scripts/conformance registers on
     the test PostgreSQL (`CONFORMANCE_NILE_DATABASE`: every Nile path names it and the
     caller's workspace, as for Nile's seed);
   - made right before each request, for operations that remove what they act on: a fresh
     Levered connection, Lightdash or Mielto credential, Credible connection, Nile database or
     Nile login for each `DELETE`; and the state a success path needs: the Levered connection
     to the test PostgreSQL before each `POST …/connections/test` (a positive `POST` replaces
     the organization's one connection with a generated one, which no test reaches), rotation
     settings on the rotated credential before each `DELETE …/rotation` and rotate-now.
   Bodies (and parameters), per operation:
   - Levered `POST`: each credential field Strongroom refuses (a host with a scheme or port,
     blank text or text with control characters, over 63 characters for a PostgreSQL database
     or user, a redaction placeholder for a password, a BigQuery key that is not a PEM private
     key or an e-mail that is not one) is replaced by a valid one.
   - Lightdash `POST`: every positive body is mapped as in 2 (not three in four). `PATCH`: the
     same for `name` and `credentials` when sent (`null` keeps what is stored, as documented).
   - Credible create: the path's `connectionName` gets a suffix unique to the run (a name
     already taken answers 409), and a body `name` is set to it (it must match the path); the
     sub-object of the body's `type` is made valid field by field (a host, a Trino or S3 URL,
     digits for byte limits and timeouts, a service-account key file, a PEM private key, an AWS
     access key id, attached DuckDB databases with distinct valid names and a valid sub-object
     each); sub-objects of other types are dropped. `PATCH`: the body keeps only the first
     sub-object it sends, made valid the same way. The unsaved connection under test: mapped as
     a create body is (without a path), so that its test gets as far as connecting; the
     document takes any object with a known `type`, and the answer is 200 either way.
   - Native `PUT …/rotation`: a `schedule` Secrets Manager would refuse becomes
     `rate(30 days)`; `alternating-users` gets the admin fixture as `adminCredentialId` (another
     PostgreSQL login of the organization; a generated uuid names none).
   - Native conditional requests: a positive case's generated `If-Match`/`If-None-Match` names
     no version of the fixture (412 or 304, both documented), so it is left out;
     tests/native_api.rs covers conditional requests. `…/reveal` reveals the rotated fixture
     (the caller's own login) without a generated `versionId` (it names no version).
   - API tokens: a positive `name` Strongroom refuses (blank, control characters, over 100
     characters) is cleaned up, and an `expiresAt` becomes one in the future (a past one is
     refused, and the document cannot say "in the future"). The audit log: a positive case's
     generated `cursor` is left out (only a `nextCursor` is one), an `actor` Strongroom refuses
     is cleaned up.
   - Nile `POST …/databases`: the database registered is the test PostgreSQL with its admin
     login (Strongroom logs in and checks that it may create roles before registering; no other
     host exists here), under the generated `databaseName` with a suffix unique to the run;
     generated `region` and lifetimes are kept (a maximum under the default is dropped), while
     `grants` and `owner` (roles and tables the test PostgreSQL does not have) are not sent.
     `…/credentials/rotate`: a `reason` Strongroom refuses (blank, control characters, over 1,000
     characters) is cleaned up; a positive body schemathesis would write as YAML or XML for the
     `*/*` media type it picked is sent as JSON, which Strongroom reads whatever the
     Content-Type. `tenantId` as in 2.
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
NILE_CREDENTIALS = "/workspaces/{workspaceSlug}/databases/{databaseName}/credentials"
NILE_DATABASE = os.environ.get("CONFORMANCE_NILE_DATABASE", "conformance")
LOG = os.environ.get("CONFORMANCE_LOG")
# Strongroom's own document (openapi/strongroom.yaml): see 4.
OWN_DOCUMENT = os.environ.get("CONFORMANCE_DOCUMENT") == "strongroom"

_lock = threading.RLock()
# Ids of the cases whose body was mapped onto a shape Strongroom accepts.
_mapped: set[str] = set()


def _phase_data(case):
    return getattr(getattr(case.meta, "phase", None), "data", None)


def _is_positive(case) -> bool:
    meta = case.meta
    return meta is not None and meta.generation.mode.is_positive


def _blank_optional_body(case) -> bool:
    """A negative case of Nile's rotate whose body is blank text: on the wire, the absent body
    the operation allows (its body is optional, and Strongroom reads a blank one as none), so
    accepting it is right, not a schema violation let through."""
    return (
        not _is_positive(case)
        and case.operation.path.endswith("/credentials/rotate")
        and isinstance(case.body, (str, bytes))
        and not case.body.strip()
    )


@schemathesis.hook
def filter_case(context, case):
    if OWN_DOCUMENT:
        # Our own document documents API Gateway's 401: only blank optional bodies are dropped.
        return not _blank_optional_body(case)
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
    if operation.path.startswith(NILE_CREDENTIALS):
        _map_nile_request(case)
    return case


# --- Mielto: the caller's workspace ---------------------------------------------------------


def _set_workspace(case) -> None:
    if not any(p.name.lower() == WORKSPACE_HEADER for p in case.operation.headers):
        return
    names = [name for name in (case.headers or {}) if name.lower() == WORKSPACE_HEADER]
    if not names:
        return  # not sent: the caller's own workspace
    data = _phase_data(case)
    location = getattr(data, "parameter_location", None)
    if str(getattr(location, "value", location) or "").lower() == "header" or str(
        getattr(data, "parameter", "") or ""
    ).lower() in (WORKSPACE_HEADER, "authorization"):
        # A case about a header (this one: a foreign workspace, 404; or `Authorization` left
        # out: 401) goes out as generated. Editing its headers would make schemathesis revalidate
        # the case as positive and send the header it left out.
        return
    for name in names:
        # The header's schema takes any string: a value that is not one is the point of the case.
        if isinstance(case.headers[name], str):
            case.headers[name] = WORKSPACE


# --- Nile: the registered database, a tenant id Strongroom takes ---------------------------


def _map_nile_request(case) -> None:
    parameters = dict(case.path_parameters or {})
    for name, value in (("workspaceSlug", WORKSPACE), ("databaseName", NILE_DATABASE)):
        if not (OWN_DOCUMENT and _path_is_the_point(case, name)):
            parameters[name] = value
    case.path_parameters = parameters
    query = case.query or {}
    tenant = query.get("tenantId")
    if _is_positive(case) and isinstance(tenant, str) and not _bounded(tenant, MAX_TEXT):
        case.query = {**query, "tenantId": _text(tenant, "conformance-tenant")}
        with _lock:
            _mapped.add(case.id)


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
    # Our own document states Strongroom's rules: every positive body is mapped there (see 4).
    if not _is_positive(case) or not (OWN_DOCUMENT or _selected(body)):
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


# The authenticationTypes each type takes (README, "Lightdash"); other types ignore the field.
AUTHENTICATION_TYPES = {
    "snowflake": ("password", "private_key", "sso", "external_browser", "none"),
    "bigquery": ("private_key", "sso", "adc"),
    "databricks": ("personal_access_token", "oauth_m2m", "oauth_u2m"),
}


def _valid_credentials(g: dict):  # noqa: C901 - one branch per warehouse type
    kind = g.get("type")
    c = {"type": kind}
    auth = g.get("authenticationType")
    if kind in AUTHENTICATION_TYPES and auth not in AUTHENTICATION_TYPES[kind]:
        auth = None  # one the type does not take: its default
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


# --- Strongroom's own document: fixtures and the rules its schemas cannot state ------------
# The run with openapi/strongroom.yaml (CONFORMANCE_DOCUMENT=strongroom) calls the local API
# itself (CONFORMANCE_API, with the run's CONFORMANCE_TOKEN) for the fixtures an operation's
# success path needs, and maps positive cases onto what Strongroom accepts where the document
# states a rule in words only. See 4 in the module's docstring.

API = os.environ.get("CONFORMANCE_API", "")
TOKEN = os.environ.get("CONFORMANCE_TOKEN", "")
CREDIBLE_PROJECT = "conformance"
_fixtures: dict[str, str] = {}
_counter = iter(range(1, 1 << 62))


def _path_is_the_point(case, name: str) -> bool:
    """Whether the case is about path parameter `name`: its path was generated to break the
    schema, or it is a coverage case aimed at that parameter. Such a case goes out as generated
    (an unknown id: the documented 404)."""
    from schemathesis.core.parameters import ParameterLocation

    meta = case.meta
    if meta is not None and meta.is_negative_at(ParameterLocation.PATH):
        return True
    data = _phase_data(case)
    return str(getattr(data, "parameter", "") or "") == name


def _unique(prefix: str) -> str:
    with _lock:
        return f"{prefix}{os.getpid()}x{next(_counter)}"


def _api(method: str, path: str, body=None, expect=(200, 201, 202, 204)):
    import urllib.error
    import urllib.request

    data = None if body is None else json.dumps(body).encode()
    headers = {"Authorization": f"Bearer {TOKEN}"}
    if data is not None:
        headers["Content-Type"] = "application/json"
    request = urllib.request.Request(API + path, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            status, text = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, text = error.code, error.read()
    if status not in expect:
        raise RuntimeError(f"conformance fixture: {method} {path} answered {status}: {text[:300]!r}")
    return json.loads(text) if text else None


def _fixture(name: str, make) -> str:
    """A fixture made once for the run (`make()` returns its id), shared by every case."""
    with _lock:
        if name not in _fixtures:
            _fixtures[name] = make()
        return _fixtures[name]


def _test_postgres() -> dict:
    """The password-checking PostgreSQL scripts/conformance runs, its administrator's login."""
    return {
        "host": os.environ["STRONGROOM_TEST_PG_HOST"],
        "port": int(os.environ["STRONGROOM_TEST_PG_PORT"]),
        "user": os.environ["STRONGROOM_TEST_PG_USER"],
        "password": os.environ["STRONGROOM_TEST_PG_PASSWORD"],
    }


# Fixture makers: each creates one resource through the API and returns what names it.


def _levered_connection() -> str:
    pg = _test_postgres()
    created = _api("POST", "/api/v2/warehouse/connections", {
        "provider": "postgres", "dataset_id": "public",
        "credentials": {"host": pg["host"], "port": pg["port"], "database": "postgres",
                        "username": pg["user"], "password": pg["password"], "sslmode": "disable"},
    })
    return created["id"]


def _lightdash_credential(name: str = "conformance fixture") -> str:
    created = _api("POST", "/api/v1/user/warehouseCredentials", {
        "name": name,
        "credentials": {"type": "postgres", "user": "analyst", "password": "conformance-password"},
    })
    return created["results"]["uuid"]


def _mielto_credential() -> str:
    created = _api("POST", "/api/v1/credentials", {
        "label": "conformance fixture", "auth_type": "api_key", "credential_scope": "workspace",
        "credentials": {"api_key": "conformance-api-key"},
    })
    return created["id"]


CREDIBLE_FIXTURES = {
    "postgres": {"postgresConnection": {"host": "db.conformance.internal", "port": 5432,
                                        "databaseName": "analytics", "userName": "bi",
                                        "password": "conformance-password"}},
    "mysql": {"mysqlConnection": {"host": "db.conformance.internal", "user": "bi",
                                  "password": "conformance-password"}},
    "bigquery": {"bigqueryConnection": {"defaultProjectId": "conformance",
                                        "serviceAccountKeyJson": json.dumps({"type": "service_account"})}},
    "snowflake": {"snowflakeConnection": {"account": "conformance", "username": "bi",
                                          "warehouse": "compute", "password": "conformance-password"}},
    "trino": {"trinoConnection": {"server": "https://trino.conformance.internal"}},
    "motherduck": {"motherduckConnection": {"accessToken": "conformance-token"}},
    "duckdb": {"duckdbConnection": {"attachedDatabases": [{
        "name": "lake", "type": "s3",
        "s3Connection": {"accessKeyId": "AKIAIOSFODNN7EXAMPLE", "secretAccessKey": "conformance-secret"},
    }]}},
}


def _credible_connection(kind: str, name: str | None = None) -> str:
    name = name or _unique(f"fixture_{kind}_")
    _api("POST", f"/api/v0/projects/{CREDIBLE_PROJECT}/connections/{name}",
         {"type": kind, **CREDIBLE_FIXTURES[kind]})
    return name


def _nile_credential() -> str:
    created = _api("POST", f"/workspaces/{WORKSPACE}/databases/{NILE_DATABASE}/credentials")
    return created["id"]


def _nile_database() -> str:
    name = _unique("conformance_fixture_")
    _api("POST", f"/workspaces/{WORKSPACE}/databases", _nile_registration(name, {}))
    return name


def _nile_registration(name: str, generated: dict) -> dict:
    pg = _test_postgres()
    body = {
        "databaseName": name,
        "region": generated.get("region", "AWS_US_WEST_2"),
        "engine": "postgres", "host": pg["host"], "port": pg["port"], "database": "postgres",
        "sslmode": "disable", "admin": {"username": pg["user"], "password": pg["password"]},
    }
    default, maximum = generated.get("defaultLifetimeSeconds"), generated.get("maxLifetimeSeconds")
    if isinstance(default, int):
        body["defaultLifetimeSeconds"] = default
    if isinstance(maximum, int) and maximum >= (default if isinstance(default, int) else 3600):
        body["maxLifetimeSeconds"] = maximum
    return body


def _rotated() -> str:
    """A database login (a Lightdash PostgreSQL credential) the native API's rotation
    operations act on, and the admin login of its alternating users."""
    return _fixture("native-rotated", lambda: _lightdash_credential("conformance rotated"))


def _rotation_admin() -> str:
    return _fixture("native-admin", lambda: _lightdash_credential("conformance rotation admin"))


# Positive bodies, per family: generated values Strongroom takes are kept.


def _host(value, fallback: str = "db.conformance.internal") -> str:
    import ipaddress

    if isinstance(value, str):
        try:
            ipaddress.ip_address(value)
            return value
        except ValueError:
            pass
    return value if _host_ok(value) else fallback


def _http_url(value, fallback: str) -> str:
    ok = isinstance(value, str) and _bounded(value, 2048) and any(
        value.startswith(scheme) and value[len(scheme):] and not any(c.isspace() for c in value[len(scheme):])
        for scheme in ("https://", "http://"))
    return value if ok else fallback


def _digits(value, fallback: str) -> str:
    ok = isinstance(value, str) and 1 <= len(value) <= 20 and value.isascii() and value.isdigit()
    return value if ok else fallback


def _sql_identifier(value, fallback: str) -> str:
    ok = (_bounded(value, 63) and value.isascii() and (value[0].isalpha() or value[0] == "_")
          and all(c.isalnum() or c == "_" for c in value))
    return value if ok else fallback


def _map_levered_body(body: dict) -> dict:
    provider = body.get("provider")
    g = body.get("credentials") if isinstance(body.get("credentials"), dict) else {}
    mapped = dict(body)
    if "project_id" in body or provider == "bigquery":
        mapped["project_id"] = _text(body.get("project_id"), "conformance")
    if "dataset_id" in body:
        mapped["dataset_id"] = _text(body.get("dataset_id"), "public")
    if provider == "postgres":
        c = {"host": _host(g.get("host")), "port": g.get("port") if isinstance(g.get("port"), int) else 5432,
             "database": _text(g.get("database"), "analytics", MAX_DATABASE_OBJECT),
             "username": _text(g.get("username"), "levered", MAX_DATABASE_OBJECT),
             "password": _secret(g.get("password"), "conformance-password")}
        if "sslmode" in g:
            c["sslmode"] = g["sslmode"]
    elif provider == "snowflake":
        c = {k: _text(g.get(k), fallback) for k, fallback in (
            ("account", "conformance"), ("username", "levered"), ("warehouse", "compute"),
            ("database", "analytics"))}
        if "schema" in g:
            c["schema"] = _text(g["schema"], "public")
        c["password"] = _secret(g.get("password"), "conformance-password")
    else:
        c = {k: v for k, v in g.items() if k not in ("type", "project_id", "private_key", "client_email")}
        c.update({"type": "service_account", "project_id": _text(g.get("project_id"), "conformance"),
                  "private_key": PEM,
                  "client_email": g["client_email"] if _email_ok(g.get("client_email"))
                  else "levered@conformance.iam.gserviceaccount.com"})
    mapped["credentials"] = c
    return mapped


def _map_lightdash_update(body: dict) -> dict:
    mapped = dict(body)
    if body.get("name") is not None:
        mapped["name"] = _text(body["name"], "conformance")
    if isinstance(body.get("credentials"), dict):
        credentials = _valid_credentials(body["credentials"])
        if credentials is not None:
            mapped["credentials"] = credentials
    return mapped


def _credible_sub_object(kind: str, g, attached: bool = False):
    g = g if isinstance(g, dict) else {}
    t = lambda name, fallback: _text(g.get(name), fallback)  # noqa: E731
    if kind == "postgres":
        c = {"host": _host(g.get("host"))}
        for name, fallback, limit in (("databaseName", "analytics", MAX_DATABASE_OBJECT), ("userName", "bi", MAX_TEXT)):
            if name in g:
                c[name] = _text(g[name], fallback, limit)
        if "password" in g:
            c["password"] = _secret(g["password"], "conformance-password")
    elif kind == "mysql":
        c = {"host": _host(g.get("host"))}
        if "database" in g:
            c["database"] = _text(g["database"], "analytics", MAX_DATABASE_OBJECT)
        if "user" in g:
            c["user"] = t("user", "bi")
        if "password" in g:
            c["password"] = _secret(g["password"], "conformance-password")
    elif kind == "bigquery":
        c = {name: t(name, "conformance") for name in ("defaultProjectId", "billingProjectId", "location") if name in g}
        for name in ("maximumBytesBilled", "queryTimeoutMilliseconds"):
            if name in g:
                c[name] = _digits(g[name], "1000")
        if attached or "serviceAccountKeyJson" in g:
            c["serviceAccountKeyJson"] = json.dumps({
                "type": "service_account", "project_id": "conformance", "private_key": PEM,
                "client_email": "bi@conformance.iam.gserviceaccount.com"})
    elif kind == "snowflake":
        c = {name: t(name, fallback) for name, fallback in (
            ("account", "conformance"), ("username", "bi"), ("warehouse", "compute"))}
        c.update({name: t(name, "conformance") for name in ("database", "schema", "role") if name in g})
        if "responseTimeoutMilliseconds" in g:
            c["responseTimeoutMilliseconds"] = g["responseTimeoutMilliseconds"]
        c["password"] = _secret(g.get("password"), "conformance-password")
        if "privateKey" in g:
            c["privateKey"] = PEM
        if "privateKeyPass" in g:
            c["privateKeyPass"] = _secret(g["privateKeyPass"], "conformance-passphrase")
    elif kind == "trino":
        c = {"server": _http_url(g.get("server"), "https://trino.conformance.internal")}
        c.update({name: t(name, "conformance") for name in ("catalog", "schema", "user") if name in g})
        c.update({name: _secret(g[name], "conformance-password") for name in ("password", "peakaKey") if name in g})
    elif kind == "motherduck":
        c = {"accessToken": _secret(g.get("accessToken"), "conformance-token")}
        if "database" in g:
            c["database"] = t("database", "conformance")
    elif kind in ("s3", "gcs"):
        key, secret = ("accessKeyId", "secretAccessKey") if kind == "s3" else ("keyId", "secret")
        key_id = g.get(key)
        c = {key: key_id if _access_key_id_ok(key_id) else "AKIAIOSFODNN7EXAMPLE",
             secret: _secret(g.get(secret), "conformance-secret")}
        if kind == "s3":
            if "region" in g:
                c["region"] = t("region", "us-east-1")
            if "endpoint" in g:
                c["endpoint"] = _http_url(g["endpoint"], "https://s3.conformance.internal")
            if "sessionToken" in g:
                c["sessionToken"] = _secret(g["sessionToken"], "conformance-session")
    else:  # duckdb
        databases = []
        for index, item in enumerate(g.get("attachedDatabases") or [{}]):
            item = item if isinstance(item, dict) else {}
            attached_kind = item.get("type") if item.get("type") in ("bigquery", "snowflake", "postgres", "gcs", "s3") else "s3"
            name = _sql_identifier(item.get("name"), "attached")
            if name in [d["name"] for d in databases]:
                name = f"attached_{index}"
            databases.append({"name": name, "type": attached_kind,
                              f"{attached_kind}Connection": _credible_sub_object(
                                  attached_kind, item.get(f"{attached_kind}Connection"), attached=True)})
        c = {"attachedDatabases": databases}
    for name in ("port",):
        if name in g and kind in ("postgres", "mysql", "trino") and isinstance(g[name], int):
            c[name] = g[name]
    return c


def _map_credible_connection(body: dict, name: str | None) -> dict:
    kind = body.get("type")
    if kind not in CREDIBLE_FIXTURES:
        return body
    mapped = {"type": kind}
    if name is not None and "name" in body:
        mapped["name"] = name
    elif name is None and "name" in body:
        mapped["name"] = _text(body["name"], "conformance")
    if name is not None and kind == "duckdb" and name == "duckdb":
        return body  # the path is what is refused: nothing in the body maps it
    mapped[f"{kind}Connection"] = _credible_sub_object(kind, body.get(f"{kind}Connection"))
    return mapped


def _map_rotation_settings(body: dict) -> dict:
    from contextlib import suppress

    mapped = dict(body)
    schedule = body.get("schedule")
    valid = False
    with suppress(Exception):
        valid = _schedule_ok(schedule)
    if not valid:
        mapped["schedule"] = "rate(30 days)"
    if body.get("strategy") == "alternating-users":
        mapped["adminCredentialId"] = _rotation_admin()
    return mapped


def _schedule_ok(text: str) -> bool:
    """credential_model::rotation::Schedule::parse, as Secrets Manager takes a schedule."""
    text = text.strip()
    if text.startswith("rate(") and text.endswith(")"):
        value, _, unit = text[5:-1].strip().partition(" ")
        allowed = {"hour": range(4, 24), "hours": range(4, 24), "day": range(1, 1001), "days": range(1, 1001)}
        return value.isascii() and value.isdigit() and int(value) in allowed.get(unit.strip(), ())
    if text.startswith("cron(") and text.endswith(")"):
        fields = text[5:-1].split()
        return (len(fields) == 6 and all(c.isascii() and (c.isalnum() or c in ",-*?/LW#") for f in fields for c in f)
                and "?" in (fields[2], fields[4]))
    return False


def _set_path(case, name: str, value) -> None:
    """Path parameter `name` set to `value` (or what `value()` makes), unless the case is about it."""
    if not _path_is_the_point(case, name):
        case.path_parameters = {**(case.path_parameters or {}), name: value() if callable(value) else value}


def _map_own(case) -> None:  # noqa: C901 - one branch per operation
    operation = f"{case.method.upper()} {case.operation.path}"
    positive = _is_positive(case)
    body = case.body if isinstance(case.body, dict) else None
    mapped = None
    if operation == "POST /api/v2/warehouse/connections" and positive and body is not None:
        mapped = _map_levered_body(body)
    elif operation == "PATCH /api/v1/user/warehouseCredentials/{uuid}":
        _set_path(case, "uuid", _fixture("lightdash", _lightdash_credential))
        if positive and body is not None:
            mapped = _map_lightdash_update(body)
    elif operation in ("GET /api/v1/credentials/{credential_id}", "PUT /api/v1/credentials/{credential_id}"):
        _set_path(case, "credential_id", _fixture("mielto", _mielto_credential))
    elif operation.startswith("GET /api/v0/projects/{projectName}/connections/{connectionName}"):
        _set_path(case, "projectName", CREDIBLE_PROJECT)
        _set_path(case, "connectionName", _fixture("credible-postgres", lambda: _credible_connection("postgres")))
    elif operation == "POST /api/v0/projects/{projectName}/connections/{connectionName}":
        name = (case.path_parameters or {}).get("connectionName")
        if positive and isinstance(name, str):
            # A new name for each case: a name already taken answers 409.
            name = _unique(f"{name[:60]}_")
            case.path_parameters = {**case.path_parameters, "connectionName": name}
        if positive and body is not None:
            mapped = _map_credible_connection(body, name)
    elif operation == "PATCH /api/v0/projects/{projectName}/connections/{connectionName}":
        sent = [k for k in (body or {}) if k.endswith("Connection") and k[: -len("Connection")] in CREDIBLE_FIXTURES]
        kind = sent[0][: -len("Connection")] if sent else "postgres"
        _set_path(case, "projectName", CREDIBLE_PROJECT)
        _set_path(case, "connectionName", _fixture(f"credible-{kind}", lambda: _credible_connection(kind)))
        if positive and body is not None:
            mapped = {f"{kind}Connection": _credible_sub_object(kind, body.get(f"{kind}Connection"))} if sent else {}
    elif operation == "POST /api/v0/connections/test" and positive and body is not None:
        mapped = _map_credible_connection(body, None)
    elif operation == "GET /strongroom/v1/credentials/{id}":
        _set_path(case, "id", _rotated())
    elif operation == "POST /strongroom/v1/credentials/{id}/reveal":
        _set_path(case, "id", _rotated())
        if positive:
            _drop_query(case, "versionId")
    elif operation == "GET /strongroom/v1/audit" and positive:
        _drop_query(case, "cursor")
        actor = (case.query or {}).get("actor")
        if isinstance(actor, str) and not _bounded(actor, MAX_TEXT):
            case.query = {**case.query, "actor": _text(actor, "user_conformance")}
            with _lock:
                _mapped.add(case.id)
    elif operation == "POST /strongroom/v1/tokens" and positive and body is not None:
        mapped = dict(body)
        mapped["name"] = _text(body.get("name"), "conformance", 100)
        if "expiresAt" in body:
            mapped["expiresAt"] = "2099-01-01T00:00:00Z"
    elif operation == "PUT /strongroom/v1/credentials/{id}/rotation":
        _set_path(case, "id", _rotated())
        if positive and body is not None:
            mapped = _map_rotation_settings(body)
    elif operation in ("DELETE /strongroom/v1/credentials/{id}/rotation", "POST /strongroom/v1/credentials/{id}/rotate"):
        _set_path(case, "id", _rotated())
    elif operation.startswith("POST /workspaces/{workspaceSlug}/databases") or operation.startswith(
        "GET /workspaces/{workspaceSlug}/databases"
    ):
        _set_path(case, "workspaceSlug", WORKSPACE)
        if "{databaseName}" in operation:
            _set_path(case, "databaseName", NILE_DATABASE)
        if operation == "POST /workspaces/{workspaceSlug}/databases" and positive and body is not None:
            name = body.get("databaseName")
            name = _unique(f"{name[:40]}_") if isinstance(name, str) and _sql_identifier(name, "") else _unique("conformance_")
            mapped = _nile_registration(name, body)
        if operation.endswith("/credentials/rotate") and positive and body is not None and "reason" in body:
            mapped = {**body, "reason": _text(body["reason"], "conformance", 1000)}
    if (operation.endswith("/credentials/rotate") and positive and case.body is not None
            and case.media_type not in (None, "application/json")):
        # Nile's rotate reads its body as JSON whatever the Content-Type (`*/*`): a positive body
        # schemathesis would write as YAML or XML for the media type it picked goes out as JSON.
        case.media_type = "application/json"
        with _lock:
            _mapped.add(case.id)
    if operation.startswith(("GET /strongroom/v1/credentials/{id}", "PUT /strongroom/v1/credentials/{id}",
                             "DELETE /strongroom/v1/credentials/{id}", "POST /strongroom/v1/credentials/{id}/rotate")) and positive:
        # A generated entity tag names no version of the fixture: 412 or 304, documented but
        # not the success path. tests/native_api.rs covers conditional requests.
        for header in [h for h in (case.headers or {}) if h.lower() in ("if-match", "if-none-match")]:
            del case.headers[header]
            with _lock:
                _mapped.add(case.id)
    if mapped is not None and mapped != body:
        case.body = mapped
        with _lock:
            _mapped.add(case.id)


def _drop_query(case, name: str) -> None:
    """A positive case's `name` query parameter left out: its generated value names nothing."""
    if name in (case.query or {}):
        case.query = {k: v for k, v in case.query.items() if k != name}
        with _lock:
            _mapped.add(case.id)


# Operations that remove what they act on get a fresh fixture, made right before the request.
# Others whose success path needs a state (a connection to test, rotation settings to act on)
# get it made right before too.


@schemathesis.hook
def before_call(context, case, **kwargs):
    if not OWN_DOCUMENT:
        return
    # Here, not in map_case: every phase's cases pass through, the examples' and the stateful
    # phase's too.
    _map_own(case)
    operation = f"{case.method.upper()} {case.operation.path}"
    if operation in ("DELETE /api/v2/warehouse/connections", "POST /api/v2/warehouse/connections/test"):
        _levered_connection()
    elif operation == "DELETE /api/v1/user/warehouseCredentials/{uuid}":
        _set_path(case, "uuid", _lightdash_credential)
    elif operation == "DELETE /api/v1/credentials/{credential_id}":
        _set_path(case, "credential_id", _mielto_credential)
    elif operation == "DELETE /api/v0/projects/{projectName}/connections/{connectionName}":
        if not _path_is_the_point(case, "projectName") and not _path_is_the_point(case, "connectionName"):
            case.path_parameters = {**(case.path_parameters or {}), "projectName": CREDIBLE_PROJECT,
                                    "connectionName": _credible_connection("postgres")}
    elif operation in ("DELETE /strongroom/v1/credentials/{id}/rotation", "POST /strongroom/v1/credentials/{id}/rotate"):
        if not _path_is_the_point(case, "id"):
            _api("PUT", f"/strongroom/v1/credentials/{_rotated()}/rotation",
                 {"schedule": "rate(30 days)", "strategy": "single-user"})
    elif operation == "DELETE /workspaces/{workspaceSlug}/databases/{databaseName}":
        _set_path(case, "workspaceSlug", WORKSPACE)
        _set_path(case, "databaseName", _nile_database)
    elif operation == "DELETE /workspaces/{workspaceSlug}/databases/{databaseName}/credentials/{credentialId}":
        _set_path(case, "workspaceSlug", WORKSPACE)
        _set_path(case, "databaseName", NILE_DATABASE)
        _set_path(case, "credentialId", _nile_credential)


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
