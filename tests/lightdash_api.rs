//! The Lightdash family end to end: over HTTP through the local gateway, against moto.

use std::collections::BTreeSet;
use std::sync::Arc;

use credential_model::Scope;
use reqwest::Method;
use serde_json::{Value, json};
use strongroom_e2e::{ALL_SCOPES, Body, Harness, Reply, canary, org};

const CREDENTIALS: &str = "/api/v1/user/warehouseCredentials";
const PEM_HEAD: &str = "-----BEGIN PRIVATE KEY-----\n";
const PEM_TAIL: &str = "\n-----END PRIVATE KEY-----\n";
/// The keys of `UserWarehouseCredentials`.
const FIELDS: [&str; 7] = [
    "uuid",
    "userUuid",
    "name",
    "createdAt",
    "updatedAt",
    "project",
    "credentials",
];

fn path(uuid: &str) -> String {
    format!("{CREDENTIALS}/{uuid}")
}

/// One warehouse type with one authentication: what a client sends, what Lightdash shows of
/// it, and where the secret lands in the stored document.
struct Case {
    label: &'static str,
    credentials: Value,
    shown: Value,
    /// The document's field that holds the canary, and a path inside it for key files.
    secret_at: Option<&'static [&'static str]>,
}

/// Every warehouse type of Lightdash's `anyOf`, and each authentication type they have, with
/// `secret` as their secret material; a type without secret material carries it in a field
/// Lightdash does not have, which is never stored.
fn every_case(secret: &str) -> Vec<Case> {
    let pem = format!("{PEM_HEAD}{secret}{PEM_TAIL}");
    let user_password = |kind: &'static str| Case {
        label: kind,
        credentials: json!({"type": kind, "user": "analyst", "password": secret}),
        shown: json!({"type": kind, "user": "analyst"}),
        secret_at: Some(&["password"]),
    };
    vec![
        user_password("redshift"),
        user_password("postgres"),
        user_password("trino"),
        user_password("clickhouse"),
        Case {
            label: "snowflake password",
            credentials: json!({"type": "snowflake", "user": "ANALYST", "password": secret,
                "authenticationType": "password"}),
            shown: json!({"type": "snowflake", "user": "ANALYST"}),
            secret_at: Some(&["password"]),
        },
        Case {
            label: "snowflake private_key",
            credentials: json!({"type": "snowflake", "user": "ANALYST",
                "authenticationType": "private_key", "privateKey": pem,
                "privateKeyPass": "passphrase"}),
            shown: json!({"type": "snowflake", "user": "ANALYST"}),
            secret_at: Some(&["private_key"]),
        },
        Case {
            label: "snowflake sso",
            credentials: json!({"type": "snowflake", "user": "ANALYST",
                "authenticationType": "sso", "refreshToken": secret}),
            shown: json!({"type": "snowflake", "user": "ANALYST"}),
            secret_at: Some(&["refresh_token"]),
        },
        Case {
            label: "snowflake external_browser",
            credentials: json!({"type": "snowflake", "user": "ANALYST",
                "authenticationType": "external_browser", "unknownField": secret}),
            shown: json!({"type": "snowflake", "user": "ANALYST"}),
            secret_at: None,
        },
        Case {
            label: "snowflake none",
            credentials: json!({"type": "snowflake", "user": "ANALYST",
                "authenticationType": "none", "unknownField": secret}),
            shown: json!({"type": "snowflake", "user": "ANALYST"}),
            secret_at: None,
        },
        Case {
            label: "bigquery private_key",
            credentials: json!({"type": "bigquery", "authenticationType": "private_key",
                "keyfileContents": {"type": "service_account", "project_id": "analytics",
                    "private_key_id": "k1", "private_key": pem,
                    "client_email": "bi@analytics.iam.gserviceaccount.com"}}),
            shown: json!({"type": "bigquery"}),
            secret_at: Some(&["keyfile", "private_key"]),
        },
        Case {
            label: "bigquery sso",
            credentials: json!({"type": "bigquery", "authenticationType": "sso",
                "keyfileContents": {"refresh_token": secret}}),
            shown: json!({"type": "bigquery"}),
            secret_at: Some(&["keyfile", "refresh_token"]),
        },
        Case {
            label: "bigquery adc",
            credentials: json!({"type": "bigquery", "authenticationType": "adc",
                "keyfileContents": {"quota_project_id": "analytics"}, "unknownField": secret}),
            shown: json!({"type": "bigquery"}),
            secret_at: None,
        },
        Case {
            label: "databricks personal_access_token",
            credentials: json!({"type": "databricks", "personalAccessToken": secret,
                "serverHostName": "dbc-1234.cloud.databricks.com",
                "httpPath": "/sql/1.0/warehouses/abc", "database": "main"}),
            shown: json!({"type": "databricks"}),
            secret_at: Some(&["personal_access_token"]),
        },
        Case {
            label: "databricks oauth_m2m",
            credentials: json!({"type": "databricks", "authenticationType": "oauth_m2m",
                "oauthClientId": "client-1", "oauthClientSecret": secret}),
            shown: json!({"type": "databricks"}),
            secret_at: Some(&["oauth_client_secret"]),
        },
        Case {
            label: "databricks oauth_u2m",
            credentials: json!({"type": "databricks", "authenticationType": "oauth_u2m",
                "refreshToken": secret}),
            shown: json!({"type": "databricks"}),
            secret_at: Some(&["refresh_token"]),
        },
        Case {
            label: "athena access key",
            credentials: json!({"type": "athena", "accessKeyId": "AKIAIOSFODNN7EXAMPLE",
                "secretAccessKey": secret}),
            shown: json!({"type": "athena"}),
            secret_at: Some(&["secret_access_key"]),
        },
        Case {
            label: "athena role",
            credentials: json!({"type": "athena", "unknownField": secret}),
            shown: json!({"type": "athena"}),
            secret_at: None,
        },
        Case {
            label: "duckdb motherduck token",
            credentials: json!({"type": "duckdb", "token": secret}),
            shown: json!({"type": "duckdb"}),
            secret_at: Some(&["token"]),
        },
    ]
}

/// The `results` of a successful answer.
fn results(reply: &Reply) -> Value {
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(reply.content_type.as_deref(), Some("application/json"));
    let body = reply.json();
    assert_eq!(body["status"], "ok", "{body}");
    body["results"].clone()
}

fn uuid_of(credentials: &Value) -> String {
    credentials["uuid"].as_str().expect("a uuid").to_owned()
}

async fn uuids(api: &Harness, token: &str) -> Vec<String> {
    results(&api.get(CREDENTIALS, token).await)
        .as_array()
        .expect("a list")
        .iter()
        .map(uuid_of)
        .collect()
}

async fn patch(api: &Harness, token: &str, uuid: &str, body: &Value) -> Reply {
    api.send_json(Method::PATCH, &path(uuid), token, body).await
}

/// The organization's one live secret: its ARN and current document.
async fn only_secret(api: &Harness, org: &str) -> (String, Value) {
    let secrets = api.live_secrets(org).await;
    assert_eq!(secrets.len(), 1, "{secrets:?}");
    let document = api.current_secret(&secrets[0]).await;
    (secrets[0].clone(), document)
}

fn at<'a>(document: &'a Value, path: &[&str]) -> &'a Value {
    path.iter().fold(document, |value, step| &value[*step])
}

/// An `ApiErrorPayload` naming `field` (when given) with `status` and `name`.
fn assert_error(reply: &Reply, status: u16, name: &str, field: Option<&str>) {
    assert_eq!(reply.status, status, "{}", reply.text);
    let body = reply.json();
    assert_eq!(body["status"], "error", "{body}");
    let error = &body["error"];
    assert_eq!(error["statusCode"], status, "{body}");
    assert_eq!(error["name"], name, "{body}");
    assert!(error["message"].is_string(), "{body}");
    if let Some(field) = field {
        assert!(
            error["data"]["fields"].get(field).is_some(),
            "{field} is not named: {body}"
        );
    }
}

#[tokio::test]
async fn every_warehouse_type_and_authentication_lives_through_create_list_update_delete() {
    let Some(api) = Harness::start().await else {
        return;
    };
    let org = org("types");
    let token = api.token(&org, "user_1", ALL_SCOPES);
    let mut canaries = Vec::new();
    for case in every_case("unused") {
        let secret = canary();
        let case = every_case(&secret)
            .into_iter()
            .find(|c| c.label == case.label)
            .expect("the same case");
        canaries.push(secret.clone());

        let body = json!({"name": case.label, "credentials": case.credentials});
        let created = results(&api.post(CREDENTIALS, &token, &body).await);
        let keys: BTreeSet<&str> = created
            .as_object()
            .expect("an object")
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(keys, BTreeSet::from(FIELDS), "{}", case.label);
        assert_eq!(created["name"], case.label);
        assert_eq!(created["userUuid"], "user_1");
        assert_eq!(created["project"], Value::Null);
        assert_eq!(created["credentials"], case.shown, "{}", case.label);
        let uuid = uuid_of(&created);
        assert_eq!(
            uuids(&api, &token).await,
            vec![uuid.clone()],
            "{}",
            case.label
        );

        let (arn, document) = only_secret(&api, &org).await;
        let credentials_type = case.credentials["type"].as_str().expect("a type");
        assert_eq!(document["engine"], credentials_type, "{}", case.label);
        match case.secret_at {
            Some(field) => assert!(
                at(&document, field)
                    .as_str()
                    .is_some_and(|s| s.contains(&secret)),
                "{}: {document}",
                case.label
            ),
            None => assert!(!document.to_string().contains(&secret)),
        }
        let described = api.describe_secret(&arn).await;
        assert_eq!(
            described.name,
            format!(
                "{}/{org}/user-warehouse-credential/{uuid}",
                api.stack.secret_prefix
            )
        );
        assert_eq!(described.kms_key_id, api.stack.kms_key_arn);
        assert_eq!(described.tag("strongroom:organization"), Some(org.as_str()));
        assert_eq!(described.tag("strongroom:provider"), Some(credentials_type));

        // A rename leaves the secret as it was; credentials sent without their secrets keep them.
        let renamed = results(
            &patch(
                &api,
                &token,
                &uuid,
                &json!({"name": format!("{} renamed", case.label)}),
            )
            .await,
        );
        assert_eq!(renamed["uuid"], uuid.as_str());
        assert_eq!(renamed["credentials"], case.shown);
        let mut without_secrets = case.credentials.clone();
        for field in [
            "password",
            "privateKey",
            "privateKeyPass",
            "refreshToken",
            "keyfileContents",
            "personalAccessToken",
            "oauthClientSecret",
            "accessKeyId",
            "secretAccessKey",
            "token",
        ] {
            without_secrets
                .as_object_mut()
                .expect("an object")
                .remove(field);
        }
        let updated = results(
            &patch(
                &api,
                &token,
                &uuid,
                &json!({"credentials": without_secrets}),
            )
            .await,
        );
        assert_eq!(updated["name"], format!("{} renamed", case.label));
        assert_eq!(updated["createdAt"], created["createdAt"]);
        let (same_arn, kept) = only_secret(&api, &org).await;
        assert_eq!((same_arn, &kept), (arn, &document), "{}", case.label);

        let reply = api.delete(&path(&uuid), &token).await;
        assert_eq!(reply.status, 200, "{}", reply.text);
        assert_eq!(reply.json(), json!({"status": "ok"}));
        assert!(uuids(&api, &token).await.is_empty());
        assert!(api.live_secrets(&org).await.is_empty(), "{}", case.label);
        assert_error(
            &api.delete(&path(&uuid), &token).await,
            404,
            "NotFoundError",
            None,
        );
    }
    assert_eq!(api.item_count().await, 0);
    for secret in canaries {
        api.assert_never_exposed(&secret).await;
    }
}

/// A rotation Strongroom did not drive (AWS's template, the console: a new version made
/// current, the metadata untouched) is kept by a later update that leaves the password out:
/// the update merges from the version the rotation wrote, never rolls the password back.
#[tokio::test]
async fn an_update_after_an_outside_rotation_keeps_the_rotated_password() {
    let Some(api) = Harness::start().await else {
        return;
    };
    let org = org("outside");
    let token = api.token(&org, "user_1", ALL_SCOPES);
    let (original, rotated) = (canary(), canary());
    let created = results(
        &api.post(
            CREDENTIALS,
            &token,
            &json!({"name": "pg", "credentials": {"type": "postgres", "user": "a",
                "password": original}}),
        )
        .await,
    );
    let uuid = uuid_of(&created);
    let (arn, mut document) = only_secret(&api, &org).await;
    document["password"] = json!(rotated);
    api.secrets()
        .put_secret_value()
        .secret_id(&arn)
        .secret_string(document.to_string())
        .version_stages("AWSCURRENT")
        .send()
        .await
        .expect("rotated outside Strongroom");
    let renamed = patch(
        &api,
        &token,
        &uuid,
        &json!({"name": "renamed", "credentials": {"type": "postgres", "user": "b"}}),
    )
    .await;
    assert_eq!(results(&renamed)["credentials"]["user"], "b");
    assert_eq!(
        only_secret(&api, &org).await.1["password"],
        rotated.as_str(),
        "the update put the pre-rotation password back"
    );
}

#[tokio::test]
async fn an_update_replaces_the_secrets_it_sends_and_a_new_type_brings_its_own() {
    let Some(api) = Harness::start().await else {
        return;
    };
    let org = org("update");
    let token = api.token(&org, "user_1", ALL_SCOPES);
    let (first, second, third) = (canary(), canary(), canary());
    let created = results(
        &api.post(
            CREDENTIALS,
            &token,
            &json!({"name": "pg", "credentials": {"type": "postgres", "user": "a",
                "password": first}}),
        )
        .await,
    );
    let uuid = uuid_of(&created);

    // A redaction placeholder keeps the stored password; a real one replaces it.
    let kept = patch(
        &api,
        &token,
        &uuid,
        &json!({"credentials": {"type": "postgres", "user": "b", "password": "********"}}),
    )
    .await;
    assert_eq!(results(&kept)["credentials"]["user"], "b");
    let (arn, document) = only_secret(&api, &org).await;
    assert_eq!(
        document,
        json!({"engine": "postgres", "username": "b", "password": first})
    );
    results(
        &patch(
            &api,
            &token,
            &uuid,
            &json!({"credentials": {"type": "postgres", "user": "b", "password": second}}),
        )
        .await,
    );
    assert_eq!(only_secret(&api, &org).await.1["password"], second.as_str());

    // A new type must bring its secrets; the refused change leaves everything as it was.
    let refused = patch(
        &api,
        &token,
        &uuid,
        &json!({"name": "changed", "credentials": {"type": "snowflake", "user": "S"}}),
    )
    .await;
    assert_error(
        &refused,
        400,
        "ParameterError",
        Some("credentials.password"),
    );
    assert_eq!(
        results(&api.get(CREDENTIALS, &token).await)[0]["name"],
        "pg"
    );
    let changed = patch(
        &api,
        &token,
        &uuid,
        &json!({"credentials": {"type": "snowflake", "user": "S", "password": third}}),
    )
    .await;
    assert_eq!(
        results(&changed)["credentials"],
        json!({"type": "snowflake", "user": "S"})
    );
    let (same_arn, document) = only_secret(&api, &org).await;
    assert_eq!(same_arn, arn, "the same secret, a new version");
    assert_eq!(
        document,
        json!({"engine": "snowflake", "username": "S", "authentication_type": "password",
            "password": third})
    );
    for secret in [first, second, third] {
        api.assert_never_exposed(&secret).await;
    }
}

#[tokio::test]
async fn users_and_organizations_never_reach_each_others_credentials() {
    let Some(api) = Harness::start().await else {
        return;
    };
    let (org_a, org_b) = (org("a"), org("b"));
    let owner = api.token(&org_a, "user_1", ALL_SCOPES);
    let colleague = api.token(&org_a, "user_2", ALL_SCOPES);
    let outsider = api.token(&org_b, "user_1", ALL_SCOPES);
    let secret = canary();
    let created = results(
        &api.post(
            CREDENTIALS,
            &owner,
            &json!({"name": "mine", "credentials": {"type": "trino", "user": "t",
                "password": secret}}),
        )
        .await,
    );
    let uuid = uuid_of(&created);
    for token in [&colleague, &outsider] {
        assert!(uuids(&api, token).await.is_empty());
        let replace = json!({"name": "taken", "credentials": {"type": "trino", "user": "x",
            "password": "stolen"}});
        assert_error(
            &patch(&api, token, &uuid, &replace).await,
            404,
            "NotFoundError",
            None,
        );
        assert_error(
            &api.delete(&path(&uuid), token).await,
            404,
            "NotFoundError",
            None,
        );
    }
    // An unknown uuid and a foreign one answer alike.
    let unknown = patch(
        &api,
        &owner,
        "00000000-0000-4000-8000-000000000000",
        &json!({}),
    )
    .await;
    let foreign = patch(&api, &colleague, &uuid, &json!({})).await;
    assert_error(&unknown, 404, "NotFoundError", None);
    assert_error(&foreign, 404, "NotFoundError", None);
    assert_eq!(
        unknown.json()["error"]["message"],
        foreign.json()["error"]["message"]
    );

    assert_eq!(
        results(&api.get(CREDENTIALS, &owner).await),
        json!([created])
    );
    let (_, document) = only_secret(&api, &org_a).await;
    assert_eq!(document["password"], secret.as_str());
    assert!(api.live_secrets(&org_b).await.is_empty());
    api.assert_never_exposed(&secret).await;
}

#[tokio::test]
async fn bad_input_names_the_field_and_writes_nothing() {
    let Some(api) = Harness::start().await else {
        return;
    };
    let org = org("bad");
    let token = api.token(&org, "user_1", ALL_SCOPES);
    let secret = canary();
    let cases = [
        (
            json!({"credentials": {"type": "duckdb", "token": secret}}),
            "name",
        ),
        (
            json!({"name": "", "credentials": {"type": "duckdb", "token": secret}}),
            "name",
        ),
        (
            json!({"name": 7, "credentials": {"type": "duckdb", "token": secret}}),
            "name",
        ),
        (json!({"name": "n"}), "credentials"),
        (json!({"name": "n", "credentials": [secret]}), "credentials"),
        (
            json!({"name": "n", "credentials": {"user": "u"}}),
            "credentials.type",
        ),
        (
            json!({"name": "n", "credentials": {"type": "oracle", "password": secret}}),
            "credentials.type",
        ),
        (
            json!({"name": "n", "credentials": {"type": "postgres", "password": secret}}),
            "credentials.user",
        ),
        (
            json!({"name": "n", "credentials": {"type": "postgres", "user": "u"}}),
            "credentials.password",
        ),
        (
            json!({"name": "n", "credentials": {"type": "postgres", "user": "u", "password": 5}}),
            "credentials.password",
        ),
        (
            json!({"name": "n", "credentials": {"type": "postgres", "user": "u",
            "password": "[REDACTED]"}}),
            "credentials.password",
        ),
        (
            json!({"name": "n", "credentials": {"type": "snowflake", "user": "u",
            "authenticationType": "oauth", "password": secret}}),
            "credentials.authenticationType",
        ),
        (
            json!({"name": "n", "credentials": {"type": "snowflake", "user": "u",
            "authenticationType": "sso", "password": secret, "refreshToken": secret}}),
            "credentials.password",
        ),
        (
            json!({"name": "n", "credentials": {"type": "snowflake", "user": "u",
            "authenticationType": "private_key", "privateKey": secret}}),
            "credentials.privateKey",
        ),
        (
            json!({"name": "n", "credentials": {"type": "bigquery",
            "keyfileContents": {"client_email": "a@b.iam.gserviceaccount.com"}}}),
            "credentials.keyfileContents.private_key",
        ),
        (
            json!({"name": "n", "credentials": {"type": "bigquery", "authenticationType": "adc",
            "keyfileContents": {"nested": {"secret": secret}}}}),
            "credentials.keyfileContents.nested",
        ),
        (
            json!({"name": "n", "credentials": {"type": "databricks",
            "authenticationType": "oauth_m2m", "oauthClientId": "c"}}),
            "credentials.oauthClientSecret",
        ),
        (
            json!({"name": "n", "credentials": {"type": "databricks", "personalAccessToken": secret,
            "serverHostName": "https://dbc.cloud.databricks.com/"}}),
            "credentials.serverHostName",
        ),
        (
            json!({"name": "n", "credentials": {"type": "athena", "secretAccessKey": secret}}),
            "credentials.accessKeyId",
        ),
        (
            json!({"name": "n", "credentials": {"type": "duckdb"}}),
            "credentials.token",
        ),
    ];
    for (body, field) in &cases {
        let reply = api.post(CREDENTIALS, &token, body).await;
        assert_error(&reply, 400, "ParameterError", Some(field));
    }
    let raw = [
        (
            "application/json",
            "{\"name\": \"n\", \"credentials\": {".to_owned(),
            400,
            "ParameterError",
        ),
        ("application/json", String::new(), 400, "ParameterError"),
        (
            "text/plain",
            json!({"name": "n"}).to_string(),
            415,
            "UnsupportedMediaTypeError",
        ),
        (
            "application/json",
            json!({"name": "n", "credentials": {"type": "duckdb",
                "token": "x".repeat(70 * 1024)}})
            .to_string(),
            413,
            "PayloadTooLargeError",
        ),
    ];
    for (content_type, text, status, name) in raw {
        let reply = api
            .send(
                Method::POST,
                CREDENTIALS,
                Some(&token),
                Body::Raw { content_type, text },
            )
            .await;
        assert_error(&reply, status, name, None);
    }
    assert_eq!(api.item_count().await, 0, "nothing was written");
    assert!(api.live_secrets(&org).await.is_empty());
    api.assert_never_exposed(&secret).await;
}

#[tokio::test]
async fn bad_tokens_get_401_and_missing_scopes_403_in_lightdash_shape() {
    let Some(api) = Harness::start().await else {
        return;
    };
    let org = org("auth");
    let body = json!({"name": "n", "credentials": {"type": "duckdb", "token": canary()}});
    let expired = api.token_for(&org, "user_1", ALL_SCOPES, -60);
    let reply = api
        .send(Method::GET, CREDENTIALS, Some("not-a-jwt"), Body::None)
        .await;
    assert_error(&reply, 401, "AuthorizationError", None);
    assert_error(
        &api.get(CREDENTIALS, &expired).await,
        401,
        "AuthorizationError",
        None,
    );

    let reader = api.token(&org, "user_1", &[Scope::Read]);
    assert_eq!(results(&api.get(CREDENTIALS, &reader).await), json!([]));
    assert_error(
        &api.post(CREDENTIALS, &reader, &body).await,
        403,
        "ForbiddenError",
        None,
    );
    let writer = api.token(&org, "user_1", &[Scope::Write]);
    assert_error(
        &api.get(CREDENTIALS, &writer).await,
        403,
        "ForbiddenError",
        None,
    );
    let uuid = uuid_of(&results(&api.post(CREDENTIALS, &writer, &body).await));
    assert_error(
        &api.delete(&path(&uuid), &reader).await,
        403,
        "ForbiddenError",
        None,
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_updates_have_one_winner_and_the_secret_agrees_with_it() {
    let Some(api) = Harness::start().await else {
        return;
    };
    let api = Arc::new(api);
    let org = org("race");
    let token = api.token(&org, "user_1", ALL_SCOPES);
    let created = results(
        &api.post(
            CREDENTIALS,
            &token,
            &json!({"name": "pg", "credentials": {"type": "postgres", "user": "u",
                "password": canary()}}),
        )
        .await,
    );
    let uuid = uuid_of(&created);
    let mut conflicts = 0;
    let mut passwords = Vec::new();
    for round in 0..5 {
        // Each racer sends its own user with its own password, so metadata and secret can be
        // checked against each other afterwards.
        let racers: Vec<(String, String)> = (0..6)
            .map(|n| (format!("user_{round}_{n}"), canary()))
            .collect();
        let mut tasks = tokio::task::JoinSet::new();
        for (user, password) in &racers {
            let (api, token, uuid) = (api.clone(), token.clone(), uuid.clone());
            let body = json!({"credentials": {"type": "postgres", "user": user,
                "password": password}});
            tasks.spawn(async move { patch(&api, &token, &uuid, &body).await });
        }
        let mut winners = 0;
        for reply in tasks.join_all().await {
            match reply.status {
                200 => winners += 1,
                409 => {
                    assert_error(&reply, 409, "ConflictError", None);
                    conflicts += 1;
                }
                other => panic!("round {round}: unexpected {other}: {}", reply.text),
            }
        }
        assert!(winners >= 1, "round {round}: no update won");
        let listed = results(&api.get(CREDENTIALS, &token).await);
        let user = listed[0]["credentials"]["user"].as_str().expect("a user");
        let (_, document) = only_secret(&api, &org).await;
        let password = &racers.iter().find(|(u, _)| u == user).expect("a racer").1;
        assert_eq!(
            document,
            json!({"engine": "postgres", "username": user, "password": password}),
            "round {round}: the secret belongs to the metadata that won"
        );
        passwords.extend(racers.into_iter().map(|(_, password)| password));
        if conflicts > 0 {
            break;
        }
    }
    assert!(conflicts > 0, "the updates never raced");
    for password in &passwords {
        api.assert_never_exposed(password).await;
    }
}

#[tokio::test]
async fn a_placeholder_nested_in_a_key_file_keeps_the_stored_value() {
    let Some(api) = Harness::start().await else {
        return;
    };
    let org = org("nested");
    let token = api.token(&org, "user_1", ALL_SCOPES);
    let secret = canary();
    let created = results(
        &api.post(
            CREDENTIALS,
            &token,
            &json!({"name": "bq", "credentials": {"type": "bigquery", "authenticationType": "sso",
                "keyfileContents": {"refresh_token": secret, "client_id": "c1"}}}),
        )
        .await,
    );
    let reply = patch(
        &api,
        &token,
        &uuid_of(&created),
        &json!({"credentials": {"type": "bigquery", "authenticationType": "sso",
            "keyfileContents": {"refresh_token": "********", "client_id": "c2"}}}),
    )
    .await;
    results(&reply);
    let (_, document) = only_secret(&api, &org).await;
    assert_eq!(
        document["keyfile"],
        json!({"refresh_token": secret, "client_id": "c2"})
    );
    api.assert_never_exposed(&secret).await;
}

#[tokio::test]
async fn a_change_of_warehouse_type_retags_the_secret() {
    let Some(api) = Harness::start().await else {
        return;
    };
    let org = org("retag");
    let token = api.token(&org, "user_1", ALL_SCOPES);
    let created = results(
        &api.post(
            CREDENTIALS,
            &token,
            &json!({"name": "pg", "credentials": {"type": "postgres", "user": "a",
                "password": canary()}}),
        )
        .await,
    );
    let (arn, _) = only_secret(&api, &org).await;
    assert_eq!(
        api.describe_secret(&arn).await.tag("strongroom:provider"),
        Some("postgres")
    );
    results(
        &patch(
            &api,
            &token,
            &uuid_of(&created),
            &json!({"credentials": {"type": "snowflake", "user": "S", "password": canary()}}),
        )
        .await,
    );
    assert_eq!(
        api.describe_secret(&arn).await.tag("strongroom:provider"),
        Some("snowflake")
    );
}

/// Updates racing deletes: an update that finds its secret deleted under it answers as the
/// credentials are (gone: 404; changed: 409), never that the vault is unavailable.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn updates_racing_deletes_answer_not_found_or_conflict_never_unavailable() {
    let Some(api) = Harness::start().await else {
        return;
    };
    let api = Arc::new(api);
    let org = org("update_delete");
    let token = api.token(&org, "user_1", ALL_SCOPES);
    let secret = canary();
    let (mut refused_updates, mut deletes) = (0, 0);
    for _ in 0..16 {
        let created = results(
            &api.post(
                CREDENTIALS,
                &token,
                &json!({"name": "pg", "credentials": {"type": "postgres", "user": "u",
                    "password": secret}}),
            )
            .await,
        );
        let uuid = uuid_of(&created);
        let mut racers = tokio::task::JoinSet::new();
        for n in 0..8 {
            let (api, token, uuid) = (api.clone(), token.clone(), uuid.clone());
            let body = json!({"credentials": {"type": "postgres", "user": format!("u{n}")}});
            racers.spawn(async move {
                if n < 6 {
                    (Method::PATCH, patch(&api, &token, &uuid, &body).await)
                } else {
                    (Method::DELETE, api.delete(&path(&uuid), &token).await)
                }
            });
        }
        for (method, reply) in racers.join_all().await {
            match (&method, reply.status) {
                (&Method::PATCH, 200) | (&Method::DELETE, 200) => {}
                (&Method::PATCH, 404) | (&Method::DELETE, 404) => {
                    assert_error(&reply, 404, "NotFoundError", None)
                }
                (_, 409) => assert_error(&reply, 409, "ConflictError", None),
                (method, status) => panic!("{method} answered {status}: {}", reply.text),
            }
            match (&method, reply.status) {
                (&Method::PATCH, 404 | 409) => refused_updates += 1,
                (&Method::DELETE, 200) => deletes += 1,
                _ => {}
            }
        }
    }
    assert!(
        refused_updates > 0 && deletes > 0,
        "the race did not happen: {refused_updates} updates refused, {deletes} deletes"
    );
    api.assert_secrets_match_metadata(&org, "after the races")
        .await;
    api.assert_never_exposed(&secret).await;
}

/// A dependency down: every route answers 503 as Lightdash's `ServiceUnavailableError`, gives
/// no detail, writes nothing half-way, and logs its cause without a secret in it.
#[tokio::test]
async fn a_dependency_down_answers_503_in_lightdash_shape_and_logs_no_secret() {
    let Some(api) = Harness::start().await else {
        return;
    };
    let org = org("outage");
    let token = api.token(&org, "user_1", ALL_SCOPES);
    let secret = canary();
    let body = json!({"name": "pg", "credentials": {"type": "postgres", "user": "u",
        "password": secret}});
    let uuid = uuid_of(&results(&api.post(CREDENTIALS, &token, &body).await));
    api.break_the_table().await;
    for reply in [
        api.post(CREDENTIALS, &token, &body).await,
        api.get(CREDENTIALS, &token).await,
        patch(&api, &token, &uuid, &body).await,
        api.delete(&path(&uuid), &token).await,
    ] {
        assert_error(&reply, 503, "ServiceUnavailableError", None);
        assert_eq!(
            reply.json()["error"]["message"],
            "the metadata store is temporarily unavailable; retry shortly"
        );
    }
    assert_eq!(
        api.live_secrets(&org).await.len(),
        1,
        "the refused create's secret was discarded"
    );
    api.assert_outage_logged_without(&secret);
}
