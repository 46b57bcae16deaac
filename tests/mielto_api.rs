//! The Mielto family end to end: over HTTP through the local gateway, against moto.

use std::collections::BTreeSet;
use std::sync::Arc;

use credential_model::Scope;
use credential_model::credential::{now, parse_rfc3339};
use reqwest::Method;
use serde_json::{Value, json};
use strongroom_e2e::{ALL_SCOPES, Body, Harness, Reply, canary, org, unique_suffix};

const CREDENTIALS: &str = "/api/v1/credentials";

const AUTH_TYPES: [&str; 10] = [
    "api_key",
    "oauth_token",
    "oauth_token_refresh",
    "oauth_token_refresh_rotation",
    "basic_auth",
    "access_token",
    "access_token_refresh",
    "public_key_secret",
    "connection_string",
    "custom",
];
const CREDENTIAL_TYPES: [&str; 6] = [
    "integration",
    "llm",
    "storage",
    "vector_store",
    "auth_provider",
    "custom",
];
const READ_FIELDS: [&str; 15] = [
    "label",
    "description",
    "auth_type",
    "credential_type",
    "credential_scope",
    "provider",
    "user_id",
    "id",
    "workspace_id",
    "created_by",
    "status",
    "expires_at",
    "last_used_at",
    "created_at",
    "updated_at",
];

fn credential_path(id: &str) -> String {
    format!("{CREDENTIALS}/{id}")
}

/// A `CredentialCreate` body whose raw credentials hold `secret`.
fn api_key(label: &str, secret: &str) -> Value {
    json!({
        "label": label,
        "description": "Used by the support agents",
        "auth_type": "api_key",
        "credential_type": "llm",
        "credential_scope": "workspace",
        "provider": "openai",
        "user_id": "user_42",
        "credentials": {"api_key": secret, "organization": "org-123"},
    })
}

async fn create(api: &Harness, token: &str, body: &Value) -> Value {
    let reply = api.post(CREDENTIALS, token, body).await;
    assert_eq!(reply.status, 200, "{body} → {}", reply.text);
    assert_eq!(reply.content_type.as_deref(), Some("application/json"));
    reply.json()
}

/// FastAPI's `{"detail": "<message>"}` with `status`.
fn assert_detail(reply: &Reply, status: u16, message: &str) {
    assert_eq!(reply.status, status, "{}", reply.text);
    assert_eq!(reply.json(), json!({ "detail": message }));
}

const NOT_FOUND: &str = "Credential not found";

fn id_of(credential: &Value) -> String {
    credential["id"].as_str().expect("an id").to_owned()
}

/// The ids a list answered, in order.
fn ids(reply: &Reply) -> Vec<String> {
    assert_eq!(reply.status, 200, "{}", reply.text);
    reply
        .json()
        .as_array()
        .expect("an array")
        .iter()
        .map(id_of)
        .collect()
}

/// The secret's ARN and its document at `AWSCURRENT`, for the organization's one live secret.
async fn only_secret(api: &Harness, org: &str) -> (String, Value) {
    let secrets = api.live_secrets(org).await;
    assert_eq!(secrets.len(), 1, "{secrets:?}");
    let document = api.current_secret(&secrets[0]).await;
    (secrets[0].clone(), document)
}

fn assert_validation_error(reply: &Reply, loc: Value, kind: &str) {
    assert_eq!(reply.status, 422, "{}", reply.text);
    let detail = reply.json()["detail"].clone();
    let errors = detail.as_array().expect("a detail list");
    assert!(
        errors
            .iter()
            .any(|e| e["loc"] == loc && e["type"] == kind && e["msg"].is_string()),
        "{loc} {kind}: {detail}"
    );
    for error in errors {
        let keys: BTreeSet<&str> = error
            .as_object()
            .expect("an object")
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(keys, BTreeSet::from(["loc", "msg", "type"]), "{error}");
    }
}

#[tokio::test]
async fn every_auth_type_and_credential_type_lives_through_create_list_get_update_delete() {
    let Some(api) = Harness::start().await else {
        return;
    };
    let org = org("life");
    let token = api.token(&org, "user_1", ALL_SCOPES);
    let mut canaries = Vec::new();
    let mut created = Vec::new();
    for (n, auth_type) in AUTH_TYPES.iter().enumerate() {
        let secret = canary();
        let credential_type = CREDENTIAL_TYPES.get(n).copied();
        let body = json!({
            "label": format!("{auth_type} credential"),
            "auth_type": auth_type,
            "credential_type": credential_type,
            "credential_scope": "workspace",
            "credentials": {"secret": secret, "nested": {"also": secret}},
        });
        let credential = create(&api, &token, &body).await;
        let keys: Vec<&str> = credential
            .as_object()
            .expect("an object")
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(keys, READ_FIELDS, "CredentialRead, in its order");
        assert_eq!(credential["label"], format!("{auth_type} credential"));
        assert_eq!(credential["auth_type"], *auth_type);
        assert_eq!(credential["credential_type"], json!(credential_type));
        assert_eq!(credential["credential_scope"], "workspace");
        assert_eq!(credential["provider"], "custom", "Mielto's default");
        assert_eq!(credential["description"], Value::Null);
        assert_eq!(credential["user_id"], Value::Null);
        assert_eq!(credential["workspace_id"], org.as_str());
        assert_eq!(credential["created_by"], "user_1");
        assert_eq!(credential["status"], "active");
        assert_eq!(credential["expires_at"], Value::Null);
        assert_eq!(credential["last_used_at"], Value::Null);
        assert!(
            credential["created_at"]
                .as_str()
                .is_some_and(|t| t.ends_with('Z'))
        );
        assert_eq!(credential["created_at"], credential["updated_at"]);
        canaries.push(secret);
        created.push(credential);
    }
    assert_eq!(api.item_count().await, AUTH_TYPES.len());
    assert_eq!(api.live_secrets(&org).await.len(), AUTH_TYPES.len());

    // List: every one, oldest first (ties by id).
    let mut expected: Vec<(String, String)> = created
        .iter()
        .map(|c| (c["created_at"].as_str().expect("time").to_owned(), id_of(c)))
        .collect();
    expected.sort();
    let listed = api.get(CREDENTIALS, &token).await;
    assert_eq!(
        ids(&listed),
        expected.into_iter().map(|(_, id)| id).collect::<Vec<_>>()
    );
    for credential in listed.json().as_array().expect("an array") {
        assert!(created.contains(credential), "{credential}");
    }

    for credential in &created {
        let path = credential_path(&id_of(credential));
        let reply = api.get(&path, &token).await;
        assert_eq!(reply.status, 200, "{}", reply.text);
        assert_eq!(&reply.json(), credential);

        let reply = api
            .send_json(
                Method::PUT,
                &path,
                &token,
                &json!({"label": "renamed", "provider": "acme"}),
            )
            .await;
        assert_eq!(reply.status, 200, "{}", reply.text);
        let updated = reply.json();
        assert_eq!(updated["label"], "renamed");
        assert_eq!(updated["provider"], "acme");
        assert_eq!(updated["auth_type"], credential["auth_type"]);
        assert_eq!(updated["credential_type"], credential["credential_type"]);
        assert_eq!(updated["created_at"], credential["created_at"]);
        assert_eq!(api.get(&path, &token).await.json(), updated);

        let reply = api.delete(&path, &token).await;
        assert_eq!(reply.status, 204);
        assert!(reply.text.is_empty());
        let reply = api.get(&path, &token).await;
        assert_eq!(reply.status, 404);
        assert_eq!(reply.json(), json!({"detail": "Credential not found"}));
    }
    assert_eq!(
        ids(&api.get(CREDENTIALS, &token).await),
        Vec::<String>::new()
    );
    assert_eq!(api.item_count().await, 0);
    assert!(
        api.live_secrets(&org).await.is_empty(),
        "deleted credentials' secrets are scheduled for deletion"
    );
    for path in [
        credential_path(&id_of(&created[0])),
        credential_path("nope"),
    ] {
        assert_detail(&api.delete(&path, &token).await, 404, NOT_FOUND);
        let reply = api
            .send_json(Method::PUT, &path, &token, &json!({"label": "x"}))
            .await;
        assert_detail(&reply, 404, NOT_FOUND);
    }
    for secret in &canaries {
        api.assert_never_exposed(secret).await;
    }
}

#[tokio::test]
async fn the_secret_is_the_raw_object_and_an_update_keeps_or_replaces_it() {
    let Some(api) = Harness::start().await else {
        return;
    };
    let org = org("secret");
    let token = api.token(&org, "user_1", ALL_SCOPES);
    let first = canary();
    let credential = create(&api, &token, &api_key("OpenAI", &first)).await;
    let id = id_of(&credential);
    let path = credential_path(&id);

    let (arn, document) = only_secret(&api, &org).await;
    assert_eq!(
        document,
        json!({"engine": "generic",
               "credentials": {"api_key": first, "organization": "org-123"}})
    );
    let described = api.describe_secret(&arn).await;
    assert_eq!(
        described.name,
        format!("{}/{org}/generic-credential/{id}", api.stack.secret_prefix)
    );
    assert_eq!(described.kms_key_id, api.stack.kms_key_arn);
    for (key, value) in [
        ("strongroom:organization", org.as_str()),
        ("strongroom:kind", "generic-credential"),
        ("strongroom:credential-id", id.as_str()),
        ("strongroom:provider", "generic"),
    ] {
        assert_eq!(described.tag(key), Some(value), "{:?}", described.tags);
    }
    let dump = api.table_dump().await;
    assert!(dump.contains(&arn), "the item references its secret");

    // Without credentials: the fields change, the secret stays as it was.
    let reply = api
        .send_json(
            Method::PUT,
            &path,
            &token,
            &json!({"description": null, "status": "inactive", "credential_scope": "user"}),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let updated = reply.json();
    assert_eq!(updated["description"], Value::Null);
    assert_eq!(updated["status"], "inactive");
    assert_eq!(updated["credential_scope"], "user");
    assert_eq!(updated["label"], "OpenAI");
    assert_eq!(updated["user_id"], "user_42");
    assert_eq!(only_secret(&api, &org).await, (arn.clone(), document));

    // With credentials: the stored object is replaced wholesale, in the same secret.
    let second = canary();
    let reply = api
        .send_json(
            Method::PUT,
            &path,
            &token,
            &json!({"credentials": {"access_token": second}, "auth_type": "access_token"}),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(reply.json()["auth_type"], "access_token");
    assert_eq!(reply.json()["status"], "inactive");
    assert_eq!(
        only_secret(&api, &org).await,
        (
            arn.clone(),
            json!({"engine": "generic", "credentials": {"access_token": second}})
        )
    );
    assert_eq!(api.item_count().await, 1);

    // A placeholder sent back for a secret keeps the stored value under its name.
    let reply = api
        .send_json(
            Method::PUT,
            &path,
            &token,
            &json!({"credentials": {"access_token": "********", "refresh_token": "r-1"}}),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(
        only_secret(&api, &org).await,
        (
            arn.clone(),
            json!({"engine": "generic",
                   "credentials": {"access_token": second, "refresh_token": "r-1"}})
        )
    );

    api.assert_never_exposed(&first).await;
    api.assert_never_exposed(&second).await;
}

#[tokio::test]
async fn lists_filter_and_paginate_as_fastapi_does() {
    let Some(api) = Harness::start().await else {
        return;
    };
    let org = org("list");
    let token = api.token(&org, "user_1", ALL_SCOPES);
    let secret = canary();
    let specs = [
        ("openai", Some("llm"), "workspace"),
        ("openai", Some("llm"), "user"),
        ("pinecone", Some("vector_store"), "workspace"),
        ("s3", Some("storage"), "workspace"),
        ("github", Some("integration"), "workspace_member"),
        ("custom", None, "workspace"),
    ];
    let mut all = Vec::new();
    for (provider, credential_type, scope) in specs {
        let body = json!({"label": format!("{provider} {scope}"), "auth_type": "api_key",
            "credential_type": credential_type, "credential_scope": scope, "provider": provider,
            "credentials": {"key": secret}});
        all.push(create(&api, &token, &body).await);
    }
    let mut ordered: Vec<(String, String)> = all
        .iter()
        .map(|c| (c["created_at"].as_str().expect("time").to_owned(), id_of(c)))
        .collect();
    ordered.sort();
    let ordered: Vec<String> = ordered.into_iter().map(|(_, id)| id).collect();
    let of = |indexes: &[usize]| -> BTreeSet<String> {
        indexes.iter().map(|i| id_of(&all[*i])).collect()
    };
    let listed = async |query: &str| -> Vec<String> {
        ids(&api.get(&format!("{CREDENTIALS}?{query}"), &token).await)
    };
    let listed_set =
        async |query: &str| -> BTreeSet<String> { listed(query).await.into_iter().collect() };

    // One credential revoked, one expired.
    let revoked = credential_path(&id_of(&all[3]));
    let reply = api
        .send_json(Method::PUT, &revoked, &token, &json!({"status": "revoked"}))
        .await;
    assert_eq!(reply.json()["status"], "revoked");
    let expired = credential_path(&id_of(&all[4]));
    let reply = api
        .send_json(
            Method::PUT,
            &expired,
            &token,
            &json!({"expires_at": "2020-01-01T00:00:00Z"}),
        )
        .await;
    assert_eq!(reply.json()["status"], "expired");

    assert_eq!(listed("").await, ordered);
    assert_eq!(listed_set("provider=openai").await, of(&[0, 1]));
    assert_eq!(listed_set("credential_type=llm").await, of(&[0, 1]));
    assert_eq!(listed_set("credential_type=vector_store").await, of(&[2]));
    assert_eq!(
        listed_set("credential_scope=workspace").await,
        of(&[0, 2, 3, 5])
    );
    assert_eq!(
        listed_set("provider=openai&credential_scope=user").await,
        of(&[1])
    );
    assert_eq!(listed_set("status=revoked").await, of(&[3]));
    assert_eq!(listed_set("status=expired").await, of(&[4]));
    assert_eq!(listed_set("status=active").await, of(&[0, 1, 2, 5]));
    assert_eq!(listed_set("status=inactive").await, BTreeSet::new());
    assert_eq!(listed_set("provider=nobody").await, BTreeSet::new());
    assert_eq!(listed_set("provider=").await, BTreeSet::new());

    assert_eq!(listed("limit=2").await, ordered[..2]);
    assert_eq!(listed("skip=2&limit=3").await, ordered[2..5]);
    assert_eq!(listed("skip=5").await, ordered[5..]);
    assert_eq!(listed("skip=6").await, Vec::<String>::new());
    assert_eq!(listed("skip=1000000").await, Vec::<String>::new());
    assert_eq!(listed("limit=100").await, ordered);
    assert_eq!(
        listed("credential_scope=workspace&skip=1&limit=2").await,
        listed("credential_scope=workspace").await[1..3]
    );
    assert_eq!(
        listed("limit=1&limit=3").await,
        ordered[..3],
        "the last value counts"
    );

    for (query, name, kind) in [
        ("skip=-1", "skip", "greater_than_equal"),
        ("skip=abc", "skip", "int_parsing"),
        ("limit=0", "limit", "greater_than_equal"),
        ("limit=101", "limit", "less_than_equal"),
        ("limit=", "limit", "int_parsing"),
        ("credential_type=model", "credential_type", "enum"),
        ("status=deleted", "status", "enum"),
    ] {
        let reply = api.get(&format!("{CREDENTIALS}?{query}"), &token).await;
        assert_validation_error(&reply, json!(["query", name]), kind);
    }
    api.assert_never_exposed(&secret).await;
}

#[tokio::test]
async fn expiry_is_read_from_the_credentials_or_set_and_reads_as_expired() {
    let Some(api) = Harness::start().await else {
        return;
    };
    let org = org("expiry");
    let token = api.token(&org, "user_1", ALL_SCOPES);
    let secret = canary();
    let body = |credentials: Value, expires_at: Option<&str>| {
        let mut body = json!({"label": "token", "auth_type": "oauth_token_refresh",
            "credential_scope": "workspace", "credentials": credentials});
        if let Some(at) = expires_at {
            body["expires_at"] = at.into();
        }
        body
    };

    let past = create(
        &api,
        &token,
        &body(
            json!({"access_token": secret}),
            Some("2020-01-01T00:00:00Z"),
        ),
    )
    .await;
    assert_eq!(past["status"], "expired");
    assert_eq!(past["expires_at"], "2020-01-01T00:00:00Z");

    let from_unix = create(
        &api,
        &token,
        &body(
            json!({"access_token": secret, "expires_at": 1_600_000_000}),
            None,
        ),
    )
    .await;
    assert_eq!(from_unix["status"], "expired");
    assert_eq!(from_unix["expires_at"], "2020-09-13T12:26:40Z");

    let fresh = create(
        &api,
        &token,
        &body(
            json!({"access_token": secret, "refresh_token": secret, "expires_in": 3600}),
            None,
        ),
    )
    .await;
    assert_eq!(fresh["status"], "active");
    let expires_at =
        parse_rfc3339(fresh["expires_at"].as_str().expect("an expiry")).expect("RFC 3339");
    let lifetime = expires_at - now();
    assert!(
        (3590..=3600).contains(&lifetime.whole_seconds()),
        "{lifetime}"
    );

    let set_later = create(
        &api,
        &token,
        &body(
            json!({"access_token": secret, "expires_in": -5}),
            Some("2099-01-01T00:00:00+02:00"),
        ),
    )
    .await;
    assert_eq!(set_later["status"], "active", "the top-level expiry wins");
    assert_eq!(set_later["expires_at"], "2098-12-31T22:00:00Z");

    let expired = BTreeSet::from([id_of(&past), id_of(&from_unix)]);
    let listed = |reply: Reply| ids(&reply).into_iter().collect::<BTreeSet<_>>();
    assert_eq!(
        listed(
            api.get(&format!("{CREDENTIALS}?status=expired"), &token)
                .await
        ),
        expired
    );
    assert_eq!(
        api.get(&credential_path(&id_of(&past)), &token)
            .await
            .json()["status"],
        "expired"
    );

    // Clearing the expiry, or renewing the credentials, makes it active again.
    let path = credential_path(&id_of(&past));
    let reply = api
        .send_json(Method::PUT, &path, &token, &json!({"expires_at": null}))
        .await;
    assert_eq!(reply.json()["status"], "active");
    assert_eq!(reply.json()["expires_at"], Value::Null);
    let path = credential_path(&id_of(&from_unix));
    let reply = api
        .send_json(
            Method::PUT,
            &path,
            &token,
            &json!({"credentials": {"access_token": secret, "expires_in": 600}}),
        )
        .await;
    assert_eq!(reply.json()["status"], "active");
    assert!(reply.json()["expires_at"].is_string());
    // A revoked credential stays revoked, expired or not.
    let reply = api
        .send_json(
            Method::PUT,
            &path,
            &token,
            &json!({"status": "revoked", "expires_at": "2020-01-01T00:00:00Z"}),
        )
        .await;
    assert_eq!(reply.json()["status"], "revoked");
    assert_eq!(
        ids(&api
            .get(&format!("{CREDENTIALS}?status=expired"), &token)
            .await),
        Vec::<String>::new()
    );
    api.assert_never_exposed(&secret).await;
}

#[tokio::test]
async fn the_workspace_header_must_name_the_callers_own_workspace() {
    let Some(api) = Harness::start().await else {
        return;
    };
    let org = org("workspace");
    let token = api.token(&org, "user_1", ALL_SCOPES);
    let secret = canary();
    let own = [("X-Workspace-Id", org.as_str())];
    let send =
        async |method: Method, path: &str, headers: &[(&str, &str)], body: Option<&Value>| {
            let body = body.map_or(Body::None, Body::Json);
            api.send_with_headers(method, path, Some(&token), headers, body)
                .await
        };

    let reply = send(
        Method::POST,
        CREDENTIALS,
        &own,
        Some(&api_key("mine", &secret)),
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(reply.json()["workspace_id"], org.as_str());
    let id = id_of(&reply.json());
    let path = credential_path(&id);
    assert_eq!(
        ids(&send(Method::GET, CREDENTIALS, &own, None).await),
        [id.as_str()]
    );
    assert_eq!(send(Method::GET, &path, &own, None).await.status, 200);
    let rename = json!({"label": "renamed"});
    assert_eq!(
        send(Method::PUT, &path, &own, Some(&rename)).await.status,
        200
    );

    let foreign_org = format!("org_other_{}", unique_suffix());
    let bad_body = json!({"label": ""});
    for workspace in [foreign_org.as_str(), "", "ORG"] {
        let foreign = [("X-Workspace-Id", workspace)];
        for (method, route, body) in [
            (Method::POST, CREDENTIALS, Some(&bad_body)),
            (Method::POST, CREDENTIALS, Some(&rename)),
            (Method::GET, CREDENTIALS, None),
            (Method::GET, path.as_str(), None),
            (Method::PUT, path.as_str(), Some(&rename)),
            (Method::DELETE, path.as_str(), None),
        ] {
            let reply = send(method.clone(), route, &foreign, body).await;
            assert_eq!(reply.status, 404, "{method} {route} as {workspace:?}");
            assert_eq!(reply.json(), json!({"detail": "Workspace not found"}));
        }
    }
    let reply = api.get(&path, &token).await;
    assert_eq!(reply.json()["label"], "renamed", "nothing changed");
    assert_eq!(api.item_count().await, 1);
    assert_eq!(send(Method::DELETE, &path, &own, None).await.status, 204);
    api.assert_never_exposed(&secret).await;
}

#[tokio::test]
async fn organizations_never_see_each_others_credentials() {
    let Some(api) = Harness::start().await else {
        return;
    };
    let (org_a, org_b) = (org("a"), org("b"));
    let token_a = api.token(&org_a, "user_a", ALL_SCOPES);
    let token_b = api.token(&org_b, "user_b", ALL_SCOPES);
    let secret = canary();
    let theirs = create(&api, &token_a, &api_key("A's key", &secret)).await;
    let id = id_of(&theirs);
    let path = credential_path(&id);
    let (arn, document) = only_secret(&api, &org_a).await;

    let ours = create(&api, &token_b, &api_key("B's key", &canary())).await;
    assert_eq!(ours["workspace_id"], org_b.as_str());
    assert_eq!(ids(&api.get(CREDENTIALS, &token_b).await), [id_of(&ours)]);

    let replies = [
        api.get(&path, &token_b).await,
        api.send_json(Method::PUT, &path, &token_b, &json!({"label": "stolen"}))
            .await,
        api.send_json(
            Method::PUT,
            &path,
            &token_b,
            &json!({"credentials": {"api_key": "overwritten"}}),
        )
        .await,
        api.delete(&path, &token_b).await,
    ];
    for reply in &replies {
        assert_eq!(reply.status, 404, "{}", reply.text);
        assert_eq!(reply.json(), json!({"detail": "Credential not found"}));
    }
    // Naming A's workspace does not help B.
    let reply = api
        .send_with_headers(
            Method::GET,
            &path,
            Some(&token_b),
            &[("X-Workspace-Id", org_a.as_str())],
            Body::None,
        )
        .await;
    assert_eq!(reply.json(), json!({"detail": "Workspace not found"}));
    for query in ["", "?provider=openai", "?status=active"] {
        let reply = api.get(&format!("{CREDENTIALS}{query}"), &token_b).await;
        assert!(!reply.text.contains(&id), "B listed A's credential");
    }

    assert_eq!(api.get(&path, &token_a).await.json(), theirs);
    assert_eq!(only_secret(&api, &org_a).await, (arn, document));
    api.assert_never_exposed(&secret).await;
}

#[tokio::test]
async fn bad_input_names_the_field_in_pydantic_words_and_writes_nothing() {
    let Some(api) = Harness::start().await else {
        return;
    };
    let org = org("input");
    let token = api.token(&org, "user_1", ALL_SCOPES);
    let secret = canary();
    let with = |field: &str, value: Value| {
        let mut body = api_key("valid", &secret);
        match value {
            Value::Null => {
                body.as_object_mut().expect("object").remove(field);
            }
            value => body[field] = value,
        }
        body
    };
    let long = |n: usize| json!("x".repeat(n));
    let cases = [
        (with("label", Value::Null), "label", "missing"),
        (with("label", json!("")), "label", "string_too_short"),
        (with("label", long(101)), "label", "string_too_long"),
        (with("label", json!(12345)), "label", "string_type"),
        (
            with("description", long(256)),
            "description",
            "string_too_long",
        ),
        (with("description", json!(42)), "description", "string_type"),
        (with("auth_type", Value::Null), "auth_type", "missing"),
        (with("auth_type", json!("oauth2")), "auth_type", "enum"),
        (with("auth_type", json!("API_KEY")), "auth_type", "enum"),
        (
            with("credential_type", json!("model")),
            "credential_type",
            "enum",
        ),
        (
            with("credential_scope", Value::Null),
            "credential_scope",
            "missing",
        ),
        (
            with("credential_scope", long(256)),
            "credential_scope",
            "string_too_long",
        ),
        (
            with("credential_scope", json!(["workspace"])),
            "credential_scope",
            "string_type",
        ),
        (with("provider", long(256)), "provider", "string_too_long"),
        (with("provider", json!(true)), "provider", "string_type"),
        (with("user_id", long(256)), "user_id", "string_too_long"),
        (with("user_id", json!({"id": 1})), "user_id", "string_type"),
        (with("credentials", Value::Null), "credentials", "missing"),
        (
            with("credentials", json!(format!("api_key={secret}"))),
            "credentials",
            "dict_type",
        ),
        (
            with("credentials", json!([secret.clone()])),
            "credentials",
            "dict_type",
        ),
        (
            with("expires_at", json!("next tuesday")),
            "expires_at",
            "datetime_parsing",
        ),
    ];
    for (body, field, kind) in &cases {
        let reply = api.post(CREDENTIALS, &token, body).await;
        assert_validation_error(&reply, json!(["body", field]), kind);
    }
    let reply = api.post(CREDENTIALS, &token, &json!({})).await;
    assert_eq!(
        reply.json(),
        json!({"detail": [
            {"loc": ["body", "label"], "msg": "Field required", "type": "missing"},
            {"loc": ["body", "auth_type"], "msg": "Field required", "type": "missing"},
            {"loc": ["body", "credential_scope"], "msg": "Field required", "type": "missing"},
            {"loc": ["body", "credentials"], "msg": "Field required", "type": "missing"},
        ]})
    );
    let reply = api
        .post(CREDENTIALS, &token, &json!([api_key("x", &secret)]))
        .await;
    assert_validation_error(&reply, json!(["body"]), "model_attributes_type");

    let raw = async |method: Method, path: &str, content_type: &str, text: String| {
        api.send(method, path, Some(&token), Body::Raw { content_type, text })
            .await
    };
    let broken =
        format!("{{\"label\": \"x\", \"credentials\": {{\"api_key\": \"{secret}\" oops}}}}");
    let offset = broken.find("oops").expect("in the body");
    let reply = raw(
        Method::POST,
        CREDENTIALS,
        "application/json",
        broken.clone(),
    )
    .await;
    assert_eq!(
        reply.json(),
        json!({"detail": [{"loc": ["body", offset], "msg": "JSON decode error",
                           "type": "json_invalid"}]})
    );
    let reply = raw(Method::POST, CREDENTIALS, "application/json", String::new()).await;
    assert_validation_error(&reply, json!(["body"]), "missing");
    let reply = raw(
        Method::POST,
        CREDENTIALS,
        "text/plain",
        api_key("x", &secret).to_string(),
    )
    .await;
    assert_validation_error(&reply, json!(["body"]), "model_attributes_type");
    let reply = raw(
        Method::POST,
        CREDENTIALS,
        "application/json",
        api_key(&"x".repeat(70 * 1024), &secret).to_string(),
    )
    .await;
    assert_detail(&reply, 413, "the request body is larger than 65536 bytes");
    let big_object = json!({"label": "x", "auth_type": "custom", "credential_scope": "w",
        "credentials": {"blob": "x".repeat(40 * 1024), "key": secret}});
    let reply = api.post(CREDENTIALS, &token, &big_object).await;
    assert_detail(&reply, 413, "the request body is larger than 32768 bytes");

    assert_eq!(api.item_count().await, 0);
    assert!(api.live_secrets(&org).await.is_empty());

    // An update is validated the same way, and changes nothing when refused.
    let credential = create(&api, &token, &api_key("valid", &secret)).await;
    let path = credential_path(&id_of(&credential));
    let (arn, document) = only_secret(&api, &org).await;
    for (body, field, kind) in [
        (json!({"label": ""}), "label", "string_too_short"),
        (json!({"status": "expired"}), "status", "enum"),
        (json!({"status": "deleted"}), "status", "enum"),
        (
            json!({"credentials": "replaced"}),
            "credentials",
            "dict_type",
        ),
        (
            json!({"auth_type": 3, "label": "fine"}),
            "auth_type",
            "enum",
        ),
    ] {
        let reply = api.send_json(Method::PUT, &path, &token, &body).await;
        assert_validation_error(&reply, json!(["body", field]), kind);
    }
    let reply = raw(Method::PUT, &path, "application/json", broken).await;
    assert_validation_error(&reply, json!(["body", offset]), "json_invalid");
    assert_eq!(api.get(&path, &token).await.json(), credential);
    assert_eq!(only_secret(&api, &org).await, (arn, document));
    api.assert_never_exposed(&secret).await;
}

#[tokio::test]
async fn bad_tokens_get_401_and_missing_scopes_403_in_fastapi_shape() {
    let Some(api) = Harness::start().await else {
        return;
    };
    let org = org("auth");
    let secret = canary();
    let item = credential_path("0b8c2f64-3c1e-4a5b-9d7e-5f1a2b3c4d5e");

    // No Authorization header: API Gateway itself answers, before any function runs.
    let reply = api.send(Method::GET, CREDENTIALS, None, Body::None).await;
    assert_eq!(reply.status, 401);
    assert_eq!(reply.json(), json!({"message": "Unauthorized"}));

    let expired = api.token_for(&org, "user_1", ALL_SCOPES, -120);
    for (token, reason) in [
        ("not-a-jwt".to_owned(), "not a well-formed JWT"),
        (expired, "expired"),
        (
            format!("{}x", api.token(&org, "user_1", ALL_SCOPES)),
            "signature",
        ),
    ] {
        for (method, path) in [
            (Method::POST, CREDENTIALS),
            (Method::GET, CREDENTIALS),
            (Method::GET, item.as_str()),
            (Method::PUT, item.as_str()),
            (Method::DELETE, item.as_str()),
        ] {
            let body = api_key("x", &secret);
            let reply = api
                .send(method.clone(), path, Some(&token), Body::Json(&body))
                .await;
            assert_eq!(reply.status, 401, "{method} {path}: {}", reply.text);
            let detail = reply.json()["detail"]
                .as_str()
                .expect("a detail")
                .to_owned();
            assert!(
                detail.starts_with("Unauthorized: ") && detail.contains(reason),
                "{detail}"
            );
        }
    }

    let reader = api.token(&org, "user_1", &[Scope::Read]);
    let writer = api.token(&org, "user_1", &[Scope::Write]);
    let reply = api.post(CREDENTIALS, &reader, &api_key("x", &secret)).await;
    assert_eq!(reply.status, 403);
    assert_eq!(
        reply.json(),
        json!({"detail": "Forbidden: this operation needs the credentials:write scope"})
    );
    let rename = json!({"label": "x"});
    let forbidden = "Forbidden: this operation needs the credentials:write scope";
    assert_detail(
        &api.send_json(Method::PUT, &item, &reader, &rename).await,
        403,
        forbidden,
    );
    assert_detail(&api.delete(&item, &reader).await, 403, forbidden);
    assert_eq!(api.item_count().await, 0);

    let credential = create(&api, &writer, &api_key("x", &secret)).await;
    let path = credential_path(&id_of(&credential));
    assert_eq!(api.get(&path, &reader).await.json(), credential);
    assert_eq!(ids(&api.get(CREDENTIALS, &reader).await).len(), 1);
    for reply in [
        api.get(&path, &writer).await,
        api.get(CREDENTIALS, &writer).await,
    ] {
        assert_eq!(reply.status, 403);
        assert_eq!(
            reply.json(),
            json!({"detail": "Forbidden: this operation needs the credentials:read scope"})
        );
    }
    let admin = api.token(&org, "user_1", &[Scope::Admin]);
    assert_eq!(api.get(&path, &admin).await.json(), credential);
    api.assert_never_exposed(&secret).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_updates_leave_metadata_and_secret_in_agreement() {
    let Some(api) = Harness::start().await else {
        return;
    };
    let org = org("race");
    let token = api.token(&org, "user_1", ALL_SCOPES);
    let credential = create(&api, &token, &api_key("start", &canary())).await;
    let path = credential_path(&id_of(&credential));
    let api = Arc::new(api);
    let mut conflicts = 0;
    let mut tokens = Vec::new();
    for round in 0..5 {
        let mut racers = tokio::task::JoinSet::new();
        for n in 0..8 {
            let (api, token, path) = (api.clone(), token.clone(), path.clone());
            let secret = canary();
            tokens.push(secret.clone());
            let body = json!({"label": format!("racer {round} {n}"),
                "credentials": {"token": secret}});
            racers.spawn(async move {
                let reply = api.send_json(Method::PUT, &path, &token, &body).await;
                (n, reply)
            });
        }
        let replies = racers.join_all().await;
        let winners: Vec<usize> = replies
            .iter()
            .filter(|(_, r)| r.status == 200)
            .map(|(n, _)| *n)
            .collect();
        for (_, reply) in &replies {
            match reply.status {
                200 => {}
                409 => {
                    assert_detail(
                        reply,
                        409,
                        "the credential was changed by another request; retry",
                    );
                    conflicts += 1;
                }
                other => panic!("round {round}: {other} {}", reply.text),
            }
        }
        assert!(!winners.is_empty(), "round {round}: no update won");
        let label = api.get(&path, &token).await.json()["label"]
            .as_str()
            .expect("a label")
            .to_owned();
        let n: usize = label
            .strip_prefix(&format!("racer {round} "))
            .and_then(|n| n.parse().ok())
            .expect("a racer's label");
        assert!(winners.contains(&n), "{label} did not win");
        let (_, document) = only_secret(&api, &org).await;
        let sent = &tokens[tokens.len() - 8 + n];
        assert_eq!(
            document["credentials"],
            json!({ "token": sent }),
            "round {round}: the current secret is the one the current metadata was written with"
        );
        if conflicts > 0 {
            break;
        }
    }
    assert!(conflicts > 0, "the updates never raced");
    for secret in &tokens {
        api.assert_never_exposed(secret).await;
    }
}

/// Updates racing deletes: an update that finds its secret deleted under it answers as the
/// credential is (gone: 404; changed: 409), never that the vault is unavailable.
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
        let credential = create(&api, &token, &api_key("racing", &secret)).await;
        let path = credential_path(&id_of(&credential));
        let mut racers = tokio::task::JoinSet::new();
        for n in 0..8 {
            let (api, token, path) = (api.clone(), token.clone(), path.clone());
            let body = json!({"credentials": {"api_key": "********", "n": n}});
            racers.spawn(async move {
                if n < 6 {
                    (
                        Method::PUT,
                        api.send_json(Method::PUT, &path, &token, &body).await,
                    )
                } else {
                    (Method::DELETE, api.delete(&path, &token).await)
                }
            });
        }
        for (method, reply) in racers.join_all().await {
            match (&method, reply.status) {
                (&Method::PUT, 200) | (&Method::DELETE, 204) => {}
                (&Method::PUT, 404 | 409) | (&Method::DELETE, 404 | 409) => {
                    assert!(reply.json()["detail"].is_string(), "{}", reply.text);
                }
                (method, status) => panic!("{method} answered {status}: {}", reply.text),
            }
            match (&method, reply.status) {
                (&Method::PUT, 404 | 409) => refused_updates += 1,
                (&Method::DELETE, 204) => deletes += 1,
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

#[tokio::test]
async fn a_placeholder_nested_in_new_credentials_keeps_the_stored_value() {
    let Some(api) = Harness::start().await else {
        return;
    };
    let org = org("nested");
    let token = api.token(&org, "user_1", ALL_SCOPES);
    let secret = canary();
    let mut body = api_key("OAuth app", "unused");
    body["credentials"] = json!({"client_id": "app-1",
        "nested": {"client_secret": secret, "scopes": ["read"]},
        "keys": [{"kid": "k1", "value": secret}]});
    let credential = create(&api, &token, &body).await;
    let path = credential_path(&id_of(&credential));
    let reply = api
        .send_json(
            Method::PUT,
            &path,
            &token,
            &json!({"credentials": {"client_id": "app-2",
                "nested": {"client_secret": "********", "scopes": ["read", "write"]},
                "keys": [{"kid": "k1", "value": "[REDACTED]"}]}}),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let (_, document) = only_secret(&api, &org).await;
    assert_eq!(
        document["credentials"],
        json!({"client_id": "app-2",
            "nested": {"client_secret": secret, "scopes": ["read", "write"]},
            "keys": [{"kid": "k1", "value": secret}]})
    );
    api.assert_never_exposed(&secret).await;
}

#[tokio::test]
async fn a_secret_is_stored_exactly_as_sent() {
    let Some(api) = Harness::start().await else {
        return;
    };
    let org = org("exact");
    let token = api.token(&org, "user_1", ALL_SCOPES);
    let numbers = r#"{"account":123456789012345678901234567890,"ratio":0.1000000000000000055511151231257827,"small":-0}"#;
    let text = format!(
        r#"{{"label":"exact","auth_type":"custom","credential_scope":"workspace","credentials":{numbers}}}"#
    );
    let reply = api
        .send(
            Method::POST,
            CREDENTIALS,
            Some(&token),
            Body::Raw {
                content_type: "application/json",
                text,
            },
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let arn = api.live_secrets(&org).await.remove(0);
    let stored = api.current_secret_text(&arn).await;
    assert!(stored.contains(numbers), "{stored}");
}

#[tokio::test]
async fn control_characters_in_display_text_are_refused() {
    let Some(api) = Harness::start().await else {
        return;
    };
    let org = org("control");
    let token = api.token(&org, "user_1", ALL_SCOPES);
    for (field, value) in [
        ("label", "bell\u{7}label"),
        ("label", "two\nlines"),
        ("description", "tab\tseparated"),
        ("credential_scope", "nul\u{0}"),
        ("provider", "escape\u{1b}[31m"),
    ] {
        let mut body = api_key("valid", &canary());
        body[field] = value.into();
        let reply = api.post(CREDENTIALS, &token, &body).await;
        assert_validation_error(&reply, json!(["body", field]), "value_error");
    }
    assert_eq!(api.item_count().await, 0);
}

/// A dependency down: every route answers 503 as FastAPI's `{"detail": …}`, gives no detail,
/// writes nothing half-way, and logs its cause without a secret in it.
#[tokio::test]
async fn a_dependency_down_answers_503_as_fastapi_and_logs_no_secret() {
    let Some(api) = Harness::start().await else {
        return;
    };
    let org = org("outage");
    let token = api.token(&org, "user_1", ALL_SCOPES);
    let secret = canary();
    let path = credential_path(&id_of(&create(&api, &token, &api_key("k", &secret)).await));
    api.break_the_table().await;
    let unavailable = "the metadata store is temporarily unavailable; retry shortly";
    let update = json!({"credentials": {"api_key": secret}});
    for reply in [
        api.post(CREDENTIALS, &token, &api_key("k", &secret)).await,
        api.get(CREDENTIALS, &token).await,
        api.get(&path, &token).await,
        api.send_json(Method::PUT, &path, &token, &update).await,
        api.delete(&path, &token).await,
    ] {
        assert_detail(&reply, 503, unavailable);
    }
    assert_eq!(
        api.live_secrets(&org).await.len(),
        1,
        "the refused create's secret was discarded"
    );
    api.assert_outage_logged_without(&secret);
}
