//! The Levered handlers, called directly with the fixtures in `events/`, against moto and the
//! PostgreSQL on 127.0.0.1:5432.

use levered::{Deps, create_connection, delete_connection, get_connection, test_connection};
use serde_json::Value;
use strongroom_aws::StoreSettings;
use strongroom_local_stack::testing::{self, body_json as body, fixture, fixture_with};

const CREATE: &str = include_str!("../../../events/levered-create-connection.json");
const GET: &str = include_str!("../../../events/levered-get-connection.json");
const TEST: &str = include_str!("../../../events/levered-test-connection.json");
const DELETE: &str = include_str!("../../../events/levered-delete-connection.json");

/// The handlers' dependencies against a fresh stack in moto.
async fn deps() -> Option<Deps> {
    testing::moto()?;
    let sdk = strongroom_aws::sdk_config().await;
    let stack = testing::fresh_stack(&sdk).await;
    Some(Deps::new(
        &sdk,
        &StoreSettings::with_defaults(stack.table, stack.kms_key_arn),
    ))
}

fn machine_postgres_is_up() -> bool {
    let up = std::net::TcpStream::connect("127.0.0.1:5432").is_ok();
    testing::require("PostgreSQL on 127.0.0.1:5432", up.then_some(())).is_some()
}

#[tokio::test]
async fn given_the_fixtures_when_run_in_order_then_the_connection_lives_and_dies() {
    let Some(deps) = deps().await else { return };

    let response = get_connection::handle(&deps, fixture(GET))
        .await
        .expect("handled");
    assert_eq!(response.status(), 200);
    let reply = body(&response);
    assert_eq!(reply["connection"], Value::Null);
    assert_eq!(reply["meta"]["request_id"], "Jm1vcEFdoAMEb3w=");
    assert_eq!(reply["meta"]["organization_id"], "org_fixture");

    let response = create_connection::handle(&deps, fixture(CREATE))
        .await
        .expect("handled");
    assert_eq!(response.status(), 201);
    let created = body(&response);
    assert_eq!(created["provider"], "postgres");
    assert_eq!(created["dataset_id"], "public");

    let response = get_connection::handle(&deps, fixture(GET))
        .await
        .expect("handled");
    let reply = body(&response);
    assert_eq!(reply["connection"]["id"], created["id"]);
    assert!(!reply.to_string().contains("fixture-password"));

    if machine_postgres_is_up() {
        let response = test_connection::handle(&deps, fixture(TEST))
            .await
            .expect("handled");
        assert_eq!(body(&response)["success"], true, "{:?}", body(&response));
        assert_eq!(response.status(), 200);
    }

    let response = delete_connection::handle(&deps, fixture(DELETE))
        .await
        .expect("handled");
    assert_eq!(response.status(), 204);
    let response = get_connection::handle(&deps, fixture(GET))
        .await
        .expect("handled");
    assert_eq!(body(&response)["connection"], Value::Null);
    let response = delete_connection::handle(&deps, fixture(DELETE))
        .await
        .expect("handled");
    assert_eq!(response.status(), 404);
}

#[tokio::test]
async fn given_a_read_only_caller_when_creating_then_403_and_nothing_stored() {
    let Some(deps) = deps().await else { return };
    let request = fixture_with(CREATE, |event| {
        event["requestContext"]["authorizer"]["lambda"]["scopes"] = "credentials:read".into();
    });
    let response = create_connection::handle(&deps, request)
        .await
        .expect("handled");
    assert_eq!(response.status(), 403);
    assert_eq!(body(&response)["code"], "forbidden");
    let response = get_connection::handle(&deps, fixture(GET))
        .await
        .expect("handled");
    assert_eq!(body(&response)["connection"], Value::Null);
}

#[tokio::test]
async fn given_no_or_stale_authorizer_context_then_401() {
    let Some(deps) = deps().await else { return };
    let without_context = fixture_with(GET, |event| {
        event["requestContext"]
            .as_object_mut()
            .expect("context")
            .remove("authorizer");
    });
    let response = get_connection::handle(&deps, without_context)
        .await
        .expect("handled");
    assert_eq!(response.status(), 401);

    // API Gateway cached the authorizer's answer past the token's expiry.
    let expired = fixture_with(GET, |event| {
        event["requestContext"]["authorizer"]["lambda"]["expires_at"] = "1000".into();
    });
    let response = get_connection::handle(&deps, expired)
        .await
        .expect("handled");
    assert_eq!(response.status(), 401);
    assert!(
        body(&response)["error"]
            .as_str()
            .is_some_and(|e| e.contains("expired"))
    );

    let rejected = fixture_with(TEST, |event| {
        event["requestContext"]["authorizer"]["lambda"] =
            serde_json::json!({"verdict": "rejected", "reason": "the bearer token has expired"});
    });
    let response = test_connection::handle(&deps, rejected)
        .await
        .expect("handled");
    assert_eq!(response.status(), 401);
    assert_eq!(body(&response)["success"], false);
}
