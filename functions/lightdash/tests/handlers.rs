//! The Lightdash routes, called with the fixtures in `events/` as their Lambda binaries serve
//! them, against the in-memory ports.

use credential_model::CredentialService;
use credential_model::ports::StoreError;
use credential_model::testing::{MemoryRepository, MemoryVault};
use lambda_http::Request;
use serde_json::{Value, json};
use strongroom_local_stack::testing::{body_json as body, fixture, fixture_with};

const CREATE: &str = include_str!("../../../events/lightdash-create-credentials.json");
const LIST: &str = include_str!("../../../events/lightdash-list-credentials.json");
const UPDATE: &str = include_str!("../../../events/lightdash-update-credentials.json");
const DELETE: &str = include_str!("../../../events/lightdash-delete-credentials.json");

type Store = CredentialService<MemoryRepository, MemoryVault>;

/// `request` through the route of `binary`, as its Lambda binary serves it.
async fn call(binary: &str, store: &Store, request: Request) -> Response {
    let route = strongroom_edge::route(lightdash::routes(), binary);
    strongroom_edge::serve(&route, store, request).await
}

fn store() -> Store {
    CredentialService::new(MemoryRepository::default(), MemoryVault::default())
}

/// A fixture of a single credential's route, naming `uuid`.
fn for_uuid(json: &str, uuid: &str) -> Request {
    fixture_with(json, |event| name_uuid(event, uuid))
}

fn name_uuid(event: &mut Value, uuid: &str) {
    event["pathParameters"]["uuid"] = uuid.into();
    event["rawPath"] = format!("/api/v1/user/warehouseCredentials/{uuid}").into();
}

/// A fixture as another user of the same organization sends it (naming `uuid`, if given).
fn as_other_user(json: &str, uuid: Option<&str>) -> Request {
    fixture_with(json, |event| {
        event["requestContext"]["authorizer"]["lambda"]["user_id"] = "user_other".into();
        if let Some(uuid) = uuid {
            name_uuid(event, uuid);
        }
    })
}

type Response = lambda_http::Response<lambda_http::Body>;

fn results(response: &Response) -> Value {
    let body = body(response);
    assert_eq!(body["status"], "ok", "{body}");
    body["results"].clone()
}

#[tokio::test]
async fn given_the_fixtures_when_run_in_order_then_the_credentials_live_and_die() {
    let store = store();

    let response = call("lightdash-list-credentials", &store, fixture(LIST)).await;
    assert_eq!(response.status(), 200);
    assert_eq!(results(&response), json!([]));

    let response = call("lightdash-create-credentials", &store, fixture(CREATE)).await;
    assert_eq!(response.status(), 200, "{}", body(&response));
    let created = results(&response);
    assert_eq!(created["name"], "My Snowflake");
    assert_eq!(created["userUuid"], "user_fixture");
    assert_eq!(created["project"], Value::Null);
    assert_eq!(
        created["credentials"],
        json!({"type": "snowflake", "user": "ANALYST"})
    );
    let uuid = created["uuid"].as_str().expect("a uuid").to_owned();

    let response = call("lightdash-list-credentials", &store, fixture(LIST)).await;
    assert_eq!(results(&response), json!([created]));

    let response = call(
        "lightdash-update-credentials",
        &store,
        for_uuid(UPDATE, &uuid),
    )
    .await;
    assert_eq!(response.status(), 200, "{}", body(&response));
    let updated = results(&response);
    assert_eq!(updated["uuid"], uuid.as_str());
    assert_eq!(updated["name"], "My Snowflake (SSO)");
    assert_eq!(updated["createdAt"], created["createdAt"]);

    for response in [
        call("lightdash-create-credentials", &store, fixture(CREATE)).await,
        call("lightdash-list-credentials", &store, fixture(LIST)).await,
    ] {
        let text = format!("{:?}", response.body());
        assert!(!text.contains("fixture-snowflake-password"), "{text}");
        assert!(!text.contains("fixture-refresh-token"), "{text}");
    }

    let response = call(
        "lightdash-delete-credentials",
        &store,
        for_uuid(DELETE, &uuid),
    )
    .await;
    assert_eq!(response.status(), 200);
    assert_eq!(body(&response), json!({"status": "ok"}));
    for response in [
        call(
            "lightdash-delete-credentials",
            &store,
            for_uuid(DELETE, &uuid),
        )
        .await,
        call(
            "lightdash-update-credentials",
            &store,
            for_uuid(UPDATE, &uuid),
        )
        .await,
    ] {
        assert_eq!(response.status(), 404);
        assert_eq!(body(&response)["error"]["name"], "NotFoundError");
    }
}

#[tokio::test]
async fn given_another_users_credentials_then_they_are_not_found() {
    let store = store();
    let response = call("lightdash-create-credentials", &store, fixture(CREATE)).await;
    let uuid = results(&response)["uuid"]
        .as_str()
        .expect("a uuid")
        .to_owned();

    let response = call(
        "lightdash-list-credentials",
        &store,
        as_other_user(LIST, None),
    )
    .await;
    assert_eq!(results(&response), json!([]));
    for response in [
        call(
            "lightdash-update-credentials",
            &store,
            as_other_user(UPDATE, Some(&uuid)),
        )
        .await,
        call(
            "lightdash-delete-credentials",
            &store,
            as_other_user(DELETE, Some(&uuid)),
        )
        .await,
        call(
            "lightdash-update-credentials",
            &store,
            for_uuid(UPDATE, "not-a-uuid"),
        )
        .await,
    ] {
        assert_eq!(response.status(), 404);
        assert_eq!(
            body(&response)["error"]["message"],
            "Warehouse credentials not found"
        );
    }
    let response = call("lightdash-list-credentials", &store, fixture(LIST)).await;
    assert_eq!(results(&response)[0]["name"], "My Snowflake", "untouched");
}

#[tokio::test]
async fn given_bad_input_then_a_parameter_error_naming_the_field_and_nothing_stored() {
    let store = store();
    let with_body = |body: &str| {
        fixture_with(CREATE, |event| {
            event["body"] = body.into();
        })
    };
    let cases = [
        (r#"{"name": "x"}"#, 400, Some("credentials")),
        (
            r#"{"name": "x", "credentials": {"type": "oracle"}}"#,
            400,
            Some("credentials.type"),
        ),
        (
            r#"{"name": "x", "credentials": {"type": "postgres", "user": "u"}}"#,
            400,
            Some("credentials.password"),
        ),
        (r#"{"name": "x", "credentials": "#, 400, None),
    ];
    for (text, status, field) in cases {
        let response = call("lightdash-create-credentials", &store, with_body(text)).await;
        assert_eq!(response.status(), status, "{text}");
        let error = body(&response)["error"].clone();
        assert_eq!(error["name"], "ParameterError", "{text}");
        assert_eq!(error["statusCode"], status);
        if let Some(field) = field {
            assert!(error["data"]["fields"].get(field).is_some(), "{error}");
        }
    }
    let response = call("lightdash-list-credentials", &store, fixture(LIST)).await;
    assert_eq!(results(&response), json!([]), "nothing was stored");
}

#[tokio::test]
async fn given_a_read_only_or_unauthenticated_caller_then_403_or_401() {
    let store = store();
    let read_only = fixture_with(CREATE, |event| {
        event["requestContext"]["authorizer"]["lambda"]["scopes"] = "credentials:read".into();
    });
    let response = call("lightdash-create-credentials", &store, read_only).await;
    assert_eq!(response.status(), 403);
    assert_eq!(body(&response)["error"]["name"], "ForbiddenError");

    let without_context = fixture_with(LIST, |event| {
        event["requestContext"]
            .as_object_mut()
            .expect("context")
            .remove("authorizer");
    });
    let response = call("lightdash-list-credentials", &store, without_context).await;
    assert_eq!(response.status(), 401);
    assert_eq!(
        body(&response),
        json!({"status": "error", "error": {"statusCode": 401, "name": "AuthorizationError",
            "message": "Unauthorized: missing or invalid bearer token",
            "data": {"requestId": "Jm1vcEFdoAMEb3w="}}})
    );
}

/// Lightdash's `ApiErrorPayload` with `status` and `name`.
fn assert_error(response: &Response, status: u16, name: &str) {
    assert_eq!(response.status(), status);
    let error = body(response);
    assert_eq!(error["status"], "error", "{error}");
    assert_eq!(error["error"]["statusCode"], status, "{error}");
    assert_eq!(error["error"]["name"], name, "{error}");
    assert_eq!(
        error["error"]["data"]["requestId"], "Jm1vcEFdoAMEb3w=",
        "{error}"
    );
}

#[tokio::test]
async fn given_a_dependency_down_then_503_in_lightdash_shape_and_nothing_half_written() {
    let store = store();
    store.vault().set_down(true);
    let response = call("lightdash-create-credentials", &store, fixture(CREATE)).await;
    assert_error(&response, 503, "ServiceUnavailableError");
    assert!(store.repository().is_empty());
    store.vault().set_down(false);
    store.repository().set_down(true);
    let response = call("lightdash-create-credentials", &store, fixture(CREATE)).await;
    assert_error(&response, 503, "ServiceUnavailableError");
    assert!(store.vault().live_secrets().is_empty());
    assert!(!body(&response).to_string().contains("memory"));
}

#[tokio::test]
async fn given_a_lost_race_then_409_in_lightdash_shape_and_the_secret_unchanged() {
    let store = store();
    let uuid =
        results(&call("lightdash-create-credentials", &store, fixture(CREATE)).await)["uuid"]
            .as_str()
            .expect("a uuid")
            .to_owned();
    store
        .repository()
        .fail_next_write(StoreError::ConditionFailed);
    let response = call(
        "lightdash-update-credentials",
        &store,
        for_uuid(UPDATE, &uuid),
    )
    .await;
    assert_error(&response, 409, "ConflictError");
    let response = call("lightdash-list-credentials", &store, fixture(LIST)).await;
    assert_eq!(results(&response)[0]["name"], "My Snowflake", "unchanged");
}

#[tokio::test]
async fn given_a_change_of_warehouse_type_then_the_secret_is_retagged() {
    let store = store();
    let uuid =
        results(&call("lightdash-create-credentials", &store, fixture(CREATE)).await)["uuid"]
            .as_str()
            .expect("a uuid")
            .to_owned();
    let to_postgres = fixture_with(UPDATE, |event| {
        name_uuid(event, &uuid);
        event["body"] = json!({"credentials": {"type": "postgres", "user": "u",
            "password": "fixture-new-password"}})
        .to_string()
        .into();
    });
    let response = call("lightdash-update-credentials", &store, to_postgres).await;
    assert_eq!(results(&response)["credentials"]["type"], "postgres");
    let secrets = store.vault().live_secrets();
    assert_eq!(secrets.len(), 1);
    let tags = store
        .vault()
        .tags(&credential_model::SecretRef(secrets[0].clone()));
    assert!(
        tags.contains(&("strongroom:provider".into(), "postgres".into())),
        "{tags:?}"
    );
}
