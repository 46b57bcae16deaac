//! The Lightdash handlers, called directly with the fixtures in `events/`, against moto.

use lambda_http::Request;
use lightdash::{create_credentials, delete_credentials, list_credentials, update_credentials};
use serde_json::{Value, json};
use strongroom_aws::{Store, StoreSettings};
use strongroom_local_stack::testing::{self, body_json as body, fixture, fixture_with};

const CREATE: &str = include_str!("../../../events/lightdash-create-credentials.json");
const LIST: &str = include_str!("../../../events/lightdash-list-credentials.json");
const UPDATE: &str = include_str!("../../../events/lightdash-update-credentials.json");
const DELETE: &str = include_str!("../../../events/lightdash-delete-credentials.json");

/// The handlers' store against a fresh stack in moto.
async fn store() -> Option<Store> {
    testing::moto()?;
    let sdk = strongroom_aws::sdk_config().await;
    let stack = testing::fresh_stack(&sdk).await;
    Some(Store::new(
        &sdk,
        &StoreSettings::with_defaults(stack.table, stack.kms_key_arn),
    ))
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

fn results(response: &lambda_http::Response<lambda_http::Body>) -> Value {
    let body = body(response);
    assert_eq!(body["status"], "ok", "{body}");
    body["results"].clone()
}

#[tokio::test]
async fn given_the_fixtures_when_run_in_order_then_the_credentials_live_and_die() {
    let Some(store) = store().await else { return };

    let response = list_credentials::handle(&store, fixture(LIST))
        .await
        .expect("handled");
    assert_eq!(response.status(), 200);
    assert_eq!(results(&response), json!([]));

    let response = create_credentials::handle(&store, fixture(CREATE))
        .await
        .expect("handled");
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

    let response = list_credentials::handle(&store, fixture(LIST))
        .await
        .expect("handled");
    assert_eq!(results(&response), json!([created]));

    let response = update_credentials::handle(&store, for_uuid(UPDATE, &uuid))
        .await
        .expect("handled");
    assert_eq!(response.status(), 200, "{}", body(&response));
    let updated = results(&response);
    assert_eq!(updated["uuid"], uuid.as_str());
    assert_eq!(updated["name"], "My Snowflake (SSO)");
    assert_eq!(updated["createdAt"], created["createdAt"]);

    for response in [
        create_credentials::handle(&store, fixture(CREATE)).await,
        list_credentials::handle(&store, fixture(LIST)).await,
    ] {
        let text = format!("{:?}", response.expect("handled").body());
        assert!(!text.contains("fixture-snowflake-password"), "{text}");
        assert!(!text.contains("fixture-refresh-token"), "{text}");
    }

    let response = delete_credentials::handle(&store, for_uuid(DELETE, &uuid))
        .await
        .expect("handled");
    assert_eq!(response.status(), 200);
    assert_eq!(body(&response), json!({"status": "ok"}));
    for response in [
        delete_credentials::handle(&store, for_uuid(DELETE, &uuid)).await,
        update_credentials::handle(&store, for_uuid(UPDATE, &uuid)).await,
    ] {
        let response = response.expect("handled");
        assert_eq!(response.status(), 404);
        assert_eq!(body(&response)["error"]["name"], "NotFoundError");
    }
}

#[tokio::test]
async fn given_another_users_credentials_then_they_are_not_found() {
    let Some(store) = store().await else { return };
    let response = create_credentials::handle(&store, fixture(CREATE))
        .await
        .expect("handled");
    let uuid = results(&response)["uuid"]
        .as_str()
        .expect("a uuid")
        .to_owned();

    let response = list_credentials::handle(&store, as_other_user(LIST, None))
        .await
        .expect("handled");
    assert_eq!(results(&response), json!([]));
    for response in [
        update_credentials::handle(&store, as_other_user(UPDATE, Some(&uuid))).await,
        delete_credentials::handle(&store, as_other_user(DELETE, Some(&uuid))).await,
        update_credentials::handle(&store, for_uuid(UPDATE, "not-a-uuid")).await,
    ] {
        let response = response.expect("handled");
        assert_eq!(response.status(), 404);
        assert_eq!(
            body(&response)["error"]["message"],
            "Warehouse credentials not found"
        );
    }
    let response = list_credentials::handle(&store, fixture(LIST))
        .await
        .expect("handled");
    assert_eq!(results(&response)[0]["name"], "My Snowflake", "untouched");
}

#[tokio::test]
async fn given_bad_input_then_a_parameter_error_naming_the_field_and_nothing_stored() {
    let Some(store) = store().await else { return };
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
        let response = create_credentials::handle(&store, with_body(text))
            .await
            .expect("handled");
        assert_eq!(response.status(), status, "{text}");
        let error = body(&response)["error"].clone();
        assert_eq!(error["name"], "ParameterError", "{text}");
        assert_eq!(error["statusCode"], status);
        if let Some(field) = field {
            assert!(error["data"]["fields"].get(field).is_some(), "{error}");
        }
    }
    let response = list_credentials::handle(&store, fixture(LIST))
        .await
        .expect("handled");
    assert_eq!(results(&response), json!([]), "nothing was stored");
}

#[tokio::test]
async fn given_a_read_only_or_unauthenticated_caller_then_403_or_401() {
    let Some(store) = store().await else { return };
    let read_only = fixture_with(CREATE, |event| {
        event["requestContext"]["authorizer"]["lambda"]["scopes"] = "credentials:read".into();
    });
    let response = create_credentials::handle(&store, read_only)
        .await
        .expect("handled");
    assert_eq!(response.status(), 403);
    assert_eq!(body(&response)["error"]["name"], "ForbiddenError");

    let without_context = fixture_with(LIST, |event| {
        event["requestContext"]
            .as_object_mut()
            .expect("context")
            .remove("authorizer");
    });
    let response = list_credentials::handle(&store, without_context)
        .await
        .expect("handled");
    assert_eq!(response.status(), 401);
    assert_eq!(
        body(&response),
        json!({"status": "error", "error": {"statusCode": 401, "name": "AuthorizationError",
            "message": "Unauthorized: missing or invalid bearer token",
            "data": {"requestId": "Jm1vcEFdoAMEb3w="}}})
    );
}
