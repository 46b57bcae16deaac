//! Governance end to end over HTTP, through the local gateway and its authorizer, against moto:
//! Strongroom API tokens (issue, use as `Bearer` and as `ApiKey`, list, revoke), the audited
//! reveal, and the audit log.

use credential_model::Scope;
use reqwest::Method;
use serde_json::{Value, json};
use strongroom_e2e::{ALL_SCOPES, Body, Harness, Reply, canary, org};

const TOKENS: &str = "/strongroom/v1/tokens";
const AUDIT: &str = "/strongroom/v1/audit";

fn reveal(id: &str) -> String {
    format!("/strongroom/v1/credentials/{id}/reveal")
}

/// A request authorized by `authorization` as sent (`ApiKey srk_…`, `Bearer …`).
async fn with_authorization(
    api: &Harness,
    method: Method,
    path: &str,
    authorization: &str,
) -> Reply {
    api.send_with_headers(
        method,
        path,
        None,
        &[("authorization", authorization)],
        Body::None,
    )
    .await
}

/// A Mielto API key credential; its id.
async fn generic_credential(api: &Harness, token: &str, secret: &str) -> String {
    let reply = api
        .post(
            "/api/v1/credentials",
            token,
            &json!({"label": "OpenAI", "auth_type": "api_key", "credential_scope": "workspace",
                    "provider": "openai", "credentials": {"api_key": secret}}),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    reply.json()["id"].as_str().expect("an id").to_owned()
}

fn problem_type(reply: &Reply) -> String {
    reply.json()["type"].as_str().unwrap_or_default().to_owned()
}

#[tokio::test]
async fn api_tokens_are_issued_once_used_both_ways_listed_and_revoked() {
    let Some(api) = Harness::start().await else {
        return;
    };
    let org = org("tokens");
    let writer = api.token(&org, "user_a", &[Scope::Read, Scope::Write]);

    // Broader than its issuer: refused, naming the field, nothing written.
    let items = api.item_count().await;
    let broader = api
        .post(
            TOKENS,
            &writer,
            &json!({"name": "ci", "scopes": ["credentials:reveal"]}),
        )
        .await;
    assert_eq!(broader.status, 400, "{}", broader.text);
    assert!(broader.text.contains("scopes"), "{}", broader.text);
    for (body, field) in [
        (json!({"scopes": ["credentials:read"]}), "name"),
        (
            json!({"name": "ci", "scopes": ["credentials:everything"]}),
            "scopes",
        ),
        (
            json!({"name": "ci", "scopes": ["credentials:read"], "expiresAt": "2001-01-01T00:00:00Z"}),
            "expiresAt",
        ),
        (
            json!({"name": "ci", "scopes": ["credentials:read"], "owner": "x"}),
            "owner",
        ),
    ] {
        let reply = api.post(TOKENS, &writer, &body).await;
        assert_eq!(reply.status, 400, "{field}: {}", reply.text);
        assert!(reply.text.contains(field), "{field}: {}", reply.text);
    }
    assert_eq!(api.item_count().await, items, "nothing was written");

    let issued = api
        .post(
            TOKENS,
            &writer,
            &json!({"name": "nightly export", "scopes": ["credentials:read"]}),
        )
        .await;
    assert_eq!(issued.status, 201, "{}", issued.text);
    assert_eq!(issued.header("cache-control").as_deref(), Some("no-store"));
    let body = issued.json();
    let token = body["token"].as_str().expect("the token").to_owned();
    let id = body["id"].as_str().expect("an id").to_owned();
    assert!(token.starts_with(&format!("srk_{id}_")), "{token}");
    assert_eq!(body["scopes"], json!(["credentials:read"]));
    assert!(
        !api.table_dump().await.contains(&token[37..]),
        "the token is stored"
    );

    // Used as Bearer and as ApiKey (Lightdash's clients' scheme): read allowed, write not.
    for scheme in ["Bearer", "ApiKey"] {
        let read = with_authorization(
            &api,
            Method::GET,
            "/api/v1/credentials",
            &format!("{scheme} {token}"),
        )
        .await;
        assert_eq!(read.status, 200, "{scheme}: {}", read.text);
    }
    let write = api
        .send_with_headers(
            Method::POST,
            TOKENS,
            None,
            &[("authorization", &format!("ApiKey {token}"))],
            Body::Json(&json!({"name": "child", "scopes": ["credentials:read"]})),
        )
        .await;
    assert_eq!(
        write.status, 403,
        "a read-only token cannot issue: {}",
        write.text
    );

    // Listed without the token; others see nothing of it, an admin sees it.
    let listed = api.get(TOKENS, &writer).await;
    assert_eq!(listed.status, 200, "{}", listed.text);
    assert!(!listed.text.contains(&token[37..]));
    assert_eq!(listed.json()["tokens"][0]["id"], id.as_str());
    assert!(
        listed.json()["tokens"][0]["lastUsedAt"].is_string(),
        "{}",
        listed.text
    );
    let colleague = api.token(&org, "user_b", &[Scope::Read, Scope::Write]);
    assert_eq!(
        api.get(TOKENS, &colleague).await.json(),
        json!({"tokens": []})
    );
    let colleague_revokes = api.delete(&format!("{TOKENS}/{id}"), &colleague).await;
    assert_eq!(colleague_revokes.status, 404);
    let admin = api.token(&org, "user_c", &[Scope::Admin]);
    assert_eq!(
        api.get(TOKENS, &admin).await.json()["tokens"]
            .as_array()
            .map(Vec::len),
        Some(1)
    );

    // Revoked: refused at its next check (a header the gateway has not cached yet).
    let revoked = api.delete(&format!("{TOKENS}/{id}"), &writer).await;
    assert_eq!(revoked.status, 204, "{}", revoked.text);
    let refused = with_authorization(
        &api,
        Method::GET,
        "/api/v1/credentials",
        &format!("ApiKey  {token}"),
    )
    .await;
    assert_eq!(refused.status, 401, "{}", refused.text);
    let malformed =
        with_authorization(&api, Method::GET, "/api/v1/credentials", "ApiKey srk_nope").await;
    assert_eq!(malformed.status, 401, "{}", malformed.text);
    assert_eq!(
        api.delete(&format!("{TOKENS}/{id}"), &writer).await.status,
        404
    );

    let logs = strongroom_e2e::captured_logs();
    assert!(!logs.contains(&token[37..]), "a log line holds the token");
}

#[tokio::test]
async fn reveals_are_scoped_audited_and_the_audit_log_pages_newest_first() {
    let Some(api) = Harness::start().await else {
        return;
    };
    let secret = canary();
    let org = org("reveal");
    let owner = api.token(&org, "user_owner", ALL_SCOPES);
    let reader = api.token(&org, "user_reader", &[Scope::Read, Scope::Write]);
    let stranger = api.token(&strongroom_e2e::org("elsewhere"), "user_owner", ALL_SCOPES);
    let id = generic_credential(&api, &owner, &secret).await;

    // Refused reveals: no scope, another organization, an unknown id, a bad version.
    assert_eq!(api.post_empty(&reveal(&id), &reader).await.status, 403);
    assert_eq!(api.post_empty(&reveal(&id), &stranger).await.status, 404);
    let unknown = api
        .post_empty(&reveal(&uuid::Uuid::new_v4().to_string()), &owner)
        .await;
    assert_eq!(problem_type(&unknown), "urn:strongroom:problem:not-found");
    let bad = api
        .post_empty(&format!("{}?versionId=x", reveal(&id)), &owner)
        .await;
    assert_eq!(bad.status, 400, "{}", bad.text);

    // Revealed: the document, not cached, and one event each.
    let shown = api.post_empty(&reveal(&id), &owner).await;
    assert_eq!(shown.status, 200, "{}", shown.text);
    assert_eq!(shown.header("cache-control").as_deref(), Some("no-store"));
    assert_eq!(
        shown.json()["secret"]["credentials"]["api_key"],
        secret.as_str()
    );
    let version = shown.json()["versionId"]
        .as_str()
        .expect("a version")
        .to_owned();
    let again = api
        .post_empty(&format!("{}?versionId={version}", reveal(&id)), &owner)
        .await;
    assert_eq!(again.status, 200, "{}", again.text);

    // A user's own credential: revealed to that user alone, admins included.
    let admin = api.token(&org, "user_admin", &[Scope::Admin]);
    let own = api
        .post(
            "/api/v1/user/warehouseCredentials",
            &owner,
            &json!({"name": "Mine", "credentials": {"type": "snowflake", "user": "ANALYST", "password": canary()}}),
        )
        .await;
    let own = own.json()["results"]["uuid"]
        .as_str()
        .expect("a uuid")
        .to_owned();
    assert_eq!(api.post_empty(&reveal(&own), &admin).await.status, 404);
    assert_eq!(api.post_empty(&reveal(&own), &owner).await.status, 200);

    // A reveal through an API token names the token as well as its user.
    let issued = api
        .post(
            TOKENS,
            &owner,
            &json!({"name": "exporter", "scopes": ["credentials:reveal"]}),
        )
        .await;
    let token = issued.json()["token"].as_str().expect("a token").to_owned();
    let token_id = issued.json()["id"].as_str().expect("an id").to_owned();
    let by_token =
        with_authorization(&api, Method::POST, &reveal(&id), &format!("Bearer {token}")).await;
    assert_eq!(by_token.status, 200, "{}", by_token.text);

    // The log, newest first: exactly what happened, nothing for what was refused.
    assert_eq!(
        api.get(AUDIT, &owner).await.status,
        200,
        "the owner holds admin"
    );
    assert_eq!(api.get(AUDIT, &reader).await.status, 403);
    let log = api.get(AUDIT, &admin).await;
    assert_eq!(log.status, 200, "{}", log.text);
    let events = log.json()["events"].as_array().cloned().unwrap_or_default();
    let actions: Vec<&str> = events.iter().filter_map(|e| e["action"].as_str()).collect();
    assert_eq!(
        actions,
        [
            "credential-revealed",
            "api-token-issued",
            "credential-revealed",
            "credential-revealed",
            "credential-revealed"
        ]
    );
    assert_eq!(
        events[0]["actor"],
        json!({"user": "user_owner", "apiToken": token_id})
    );
    assert_eq!(events[1]["subject"], token_id.as_str());
    assert_eq!(events[3]["subject"], version.as_str());
    for event in &events {
        assert!(
            event["requestId"].is_string() && event["sourceIp"].is_string(),
            "{event}"
        );
    }

    // Filters and pages.
    let of = |query: &str| {
        let api = &api;
        let admin = &admin;
        let query = query.to_owned();
        async move { api.get(&format!("{AUDIT}?{query}"), admin).await.json() }
    };
    assert_eq!(
        of(&format!("credentialId={id}")).await["events"]
            .as_array()
            .map(Vec::len),
        Some(3)
    );
    assert_eq!(
        of("action=api-token-issued").await["events"]
            .as_array()
            .map(Vec::len),
        Some(1)
    );
    assert_eq!(
        of(&format!("actor={token_id}")).await["events"]
            .as_array()
            .map(Vec::len),
        Some(1)
    );
    assert_eq!(
        of("actor=user_owner").await["events"]
            .as_array()
            .map(Vec::len),
        Some(5)
    );
    assert_eq!(of("to=2001-01-01T00:00:00Z").await["events"], json!([]));
    let mut paged: Vec<Value> = Vec::new();
    let mut query = "limit=2".to_owned();
    loop {
        let page = of(&query).await;
        paged.extend(page["events"].as_array().cloned().unwrap_or_default());
        match page["nextCursor"].as_str() {
            Some(cursor) => query = format!("limit=2&cursor={cursor}"),
            None => break,
        }
    }
    assert_eq!(paged, events, "the pages together are the log");
    for bad in [
        "limit=0",
        "action=deleted",
        "from=yesterday",
        "cursor=bm90LWEta2V5",
    ] {
        let reply = api.get(&format!("{AUDIT}?{bad}"), &admin).await;
        assert_eq!(reply.status, 400, "{bad}: {}", reply.text);
    }

    // The secret is in no log line, no item and no audit event.
    assert!(!strongroom_e2e::captured_logs().contains(&secret));
    assert!(!api.table_dump().await.contains(&secret));
    assert!(!log.text.contains(&secret));
}
