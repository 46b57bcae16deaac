//! The Mielto handlers, called directly with the fixtures in `events/`, against moto.

use lambda_http::Request;
use mielto::{
    create_credential, delete_credential, get_credential, list_credentials, update_credential,
};
use serde_json::json;
use strongroom_aws::{Store, StoreSettings};
use strongroom_local_stack::testing::{self, body_json as body, fixture, fixture_with};

const CREATE: &str = include_str!("../../../events/mielto-create-credential.json");
const LIST: &str = include_str!("../../../events/mielto-list-credentials.json");
const GET: &str = include_str!("../../../events/mielto-get-credential.json");
const UPDATE: &str = include_str!("../../../events/mielto-update-credential.json");
const DELETE: &str = include_str!("../../../events/mielto-delete-credential.json");

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

/// A fixture of a single credential's route, naming credential `id`.
fn for_credential(json: &str, id: &str) -> Request {
    fixture_with(json, |event| {
        event["pathParameters"]["credential_id"] = id.into();
        event["rawPath"] = format!("/api/v1/credentials/{id}").into();
    })
}

#[tokio::test]
async fn given_the_fixtures_when_run_in_order_then_the_credential_lives_and_dies() {
    let Some(store) = store().await else { return };

    let response = list_credentials::handle(&store, fixture(LIST))
        .await
        .expect("handled");
    assert_eq!(response.status(), 200);
    assert_eq!(body(&response), json!([]));

    let response = create_credential::handle(&store, fixture(CREATE))
        .await
        .expect("handled");
    assert_eq!(response.status(), 200, "{:?}", body(&response));
    let created = body(&response);
    assert_eq!(created["label"], "OpenAI production");
    assert_eq!(created["auth_type"], "api_key");
    assert_eq!(created["provider"], "openai");
    assert_eq!(created["workspace_id"], "org_fixture");
    assert_eq!(created["created_by"], "user_fixture");
    assert_eq!(created["status"], "active");
    assert!(created.get("credentials").is_none());
    let id = created["id"].as_str().expect("an id").to_owned();

    let response = list_credentials::handle(&store, fixture(LIST))
        .await
        .expect("handled");
    assert_eq!(body(&response), json!([created]));

    let response = get_credential::handle(&store, for_credential(GET, &id))
        .await
        .expect("handled");
    assert_eq!(response.status(), 200);
    assert_eq!(body(&response), created);

    let response = update_credential::handle(&store, for_credential(UPDATE, &id))
        .await
        .expect("handled");
    assert_eq!(response.status(), 200, "{:?}", body(&response));
    let updated = body(&response);
    assert_eq!(updated["id"], id.as_str());
    assert_eq!(updated["description"], "Rotated quarterly");
    assert_eq!(updated["label"], "OpenAI production");

    for response in [
        create_credential::handle(&store, fixture(CREATE)).await,
        get_credential::handle(&store, for_credential(GET, &id)).await,
    ] {
        let text = format!("{:?}", response.expect("handled").body());
        assert!(!text.contains("fixture-api-key"), "{text}");
        assert!(!text.contains("fixture-rotated-api-key"), "{text}");
    }

    let response = delete_credential::handle(&store, for_credential(DELETE, &id))
        .await
        .expect("handled");
    assert_eq!(response.status(), 204);
    for response in [
        get_credential::handle(&store, for_credential(GET, &id)).await,
        delete_credential::handle(&store, for_credential(DELETE, &id)).await,
        update_credential::handle(&store, for_credential(UPDATE, &id)).await,
    ] {
        let response = response.expect("handled");
        assert_eq!(response.status(), 404);
        assert_eq!(body(&response), json!({"detail": "Credential not found"}));
    }
}

#[tokio::test]
async fn given_the_fixture_ids_of_nothing_then_404() {
    let Some(store) = store().await else { return };
    for response in [
        get_credential::handle(&store, fixture(GET)).await,
        update_credential::handle(&store, fixture(UPDATE)).await,
        delete_credential::handle(&store, fixture(DELETE)).await,
        get_credential::handle(&store, for_credential(GET, "not-a-uuid")).await,
    ] {
        let response = response.expect("handled");
        assert_eq!(response.status(), 404);
        assert_eq!(body(&response), json!({"detail": "Credential not found"}));
    }
}

#[tokio::test]
async fn given_another_workspace_in_the_header_then_404_before_anything_else() {
    let Some(store) = store().await else { return };
    let foreign = |json: &str| {
        fixture_with(json, |event| {
            event["headers"]["x-workspace-id"] = "org_other".into();
        })
    };
    let invalid_body = fixture_with(CREATE, |event| {
        event["headers"]["x-workspace-id"] = "org_other".into();
        event["body"] = "{not json".into();
    });
    for response in [
        create_credential::handle(&store, foreign(CREATE)).await,
        create_credential::handle(&store, invalid_body).await,
        list_credentials::handle(&store, foreign(LIST)).await,
        get_credential::handle(&store, foreign(GET)).await,
        update_credential::handle(&store, foreign(UPDATE)).await,
        delete_credential::handle(&store, foreign(DELETE)).await,
    ] {
        let response = response.expect("handled");
        assert_eq!(response.status(), 404);
        assert_eq!(body(&response), json!({"detail": "Workspace not found"}));
    }
    let response = list_credentials::handle(&store, fixture(LIST))
        .await
        .expect("handled");
    assert_eq!(body(&response), json!([]), "nothing was created");
}

#[tokio::test]
async fn given_a_read_only_caller_when_creating_then_403_and_nothing_stored() {
    let Some(store) = store().await else { return };
    let request = fixture_with(CREATE, |event| {
        event["requestContext"]["authorizer"]["lambda"]["scopes"] = "credentials:read".into();
    });
    let response = create_credential::handle(&store, request)
        .await
        .expect("handled");
    assert_eq!(response.status(), 403);
    assert_eq!(
        body(&response),
        json!({"detail": "Forbidden: this operation needs the credentials:write scope"})
    );
    let response = list_credentials::handle(&store, fixture(LIST))
        .await
        .expect("handled");
    assert_eq!(body(&response), json!([]));
}

#[tokio::test]
async fn given_no_or_stale_authorizer_context_then_401() {
    let Some(store) = store().await else { return };
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

    // API Gateway cached the authorizer's answer past the token's expiry.
    let expired = fixture_with(GET, |event| {
        event["requestContext"]["authorizer"]["lambda"]["expires_at"] = "1000".into();
    });
    let response = get_credential::handle(&store, expired)
        .await
        .expect("handled");
    assert_eq!(response.status(), 401);
    assert_eq!(
        body(&response),
        json!({"detail": "Unauthorized: the bearer token has expired"})
    );
}

#[tokio::test]
async fn given_bad_input_then_422_in_pydantic_words_and_nothing_stored() {
    let Some(store) = store().await else { return };
    let bad_body = fixture_with(CREATE, |event| {
        event["body"] = json!({"label": "", "auth_type": "oauth2", "credentials": "sk-secret"})
            .to_string()
            .into();
    });
    let response = create_credential::handle(&store, bad_body)
        .await
        .expect("handled");
    assert_eq!(response.status(), 422);
    assert_eq!(
        body(&response),
        json!({"detail": [
            {"loc": ["body", "label"], "msg": "String should have at least 1 character",
             "type": "string_too_short"},
            {"loc": ["body", "auth_type"], "msg": "Input should be 'api_key', 'oauth_token', \
              'oauth_token_refresh', 'oauth_token_refresh_rotation', 'basic_auth', \
              'access_token', 'access_token_refresh', 'public_key_secret', \
              'connection_string' or 'custom'", "type": "enum"},
            {"loc": ["body", "credential_scope"], "msg": "Field required", "type": "missing"},
            {"loc": ["body", "credentials"], "msg": "Input should be a valid dictionary",
             "type": "dict_type"},
        ]})
    );
    assert!(!format!("{:?}", response.body()).contains("sk-secret"));

    let bad_query = fixture_with(LIST, |event| {
        event["rawQueryString"] = "limit=500&skip=-1".into();
    });
    let response = list_credentials::handle(&store, bad_query)
        .await
        .expect("handled");
    assert_eq!(response.status(), 422);
    assert_eq!(
        body(&response),
        json!({"detail": [
            {"loc": ["query", "skip"], "msg": "Input should be greater than or equal to 0",
             "type": "greater_than_equal"},
            {"loc": ["query", "limit"], "msg": "Input should be less than or equal to 100",
             "type": "less_than_equal"},
        ]})
    );
    let response = list_credentials::handle(&store, fixture(LIST))
        .await
        .expect("handled");
    assert_eq!(body(&response), json!([]));
}
