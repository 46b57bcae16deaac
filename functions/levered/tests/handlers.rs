//! The Levered routes, called with the fixtures in `events/` as their Lambda binaries serve
//! them, against the in-memory ports and, for connection tests, a PostgreSQL that checks
//! passwords.

use credential_model::CredentialService;
use credential_model::ports::StoreError;
use credential_model::testing::{MemoryRepository, MemoryVault};
use lambda_http::{Body, Request, Response};
use levered::{CONNECTION_TEST_TIMEOUT, Deps};
use secrecy::ExposeSecret;
use serde_json::{Value, json};
use strongroom_connectors::DatabaseTester;
use strongroom_local_stack::testing::{
    self, body_json as body, fixture, fixture_with, has_no_body,
};

const CREATE: &str = include_str!("../../../events/levered-create-connection.json");
const GET: &str = include_str!("../../../events/levered-get-connection.json");
const TEST: &str = include_str!("../../../events/levered-test-connection.json");
const DELETE: &str = include_str!("../../../events/levered-delete-connection.json");

type MemoryDeps = Deps<MemoryRepository, MemoryVault, DatabaseTester>;

/// `request` through the route of `binary`, as its Lambda binary serves it.
async fn call(binary: &str, deps: &MemoryDeps, request: Request) -> Response<Body> {
    let route = strongroom_edge::route(levered::routes(), binary);
    strongroom_edge::serve(&route, deps, request).await
}

fn deps() -> MemoryDeps {
    Deps {
        credentials: CredentialService::new(MemoryRepository::default(), MemoryVault::default()),
        tester: DatabaseTester::new(CONNECTION_TEST_TIMEOUT),
    }
}

/// The create fixture, with `credentials` changed by `edit`.
fn create_with(edit: impl FnOnce(&mut Value)) -> Request {
    fixture_with(CREATE, |event| {
        let mut sent: Value =
            serde_json::from_str(event["body"].as_str().expect("a body")).expect("JSON");
        edit(&mut sent["credentials"]);
        event["body"] = sent.to_string().into();
    })
}

/// Levered's error body: `error`, `code`, and `meta` naming the request.
fn assert_error(response: &lambda_http::Response<lambda_http::Body>, status: u16, code: &str) {
    assert_eq!(response.status(), status);
    let error = body(response);
    assert_eq!(error["code"], code, "{error}");
    assert!(
        error["error"].as_str().is_some_and(|e| !e.is_empty()),
        "{error}"
    );
    assert_eq!(error["meta"]["request_id"], "Jm1vcEFdoAMEb3w=", "{error}");
}

#[tokio::test]
async fn given_the_fixtures_when_run_in_order_then_the_connection_lives_and_dies() {
    let Some(postgres) = testing::scram_postgres() else {
        return;
    };
    let deps = deps();

    let response = call("levered-get-connection", &deps, fixture(GET)).await;
    assert_eq!(response.status(), 200);
    let reply = body(&response);
    assert_eq!(reply["connection"], Value::Null);
    assert_eq!(reply["meta"]["request_id"], "Jm1vcEFdoAMEb3w=");
    assert_eq!(reply["meta"]["organization_id"], "org_fixture");

    let to_postgres = |password: &str| {
        let password = password.to_owned();
        let (host, port, user) = (
            postgres.host.clone(),
            postgres.port,
            postgres.superuser.clone(),
        );
        create_with(move |credentials| {
            *credentials = json!({"host": host, "port": port, "database": "postgres",
                "username": user, "password": password});
        })
    };
    let response = call(
        "levered-create-connection",
        &deps,
        to_postgres(postgres.password.expose_secret()),
    )
    .await;
    assert_eq!(response.status(), 201, "{}", body(&response));
    let created = body(&response);
    assert_eq!(created["provider"], "postgres");
    assert_eq!(created["dataset_id"], "public");

    let reply = body(&call("levered-get-connection", &deps, fixture(GET)).await);
    assert_eq!(reply["connection"]["id"], created["id"]);
    assert!(
        !reply
            .to_string()
            .contains(postgres.password.expose_secret())
    );

    let response = call("levered-test-connection", &deps, fixture(TEST)).await;
    assert_eq!(body(&response)["success"], true, "{}", body(&response));
    assert_eq!(response.status(), 200);

    // A wrong password is stored, and the server that checks passwords refuses it.
    let response = call(
        "levered-create-connection",
        &deps,
        to_postgres("not-the-password"),
    )
    .await;
    assert_eq!(response.status(), 201);
    let response = call("levered-test-connection", &deps, fixture(TEST)).await;
    assert_eq!(response.status(), 400);
    let failure = body(&response);
    assert_eq!(failure["success"], false);
    assert_eq!(failure["code"], "authentication_failed", "{failure}");
    assert_eq!(failure["source"], "warehouse");

    let response = call("levered-delete-connection", &deps, fixture(DELETE)).await;
    assert_eq!(response.status(), 204);
    assert!(has_no_body(&response));
    let reply = body(&call("levered-get-connection", &deps, fixture(GET)).await);
    assert_eq!(reply["connection"], Value::Null);
    assert!(deps.credentials.vault().live_secrets().is_empty());
    let response = call("levered-delete-connection", &deps, fixture(DELETE)).await;
    assert_error(&response, 404, "not_found");
}

#[tokio::test]
async fn given_a_read_only_caller_when_creating_then_403_and_nothing_stored() {
    let deps = deps();
    let request = fixture_with(CREATE, |event| {
        event["requestContext"]["authorizer"]["lambda"]["scopes"] = "credentials:read".into();
    });
    let response = call("levered-create-connection", &deps, request).await;
    assert_error(&response, 403, "forbidden");
    assert!(deps.credentials.repository().is_empty());
    assert!(deps.credentials.vault().live_secrets().is_empty());
}

#[tokio::test]
async fn given_no_or_stale_authorizer_context_then_401() {
    let deps = deps();
    let without_context = fixture_with(GET, |event| {
        event["requestContext"]
            .as_object_mut()
            .expect("context")
            .remove("authorizer");
    });
    let response = call("levered-get-connection", &deps, without_context).await;
    assert_eq!(response.status(), 401);
    assert_eq!(body(&response)["code"], "unauthenticated");

    // API Gateway cached the authorizer's answer past the token's expiry.
    let expired = fixture_with(GET, |event| {
        event["requestContext"]["authorizer"]["lambda"]["expires_at"] = "1000".into();
    });
    let response = call("levered-get-connection", &deps, expired).await;
    assert_error(&response, 401, "unauthenticated");
    assert!(
        body(&response)["error"]
            .as_str()
            .is_some_and(|e| e.contains("expired"))
    );

    let rejected = fixture_with(TEST, |event| {
        event["requestContext"]["authorizer"]["lambda"] =
            json!({"verdict": "rejected", "reason": "the bearer token has expired"});
    });
    let response = call("levered-test-connection", &deps, rejected).await;
    assert_error(&response, 401, "unauthenticated");
    assert_eq!(body(&response)["success"], false);
}

#[tokio::test]
async fn given_a_dependency_down_then_503_in_levered_shape_and_nothing_half_written() {
    let deps = deps();
    deps.credentials.vault().set_down(true);
    let response = call("levered-create-connection", &deps, fixture(CREATE)).await;
    assert_error(&response, 503, "service_unavailable");
    assert!(deps.credentials.repository().is_empty());

    deps.credentials.vault().set_down(false);
    deps.credentials.repository().set_down(true);
    let response = call("levered-create-connection", &deps, fixture(CREATE)).await;
    assert_error(&response, 503, "service_unavailable");
    assert!(
        deps.credentials.vault().live_secrets().is_empty(),
        "the secret written first is undone"
    );
    let response = call("levered-get-connection", &deps, fixture(GET)).await;
    assert_error(&response, 503, "service_unavailable");
    let text = body(&response).to_string();
    assert!(
        !text.contains("memory"),
        "no internal detail reaches the client: {text}"
    );
}

#[tokio::test]
async fn given_a_lost_race_then_409_in_levered_shape_and_no_orphan_secret() {
    let deps = deps();
    deps.credentials
        .repository()
        .fail_next_write(StoreError::ConditionFailed);
    let response = call("levered-create-connection", &deps, fixture(CREATE)).await;
    assert_error(&response, 409, "conflict");
    assert!(deps.credentials.vault().live_secrets().is_empty());
}

#[tokio::test]
async fn given_bad_input_then_400_naming_the_field_and_nothing_written() {
    let deps = deps();
    let response = call(
        "levered-create-connection",
        &deps,
        create_with(|credentials| credentials["port"] = "5432".into()),
    )
    .await;
    assert_error(&response, 400, "invalid_request");
    assert_eq!(body(&response)["field"], "credentials.port");
    assert_eq!(
        body(&response)["errors"],
        json!([{"field": "credentials.port",
            "message": "credentials.port must be an integer between 1 and 65535"}])
    );
    assert!(deps.credentials.repository().is_empty());
    assert!(deps.credentials.vault().live_secrets().is_empty());
}
