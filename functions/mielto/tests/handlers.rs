//! The Mielto routes, called with the fixtures in `events/` as their Lambda binaries serve
//! them, against the in-memory ports.

use credential_model::CredentialService;
use credential_model::ports::StoreError;
use credential_model::testing::{MemoryRepository, MemoryVault};
use lambda_http::{Body, Request, Response};
use serde_json::json;
use strongroom_local_stack::testing::{body_json as body, fixture, fixture_with, has_no_body};

const CREATE: &str = include_str!("../../../events/mielto-create-credential.json");
const LIST: &str = include_str!("../../../events/mielto-list-credentials.json");
const GET: &str = include_str!("../../../events/mielto-get-credential.json");
const UPDATE: &str = include_str!("../../../events/mielto-update-credential.json");
const DELETE: &str = include_str!("../../../events/mielto-delete-credential.json");

type Store = CredentialService<MemoryRepository, MemoryVault>;

/// `request` through the route of `binary`, as its Lambda binary serves it.
async fn call(binary: &str, store: &Store, request: Request) -> Response<Body> {
    let route = strongroom_edge::route(mielto::routes(), binary);
    strongroom_edge::serve(&route, store, request).await
}

fn store() -> Store {
    CredentialService::new(MemoryRepository::default(), MemoryVault::default())
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
    let store = store();

    let response = call("mielto-list-credentials", &store, fixture(LIST)).await;
    assert_eq!(response.status(), 200);
    assert_eq!(body(&response), json!([]));

    let response = call("mielto-create-credential", &store, fixture(CREATE)).await;
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

    let response = call("mielto-list-credentials", &store, fixture(LIST)).await;
    assert_eq!(body(&response), json!([created]));

    let response = call("mielto-get-credential", &store, for_credential(GET, &id)).await;
    assert_eq!(response.status(), 200);
    assert_eq!(body(&response), created);

    let response = call(
        "mielto-update-credential",
        &store,
        for_credential(UPDATE, &id),
    )
    .await;
    assert_eq!(response.status(), 200, "{:?}", body(&response));
    let updated = body(&response);
    assert_eq!(updated["id"], id.as_str());
    assert_eq!(updated["description"], "Rotated quarterly");
    assert_eq!(updated["label"], "OpenAI production");

    for response in [
        call("mielto-create-credential", &store, fixture(CREATE)).await,
        call("mielto-get-credential", &store, for_credential(GET, &id)).await,
    ] {
        let text = format!("{:?}", response.body());
        assert!(!text.contains("fixture-api-key"), "{text}");
        assert!(!text.contains("fixture-rotated-api-key"), "{text}");
    }

    let response = call(
        "mielto-delete-credential",
        &store,
        for_credential(DELETE, &id),
    )
    .await;
    assert_eq!(response.status(), 204);
    assert!(has_no_body(&response));
    assert_eq!(
        store.vault().live_secrets().len(),
        1,
        "only the second credential's secret is left"
    );
    for response in [
        call("mielto-get-credential", &store, for_credential(GET, &id)).await,
        call(
            "mielto-delete-credential",
            &store,
            for_credential(DELETE, &id),
        )
        .await,
        call(
            "mielto-update-credential",
            &store,
            for_credential(UPDATE, &id),
        )
        .await,
    ] {
        assert_eq!(response.status(), 404);
        assert_eq!(body(&response), json!({"detail": "Credential not found"}));
    }
}

#[tokio::test]
async fn given_the_fixture_ids_of_nothing_then_404() {
    let store = store();
    for response in [
        call("mielto-get-credential", &store, fixture(GET)).await,
        call("mielto-update-credential", &store, fixture(UPDATE)).await,
        call("mielto-delete-credential", &store, fixture(DELETE)).await,
        call(
            "mielto-get-credential",
            &store,
            for_credential(GET, "not-a-uuid"),
        )
        .await,
    ] {
        assert_eq!(response.status(), 404);
        assert_eq!(body(&response), json!({"detail": "Credential not found"}));
    }
}

#[tokio::test]
async fn given_another_workspace_in_the_header_then_404_before_anything_else() {
    let store = store();
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
        call("mielto-create-credential", &store, foreign(CREATE)).await,
        call("mielto-create-credential", &store, invalid_body).await,
        call("mielto-list-credentials", &store, foreign(LIST)).await,
        call("mielto-get-credential", &store, foreign(GET)).await,
        call("mielto-update-credential", &store, foreign(UPDATE)).await,
        call("mielto-delete-credential", &store, foreign(DELETE)).await,
    ] {
        assert_eq!(response.status(), 404);
        assert_eq!(body(&response), json!({"detail": "Workspace not found"}));
    }
    let response = call("mielto-list-credentials", &store, fixture(LIST)).await;
    assert_eq!(body(&response), json!([]), "nothing was created");
}

#[tokio::test]
async fn given_a_read_only_caller_when_creating_then_403_and_nothing_stored() {
    let store = store();
    let request = fixture_with(CREATE, |event| {
        event["requestContext"]["authorizer"]["lambda"]["scopes"] = "credentials:read".into();
    });
    let response = call("mielto-create-credential", &store, request).await;
    assert_eq!(response.status(), 403);
    assert_eq!(
        body(&response),
        json!({"detail": "Forbidden: this operation needs the credentials:write scope"})
    );
    let response = call("mielto-list-credentials", &store, fixture(LIST)).await;
    assert_eq!(body(&response), json!([]));
}

#[tokio::test]
async fn given_no_or_stale_authorizer_context_then_401() {
    let store = store();
    let without_context = fixture_with(LIST, |event| {
        event["requestContext"]
            .as_object_mut()
            .expect("context")
            .remove("authorizer");
    });
    let response = call("mielto-list-credentials", &store, without_context).await;
    assert_eq!(response.status(), 401);

    // API Gateway cached the authorizer's answer past the token's expiry.
    let expired = fixture_with(GET, |event| {
        event["requestContext"]["authorizer"]["lambda"]["expires_at"] = "1000".into();
    });
    let response = call("mielto-get-credential", &store, expired).await;
    assert_eq!(response.status(), 401);
    assert_eq!(
        body(&response),
        json!({"detail": "Unauthorized: the bearer token has expired"})
    );
}

#[tokio::test]
async fn given_bad_input_then_422_in_pydantic_words_and_nothing_stored() {
    let store = store();
    let bad_body = fixture_with(CREATE, |event| {
        event["body"] = json!({"label": "", "auth_type": "oauth2", "credentials": "sk-secret"})
            .to_string()
            .into();
    });
    let response = call("mielto-create-credential", &store, bad_body).await;
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
    let response = call("mielto-list-credentials", &store, bad_query).await;
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
    let response = call("mielto-list-credentials", &store, fixture(LIST)).await;
    assert_eq!(body(&response), json!([]));
}

#[tokio::test]
async fn given_a_dependency_down_then_503_as_fastapi_says_it_and_nothing_half_written() {
    let store = store();
    store.vault().set_down(true);
    let response = call("mielto-create-credential", &store, fixture(CREATE)).await;
    assert_eq!(response.status(), 503);
    assert_eq!(
        body(&response),
        json!({"detail": "the secret vault is temporarily unavailable; retry shortly"})
    );
    assert!(store.repository().is_empty());
    store.vault().set_down(false);
    store.repository().set_down(true);
    let response = call("mielto-create-credential", &store, fixture(CREATE)).await;
    assert_eq!(
        body(&response),
        json!({"detail": "the metadata store is temporarily unavailable; retry shortly"})
    );
    assert!(store.vault().live_secrets().is_empty());
}

#[tokio::test]
async fn given_a_lost_race_then_409_and_the_credential_unchanged() {
    let store = store();
    let id = body(&call("mielto-create-credential", &store, fixture(CREATE)).await)["id"]
        .as_str()
        .expect("an id")
        .to_owned();
    store
        .repository()
        .fail_next_write(StoreError::ConditionFailed);
    let response = call(
        "mielto-update-credential",
        &store,
        for_credential(UPDATE, &id),
    )
    .await;
    assert_eq!(response.status(), 409);
    assert_eq!(
        body(&response),
        json!({"detail": "the credential was changed by another request; retry"})
    );
    let response = call("mielto-get-credential", &store, for_credential(GET, &id)).await;
    assert_eq!(
        body(&response)["description"],
        "The key the support agents use"
    );
}
