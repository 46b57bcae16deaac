//! The native routes, called with the fixtures in `events/` as their Lambda binaries serve
//! them, against the in-memory ports.

use credential_model::ports::{CredentialRepository, Expected, NewSecret, SecretVault, StoreError};
use credential_model::testing::{
    MemoryRepository, MemoryRotation, MemoryVault, RotationCall, record,
};
use credential_model::{
    AnyRecord, CredentialId, CredentialKind, CredentialService, OrgId, Provider, RecordKey, UserId,
};
use lambda_http::{Body, Request, Response};
use secrecy::SecretString;
use serde_json::{Value, json};
use strongroom_local_stack::testing::{body_json as body, fixture_with, has_no_body};

const GET: &str = include_str!("../../../events/strongroom-get-credential.json");
const SET: &str = include_str!("../../../events/strongroom-set-rotation.json");
const DELETE: &str = include_str!("../../../events/strongroom-delete-rotation.json");
const ROTATE: &str = include_str!("../../../events/strongroom-rotate-credential.json");

/// The password of every stored credential: no response may hold it.
const PASSWORD: &str = "canary-password-never-shown";

type Deps = native::Deps<MemoryRepository, MemoryVault, MemoryRotation>;

fn deps() -> Deps {
    native::Deps {
        store: CredentialService::new(MemoryRepository::default(), MemoryVault::default()),
        rotation: MemoryRotation::default(),
    }
}

fn org(name: &str) -> OrgId {
    OrgId::parse(name).expect("a valid organization")
}

/// Stores a credential of `kind` and `provider` under `key`, with a secret in the vault.
async fn store(deps: &Deps, key: RecordKey, id: CredentialId, provider: Provider) {
    let kind = key
        .slot
        .split('#')
        .next()
        .and_then(CredentialKind::parse)
        .expect("a kind");
    let document = SecretString::from(
        json!({"engine": provider.as_str(), "host": "db", "username": "app", "password": PASSWORD})
            .to_string(),
    );
    let created = deps
        .store
        .vault()
        .create(NewSecret {
            name: format!("{}/{kind}/{id}", key.organization),
            description: String::new(),
            document: &document,
            tags: Vec::new(),
            idempotency_token: uuid_text(),
        })
        .await
        .expect("the secret is created");
    let mut stored = record(key, id, provider, Default::default(), json!({}));
    stored.secret = created.secret;
    stored.secret_version = created.version_id;
    deps.store
        .repository()
        .put_any(
            &AnyRecord {
                kind,
                record: stored,
            },
            Expected::Absent,
        )
        .await
        .expect("the record is stored");
}

fn uuid_text() -> String {
    CredentialId::generate().to_string()
}

/// A Credible PostgreSQL connection of `org_fixture` (the fixtures' organization).
async fn postgres(deps: &Deps) -> CredentialId {
    let id = CredentialId::generate();
    let key = RecordKey::named(
        org("org_fixture"),
        CredentialKind::ProjectConnection,
        "analytics",
        &format!("pg-{id}"),
    );
    store(deps, key, id, Provider::Postgres).await;
    id
}

async fn stored(deps: &Deps, id: CredentialId) -> AnyRecord {
    let repository = deps.store.repository();
    let key = repository
        .locate(&org("org_fixture"), id)
        .await
        .expect("locate")
        .expect("stored");
    repository
        .get_any(&key)
        .await
        .expect("get")
        .expect("stored")
}

/// `json` for credential `id`, by `user` with `scopes`, and `body` when given.
fn request(json: &str, id: CredentialId, scopes: &str, user: &str, body: Option<Value>) -> Request {
    fixture_with(json, |event| {
        let path = event["rawPath"]
            .as_str()
            .expect("a path")
            .replace("3f2b8c1e-5d4a-4e8f-9b7c-2a1d6e0f4c93", &id.to_string());
        event["rawPath"] = path.clone().into();
        event["requestContext"]["http"]["path"] = path.into();
        event["pathParameters"]["id"] = id.to_string().into();
        let lambda = &mut event["requestContext"]["authorizer"]["lambda"];
        lambda["scopes"] = scopes.into();
        lambda["user_id"] = user.into();
        if let Some(body) = body {
            event["body"] = body.to_string().into();
        }
    })
}

const READ_WRITE: &str = "credentials:read credentials:write";

async fn call(binary: &str, deps: &Deps, request: Request) -> Response<Body> {
    let route = strongroom_edge::route(native::routes(), binary);
    let response = strongroom_edge::serve(&route, deps, request).await;
    let text = format!("{:?}", response.body());
    assert!(
        !text.contains(PASSWORD),
        "{binary} answered a secret: {text}"
    );
    response
}

async fn get(deps: &Deps, id: CredentialId, scopes: &str, user: &str) -> Response<Body> {
    call(
        "strongroom-get-credential",
        deps,
        request(GET, id, scopes, user, None),
    )
    .await
}

async fn set(deps: &Deps, id: CredentialId, body: Value) -> Response<Body> {
    call(
        "strongroom-set-rotation",
        deps,
        request(SET, id, READ_WRITE, "user_fixture", Some(body)),
    )
    .await
}

fn content_type(response: &Response<Body>) -> &str {
    response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
}

/// The fields a `400` problem names.
fn fields(response: &Response<Body>) -> Vec<String> {
    assert_eq!(response.status(), 400, "{}", body(response));
    assert_eq!(content_type(response), "application/problem+json");
    let problem = body(response);
    assert_eq!(problem["type"], "urn:strongroom:problem:invalid-request");
    assert_eq!(problem["status"], 400);
    problem["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .map(|e| e["field"].as_str().expect("a field").to_owned())
        .collect()
}

#[tokio::test]
async fn a_credential_reads_with_its_family_versions_and_rotation_never_its_secret() {
    let deps = deps();
    let id = postgres(&deps).await;
    let response = get(&deps, id, READ_WRITE, "user_fixture").await;
    assert_eq!(response.status(), 200);
    assert_eq!(content_type(&response), "application/json");
    let read = body(&response);
    let version = stored(&deps, id).await.record.secret_version;
    assert_eq!(read["id"], id.to_string());
    assert_eq!(read["family"], "credible");
    assert_eq!(read["kind"], "project-connection");
    assert_eq!(read["provider"], "postgres");
    assert_eq!(read["version"], 1);
    assert_eq!(read["secret"]["currentVersion"], version.as_str());
    assert_eq!(
        read["secret"]["versions"],
        json!([{"id": version, "stages": ["AWSCURRENT"]}])
    );
    assert_eq!(read["rotation"]["enabled"], false);
    assert_eq!(read["rotation"]["status"], Value::Null);
}

#[tokio::test]
async fn unknown_ids_other_organizations_and_other_users_own_credentials_are_the_same_404() {
    let deps = deps();
    let elsewhere = CredentialId::generate();
    store(
        &deps,
        RecordKey::item(
            org("org_other"),
            CredentialKind::GenericCredential,
            elsewhere,
        ),
        elsewhere,
        Provider::Generic,
    )
    .await;
    let theirs = CredentialId::generate();
    let owner = UserId::parse("user_owner").expect("valid");
    store(
        &deps,
        RecordKey::owned(
            org("org_fixture"),
            CredentialKind::UserWarehouseCredential,
            &owner,
            theirs,
        ),
        theirs,
        Provider::Snowflake,
    )
    .await;

    let unknown = body(&get(&deps, CredentialId::generate(), READ_WRITE, "user_fixture").await);
    assert_eq!(unknown["type"], "urn:strongroom:problem:not-found");
    assert_eq!(unknown["status"], 404);
    for id in [elsewhere, theirs] {
        let response = get(&deps, id, READ_WRITE, "user_fixture").await;
        assert_eq!(response.status(), 404);
        assert_eq!(content_type(&response), "application/problem+json");
        assert_eq!(body(&response), unknown, "indistinguishable from unknown");
    }
    let not_an_id = fixture_with(GET, |event| {
        event["pathParameters"]["id"] = "not-an-id".into()
    });
    let response = call("strongroom-get-credential", &deps, not_an_id).await;
    assert_eq!(
        body(&response),
        unknown,
        "an id that cannot be one is not found either"
    );
    let response = get(&deps, theirs, READ_WRITE, "user_owner").await;
    assert_eq!(response.status(), 200, "its owner sees it");
    assert_eq!(body(&response)["family"], "lightdash");
    let response = get(&deps, theirs, "credentials:admin", "user_fixture").await;
    assert_eq!(response.status(), 200, "an admin sees it");
    let response = get(&deps, elsewhere, "credentials:admin", "user_fixture").await;
    assert_eq!(response.status(), 404, "never another organization's");
}

#[tokio::test]
async fn rotation_settings_are_written_then_scheduled() {
    let deps = deps();
    let id = postgres(&deps).await;
    let response = set(
        &deps,
        id,
        json!({"schedule": "rate(30 days)", "strategy": "single-user"}),
    )
    .await;
    assert_eq!(response.status(), 200, "{}", body(&response));
    let read = body(&response);
    assert_eq!(read["rotation"]["enabled"], true);
    assert_eq!(read["rotation"]["schedule"], "rate(30 days)");
    assert_eq!(read["rotation"]["strategy"], "single-user");
    assert_eq!(read["version"], 2);
    let record = stored(&deps, id).await.record;
    assert_eq!(record.version, 2);
    assert_eq!(
        deps.rotation.calls(),
        [RotationCall::Schedule {
            secret: record.secret.0.clone(),
            schedule: "rate(30 days)".into()
        }]
    );
    assert_eq!(
        body(&get(&deps, id, READ_WRITE, "user_fixture").await),
        read
    );

    let admin = postgres(&deps).await;
    let response = set(
        &deps,
        id,
        json!({"schedule": "cron(0 4 ? * SUN *)", "strategy": "alternating-users",
               "adminCredentialId": admin.to_string()}),
    )
    .await;
    assert_eq!(response.status(), 200, "{}", body(&response));
    assert_eq!(
        body(&response)["rotation"]["adminCredentialId"],
        admin.to_string()
    );
}

#[tokio::test]
async fn bad_settings_name_their_field_and_write_nothing() {
    let deps = deps();
    let id = postgres(&deps).await;
    let mysql = CredentialId::generate();
    store(
        &deps,
        RecordKey::item(org("org_fixture"), CredentialKind::GenericCredential, mysql),
        mysql,
        Provider::Mysql,
    )
    .await;
    let foreign = CredentialId::generate();
    store(
        &deps,
        RecordKey::item(org("org_other"), CredentialKind::GenericCredential, foreign),
        foreign,
        Provider::Postgres,
    )
    .await;
    let alternating = |admin: Value| json!({"schedule": "rate(1 day)", "strategy": "alternating-users", "adminCredentialId": admin});
    for (sent, named) in [
        (
            json!({"schedule": "every day", "strategy": "single-user"}),
            vec!["schedule"],
        ),
        (
            json!({"schedule": "rate(1 hour)", "strategy": "single-user"}),
            vec!["schedule"],
        ),
        (
            json!({"schedule": 30, "strategy": "single-user"}),
            vec!["schedule"],
        ),
        (
            json!({"schedule": "rate(1 day)", "strategy": "round-robin"}),
            vec!["strategy"],
        ),
        (json!({"strategy": "single-user"}), vec!["schedule"]),
        (
            json!({"schedule": "rate(1 day)", "strategy": "alternating-users"}),
            vec!["adminCredentialId"],
        ),
        (
            json!({"schedule": "rate(1 day)", "strategy": "single-user", "adminCredentialId": mysql.to_string()}),
            vec!["adminCredentialId"],
        ),
        (
            json!({"schedule": "rate(1 day)", "strategy": "single-user", "extra": 1}),
            vec!["extra"],
        ),
        (alternating(json!("not-a-uuid")), vec!["adminCredentialId"]),
        (
            alternating(json!(CredentialId::generate().to_string())),
            vec!["adminCredentialId"],
        ),
        (
            alternating(json!(foreign.to_string())),
            vec!["adminCredentialId"],
        ),
        (
            alternating(json!(mysql.to_string())),
            vec!["adminCredentialId"],
        ),
        (
            alternating(json!(id.to_string())),
            vec!["adminCredentialId"],
        ),
        (
            json!({"schedule": "cron(0 16 * * *)", "strategy": 1}),
            vec!["schedule", "strategy"],
        ),
    ] {
        let response = set(&deps, id, sent.clone()).await;
        assert_eq!(fields(&response), named, "{sent}");
    }
    assert_eq!(stored(&deps, id).await.record.version, 1, "nothing written");
    assert!(deps.rotation.calls().is_empty(), "nothing scheduled");

    let snowflake = CredentialId::generate();
    store(
        &deps,
        RecordKey::item(
            org("org_fixture"),
            CredentialKind::GenericCredential,
            snowflake,
        ),
        snowflake,
        Provider::Snowflake,
    )
    .await;
    let response = set(
        &deps,
        snowflake,
        json!({"schedule": "rate(1 day)", "strategy": "single-user"}),
    )
    .await;
    assert_eq!(fields(&response), ["provider"]);
    assert!(
        body(&response)["errors"][0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("postgres"))
    );

    let response = call(
        "strongroom-set-rotation",
        &deps,
        request(SET, id, "credentials:read", "user_fixture", None),
    )
    .await;
    assert_eq!(response.status(), 403);
    assert_eq!(body(&response)["type"], "urn:strongroom:problem:forbidden");
}

#[tokio::test]
async fn a_refused_schedule_puts_the_settings_back_and_a_lost_race_is_409() {
    let deps = deps();
    let id = postgres(&deps).await;
    deps.rotation.set_down(true);
    let response = set(
        &deps,
        id,
        json!({"schedule": "rate(7 days)", "strategy": "single-user"}),
    )
    .await;
    assert_eq!(response.status(), 503);
    assert_eq!(
        body(&response)["type"],
        "urn:strongroom:problem:service-unavailable"
    );
    let record = stored(&deps, id).await.record;
    assert_eq!(record.rotation, Default::default(), "put back as it was");
    assert_eq!(record.version, 3);

    deps.rotation.set_down(false);
    deps.store
        .repository()
        .fail_next_write(StoreError::ConditionFailed);
    let response = set(
        &deps,
        id,
        json!({"schedule": "rate(7 days)", "strategy": "single-user"}),
    )
    .await;
    assert_eq!(response.status(), 409);
    assert_eq!(body(&response)["type"], "urn:strongroom:problem:conflict");
    assert!(deps.rotation.calls().is_empty(), "never scheduled");
}

#[tokio::test]
async fn deleting_rotation_cancels_then_clears_and_is_idempotent() {
    let deps = deps();
    let id = postgres(&deps).await;
    set(
        &deps,
        id,
        json!({"schedule": "rate(7 days)", "strategy": "single-user"}),
    )
    .await;
    for _ in 0..2 {
        let response = call(
            "strongroom-delete-rotation",
            &deps,
            request(DELETE, id, READ_WRITE, "user_fixture", None),
        )
        .await;
        assert_eq!(response.status(), 204);
        assert!(has_no_body(&response));
    }
    let record = stored(&deps, id).await.record;
    assert_eq!(record.rotation.settings, None);
    assert_eq!(record.version, 3, "the second delete wrote nothing");
    let cancels = deps
        .rotation
        .calls()
        .into_iter()
        .filter(|c| matches!(c, RotationCall::Cancel { .. }))
        .count();
    assert_eq!(cancels, 2);
}

#[tokio::test]
async fn rotate_now_needs_settings_records_its_token_and_a_failure_with_its_reason() {
    let deps = deps();
    let id = postgres(&deps).await;
    let rotate = || request(ROTATE, id, READ_WRITE, "user_fixture", None);
    let response = call("strongroom-rotate-credential", &deps, rotate()).await;
    assert_eq!(response.status(), 409);
    let problem = body(&response);
    assert_eq!(problem["type"], "urn:strongroom:problem:conflict");
    assert!(
        problem["detail"]
            .as_str()
            .is_some_and(|d| d.starts_with("rotation is not configured"))
    );

    set(
        &deps,
        id,
        json!({"schedule": "rate(7 days)", "strategy": "single-user"}),
    )
    .await;
    let response = call("strongroom-rotate-credential", &deps, rotate()).await;
    assert_eq!(response.status(), 202);
    let started = body(&response);
    assert_eq!(started["id"], id.to_string());
    assert_eq!(started["rotation"]["status"], "in-progress");
    let token = started["rotation"]["token"]
        .as_str()
        .expect("a token")
        .to_owned();
    let record = stored(&deps, id).await.record;
    assert!(deps.rotation.calls().contains(&RotationCall::RotateNow {
        secret: record.secret.0.clone(),
        token: token.clone()
    }));
    let read = body(&get(&deps, id, READ_WRITE, "user_fixture").await);
    assert_eq!(read["rotation"]["status"], "in-progress");
    assert_eq!(read["rotation"]["token"], token.as_str());

    deps.rotation.set_down(true);
    let response = call("strongroom-rotate-credential", &deps, rotate()).await;
    assert_eq!(response.status(), 503);
    let read = body(&get(&deps, id, READ_WRITE, "user_fixture").await);
    assert_eq!(read["rotation"]["status"], "failed");
    assert_eq!(
        read["rotation"]["reason"],
        "Secrets Manager did not start the rotation"
    );
    assert_eq!(read["rotation"]["enabled"], true, "the settings stay");
}
