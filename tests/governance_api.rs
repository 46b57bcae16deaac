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
            "credential-created",
            "credential-revealed",
            "credential-revealed",
            "credential-created"
        ]
    );
    assert_eq!(
        events[0]["actor"],
        json!({"user": "user_owner", "apiToken": token_id})
    );
    assert_eq!(events[1]["subject"], token_id.as_str());
    assert_eq!(events[4]["subject"], version.as_str());
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
        Some(4)
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
        Some(7)
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

/// The audit log's events of `token`'s organization, oldest first, every page read.
async fn audit_trail(api: &Harness, token: &str) -> Vec<Value> {
    let mut events = Vec::new();
    let mut path = format!("{AUDIT}?limit=100");
    loop {
        let page = api.get(&path, token).await;
        assert_eq!(page.status, 200, "{}", page.text);
        let page = page.json();
        events.extend(page["events"].as_array().expect("events").iter().cloned());
        match page["nextCursor"].as_str() {
            Some(cursor) => path = format!("{AUDIT}?limit=100&cursor={cursor}"),
            None => break,
        }
    }
    events.reverse();
    events
}

/// What a scripted run expects of the log: each event's action and, where the run knows it,
/// its credential.
#[derive(Default)]
struct Expected(Vec<(&'static str, Option<String>)>);

impl Expected {
    fn push(&mut self, action: &'static str, credential: Option<&str>) {
        self.0.push((action, credential.map(str::to_owned)));
    }
}

/// 50 operations across the five families, the native API and API tokens — writes, reads,
/// refusals — and the log holds exactly one event per change, in order, each naming its
/// actor, request and source; reads and refused requests leave none. A canary secret and a
/// canary API token appear in no log line, item or event.
#[tokio::test]
async fn fifty_mixed_operations_leave_exactly_their_events_in_order() {
    let Some(api) = Harness::start().await else {
        return;
    };
    let Some(target) = strongroom_e2e::PgTarget::new().await else {
        return;
    };
    let secret = canary();
    let org = org("trail");
    let admin = api.token(&org, "user_admin", ALL_SCOPES);
    let reader = api.token(&org, "user_reader", &[Scope::Read]);
    let mut expected = Expected::default();
    let operations = std::cell::Cell::new(0);
    let ok = |reply: &Reply, status: u16| {
        operations.set(operations.get() + 1);
        assert_eq!(reply.status, status, "{}", reply.text);
    };

    // Levered: create, replace, read, delete.
    const LEVERED: &str = "/api/v2/warehouse/connections";
    let levered = json!({"provider": "postgres", "credentials": {"host": "db.internal",
        "port": 5432, "database": "analytics", "username": "bi", "password": secret}});
    ok(&api.post(LEVERED, &admin, &levered).await, 201);
    expected.push("credential-created", None);
    ok(&api.post(LEVERED, &admin, &levered).await, 201);
    expected.push("credential-replaced", None);
    ok(&api.get(LEVERED, &admin).await, 200);
    ok(&api.delete(LEVERED, &admin).await, 204);
    expected.push("credential-deleted", None);
    ok(&api.delete(LEVERED, &admin).await, 404);

    // Lightdash: create, update, a refused update, delete.
    const LIGHTDASH: &str = "/api/v1/user/warehouseCredentials";
    let created = api
        .post(
            LIGHTDASH,
            &admin,
            &json!({"name": "bi", "credentials": {"type": "postgres", "user": "bi",
                "password": secret}}),
        )
        .await;
    ok(&created, 200);
    let uuid = created.json()["results"]["uuid"]
        .as_str()
        .expect("a uuid")
        .to_owned();
    expected.push("credential-created", Some(&uuid));
    let one = format!("{LIGHTDASH}/{uuid}");
    ok(
        &api.send_json(Method::PATCH, &one, &admin, &json!({"name": "bi2"}))
            .await,
        200,
    );
    expected.push("credential-updated", Some(&uuid));
    ok(
        &api.send_json(Method::PATCH, &one, &reader, &json!({"name": "bi3"}))
            .await,
        403,
    );
    ok(&api.delete(&one, &admin).await, 200);
    expected.push("credential-deleted", Some(&uuid));
    ok(
        &api.post(LIGHTDASH, &admin, &json!({"name": "no credentials"}))
            .await,
        400,
    );

    // Credible: create, update, read, delete.
    let credible = "/api/v0/projects/analytics/connections/warehouse";
    ok(
        &api.post(
            credible,
            &admin,
            &json!({"name": "warehouse", "type": "postgres", "postgresConnection": {
                "host": "db.internal", "port": 5432, "databaseName": "analytics",
                "userName": "bi", "password": secret}}),
        )
        .await,
        201,
    );
    expected.push("credential-created", None);
    ok(
        &api.send_json(
            Method::PATCH,
            credible,
            &admin,
            &json!({"postgresConnection": {"port": 5433}}),
        )
        .await,
        200,
    );
    expected.push("credential-updated", None);
    ok(&api.get(credible, &admin).await, 200);
    ok(&api.get(AUDIT, &admin).await, 200);
    ok(&api.delete(credible, &admin).await, 200);
    expected.push("credential-deleted", None);

    // Mielto, and the native API on its credentials: create, update, reveal (and a refused
    // one), delete, three times over.
    for _ in 0..3 {
        let id = generic_credential(&api, &admin, &secret).await;
        operations.set(operations.get() + 1);
        expected.push("credential-created", Some(&id));
        let path = format!("/api/v1/credentials/{id}");
        ok(
            &api.send_json(Method::PUT, &path, &admin, &json!({"label": "renamed"}))
                .await,
            200,
        );
        expected.push("credential-updated", Some(&id));
        ok(&api.post_empty(&reveal(&id), &admin).await, 200);
        expected.push("credential-revealed", Some(&id));
        ok(&api.post_empty(&reveal(&id), &reader).await, 403);
        ok(
            &api.send_json(
                Method::PUT,
                &path,
                &admin,
                &json!({"expires_at": "not a time"}),
            )
            .await,
            422,
        );
        ok(
            &api.get(&format!("/strongroom/v1/credentials/{id}"), &admin)
                .await,
            200,
        );
        ok(&api.delete(&path, &admin).await, 204);
        expected.push("credential-deleted", Some(&id));
    }

    // An API token: issued, used (as ApiKey) to create and reveal, revoked, refused.
    let issued = api
        .post(
            TOKENS,
            &admin,
            &json!({"name": "ci", "scopes": ["credentials:read", "credentials:write",
                "credentials:reveal"]}),
        )
        .await;
    ok(&issued, 201);
    let api_token = issued.json()["token"]
        .as_str()
        .expect("the token")
        .to_owned();
    let token_id = issued.json()["id"].as_str().expect("an id").to_owned();
    expected.push("api-token-issued", None);
    let authorization = format!("ApiKey {api_token}");
    let by_token = api
        .send_with_headers(
            Method::POST,
            "/api/v1/credentials",
            None,
            &[("authorization", &authorization)],
            Body::Json(
                &json!({"label": "Token", "auth_type": "api_key", "credential_scope": "workspace",
                    "provider": "openai", "credentials": {"api_key": secret}}),
            ),
        )
        .await;
    ok(&by_token, 200);
    let token_made = by_token.json()["id"].as_str().expect("an id").to_owned();
    expected.push("credential-created", Some(&token_made));
    ok(
        &with_authorization(&api, Method::POST, &reveal(&token_made), &authorization).await,
        200,
    );
    expected.push("credential-revealed", Some(&token_made));
    ok(
        &api.delete(&format!("{TOKENS}/{token_id}"), &admin).await,
        204,
    );
    expected.push("api-token-revoked", None);
    // Refused at its next check: a header the gateway has not cached a verdict for.
    ok(
        &with_authorization(
            &api,
            Method::POST,
            &reveal(&token_made),
            &format!("Bearer {api_token}"),
        )
        .await,
        401,
    );

    // Nile: register, issue twice, rotate with a delay (a new login, the two shortened), a
    // refused rotation, revoke one, delete the database by force (the other two revoked).
    let databases = format!("/workspaces/{org}/databases");
    let name = format!("db_{}", strongroom_e2e::unique_suffix());
    ok(
        &api.post(&databases, &admin, &target.registration(&name))
            .await,
        201,
    );
    expected.push("credential-created", None);
    ok(&api.get(&databases, &admin).await, 200);
    let credentials = format!("{databases}/{name}/credentials");
    let mut logins = Vec::new();
    for _ in 0..2 {
        let issued = api.post_empty(&credentials, &admin).await;
        ok(&issued, 200);
        logins.push(issued.json()["id"].as_str().expect("a login").to_owned());
        expected.push("login-issued", None);
    }
    let rotate = format!("{credentials}/rotate");
    let rotated = api
        .post(
            &rotate,
            &admin,
            &json!({"delayOldSecretsExpirationHours": 1, "reason": "audit"}),
        )
        .await;
    ok(&rotated, 200);
    expected.push("login-issued", None);
    expected.push("login-shortened", None);
    expected.push("login-shortened", None);
    ok(
        &api.post(
            &rotate,
            &admin,
            &json!({"delayOldSecretsExpirationHours": 0}),
        )
        .await,
        400,
    );
    ok(&api.get(&credentials, &admin).await, 200);
    ok(
        &api.delete(&format!("{credentials}/{}", logins[0]), &admin)
            .await,
        204,
    );
    expected.push("login-revoked", None);
    ok(
        &api.delete(&format!("{databases}/{name}?force=true"), &admin)
            .await,
        204,
    );
    expected.push("login-revoked", None);
    expected.push("login-revoked", None);
    expected.push("credential-deleted", None);
    assert_eq!(operations.get(), 50, "the script runs 50 operations");

    let trail = audit_trail(&api, &admin).await;
    let actions: Vec<&str> = trail
        .iter()
        .map(|event| event["action"].as_str().expect("an action"))
        .collect();
    let wanted: Vec<&str> = expected.0.iter().map(|(action, _)| *action).collect();
    assert_eq!(actions, wanted);
    let mut request_ids = std::collections::BTreeSet::new();
    for (event, (action, credential)) in trail.iter().zip(&expected.0) {
        if let Some(credential) = credential {
            assert_eq!(
                event["credentialId"],
                credential.as_str(),
                "{action}: {event}"
            );
        } else if !action.starts_with("api-token") {
            assert!(event["credentialId"].is_string(), "{action}: {event}");
        }
        let by_token = event["credentialId"] == token_made.as_str();
        let actor = if by_token {
            json!({"user": "user_admin", "apiToken": token_id})
        } else {
            json!({"user": "user_admin", "apiToken": null})
        };
        assert_eq!(event["actor"], actor, "{action}: {event}");
        assert!(event["sourceIp"].is_string(), "{action}: {event}");
        request_ids.insert(
            event["requestId"]
                .as_str()
                .expect("a request id")
                .to_owned(),
        );
    }
    // One request per change, but for the rotation and the forced delete (several each).
    assert_eq!(request_ids.len(), expected.0.len() - 2 - 2);
    let newest = rotated.json()["id"].as_str().expect("a login").to_owned();
    for login in logins.iter().chain([&newest]) {
        assert!(
            trail.iter().any(|event| event["subject"] == login.as_str()),
            "{login} named by an event"
        );
    }

    // The canaries: in no log line, no item (the token is kept as a digest only), no event.
    let everything = serde_json::to_string(&trail).expect("json");
    let logs = strongroom_e2e::captured_logs();
    let items = api.table_dump().await;
    for canary in [&secret, &api_token] {
        assert!(!logs.contains(canary.as_str()), "a log line holds a canary");
        assert!(!items.contains(canary.as_str()), "an item holds a canary");
        assert!(
            !everything.contains(canary.as_str()),
            "an event holds a canary"
        );
    }
    let (_, token_secret) = api_token.rsplit_once('_').expect("srk_<id>_<secret>");
    assert!(!items.contains(token_secret) && !logs.contains(token_secret));
}
