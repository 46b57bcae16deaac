use std::collections::HashMap;

use credential_model::testing;
use credential_model::{CredentialId, OrgId};
use lambda_http::{Body, Request, http};
use secrecy::ExposeSecret;
use serde_json::{Value, json};
use strongroom_edge::BodyStyle;
use time::macros::datetime;

use super::*;

const NOW: OffsetDateTime = datetime!(2026-03-28 14:00:00 UTC);
const CANARY: &str = "sk-canary-7f3a";

fn valid() -> Value {
    json!({
        "label": "OpenAI production", "description": "The key the agents use",
        "auth_type": "api_key", "credential_type": "llm", "credential_scope": "workspace",
        "provider": "openai", "user_id": "user_42",
        "credentials": {"api_key": CANARY, "organization": "org-1"}
    })
}

fn with(edit: impl FnOnce(&mut Value)) -> Value {
    let mut body = valid();
    edit(&mut body);
    body
}

/// `parse` of `body` as the handlers call it: a FastAPI body, named from `body`.
fn parsed<T>(body: &Value, parse: impl FnOnce(&JsonBody<'_>) -> T) -> T {
    let text = body.to_string();
    parse(&JsonBody {
        value: credential_model::json::parse(&text).expect("JSON"),
        path: BodyStyle::FastApi.root(),
    })
}

fn create(body: Value) -> Result<NewCredential<GenericCredential>, Rejection> {
    parsed(&body, |body| credential_create(body, NOW))
}

fn update(body: Value) -> Result<CredentialUpdate, Rejection> {
    parsed(&body, |body| credential_update(body, NOW))
}

/// A problem in pydantic's terms: `string_type`, `enum`, `missing`…
fn kind(problem: &Problem) -> String {
    match problem {
        Problem::Missing => "missing".into(),
        Problem::Empty => "string_too_short".into(),
        Problem::TooLong { max } => format!("string_too_long {max}"),
        Problem::WrongType { expected, .. } => format!("wrong type: {expected}"),
        Problem::NotOneOf { .. } => "enum".into(),
        Problem::Malformed { expected } => format!("malformed: {expected}"),
        other => other.to_string(),
    }
}

fn problems<T: std::fmt::Debug>(result: Result<T, Rejection>) -> Vec<(String, String)> {
    let rejection = result.expect_err("refused");
    rejection
        .field_errors()
        .expect("field errors")
        .iter()
        .map(|e| (e.path.to_string(), kind(&e.problem)))
        .collect()
}

fn one_problem<T: std::fmt::Debug>(result: Result<T, Rejection>) -> (String, String) {
    let mut found = problems(result);
    assert_eq!(found.len(), 1, "{found:?}");
    found.remove(0)
}

fn problem(path: &str, kind: &str) -> (String, String) {
    (path.to_owned(), kind.to_owned())
}

const STRING: &str = "wrong type: a string";
const DICTIONARY: &str = "wrong type: an object";

#[test]
fn a_create_keeps_the_raw_object_as_the_secret_and_the_rest_as_attributes() {
    let new = create(valid()).expect("valid");
    assert_eq!(new.document.provider(), Provider::Generic);
    assert!(new.document.settings().is_empty());
    let document: Value =
        serde_json::from_str(new.document.render().expose_secret()).expect("JSON");
    assert_eq!(
        document["credentials"],
        json!({"api_key": CANARY, "organization": "org-1"})
    );
    assert_eq!(
        new.attributes,
        GenericCredential {
            label: "OpenAI production".into(),
            description: Some("The key the agents use".into()),
            auth_type: AuthType::ApiKey,
            credential_type: Some(CredentialType::Llm),
            credential_scope: "workspace".into(),
            provider: "openai".into(),
            user_id: Some("user_42".into()),
            status: Status::Active,
        }
    );
    assert_eq!(new.expires_at, None);
    assert!(!format!("{new:?}").contains(CANARY));
}

#[test]
fn only_the_required_fields_are_needed() {
    let new = create(
        json!({"label": "x", "auth_type": "custom", "credential_scope": "",
        "credentials": {}, "unknown": "ignored"}),
    )
    .expect("valid");
    assert_eq!(new.attributes.provider, "custom");
    assert_eq!(new.attributes.description, None);
    assert_eq!(new.attributes.credential_type, None);
    assert_eq!(new.attributes.user_id, None);
    assert_eq!(new.expires_at, None);
}

#[test]
fn every_auth_type_is_accepted_and_nothing_else() {
    for auth_type in AuthType::VARIANTS {
        let new = create(with(|b| b["auth_type"] = (*auth_type).into())).expect(auth_type);
        assert_eq!(<&str>::from(new.attributes.auth_type), *auth_type);
    }
    for wrong in [
        json!("API_KEY"),
        json!("oauth2"),
        json!(""),
        json!(1),
        json!(null),
    ] {
        assert_eq!(
            one_problem(create(with(|b| b["auth_type"] = wrong))),
            problem("body.auth_type", "enum")
        );
    }
}

#[test]
fn every_credential_type_is_accepted_and_nothing_else() {
    for credential_type in CredentialType::VARIANTS {
        let new = create(with(|b| b["credential_type"] = (*credential_type).into()))
            .expect(credential_type);
        assert_eq!(
            new.attributes.credential_type.map(<&str>::from),
            Some(*credential_type)
        );
    }
    for wrong in [json!("model"), json!("LLM"), json!(["llm"])] {
        assert_eq!(
            one_problem(create(with(|b| b["credential_type"] = wrong))),
            problem("body.credential_type", "enum")
        );
    }
}

#[test]
fn every_missing_required_field_is_named_in_schema_order() {
    assert_eq!(
        problems(create(json!({}))),
        [
            problem("body.label", "missing"),
            problem("body.auth_type", "missing"),
            problem("body.credential_scope", "missing"),
            problem("body.credentials", "missing"),
        ]
    );
}

#[test]
fn null_is_a_wrong_type_for_required_fields_and_fine_for_nullable_ones() {
    let nulls = with(|b| {
        for value in b.as_object_mut().expect("an object").values_mut() {
            *value = Value::Null;
        }
    });
    assert_eq!(
        problems(create(nulls)),
        [
            problem("body.label", STRING),
            problem("body.auth_type", "enum"),
            problem("body.credential_scope", STRING),
            problem("body.credentials", DICTIONARY),
        ]
    );
    let new = create(with(|b| {
        for name in ["description", "credential_type", "provider", "user_id"] {
            b[name] = Value::Null;
        }
    }))
    .expect("nullable");
    assert_eq!(new.attributes.provider, "custom");
    assert_eq!(new.attributes.description, None);
}

#[test]
fn label_is_one_to_a_hundred_characters() {
    for ok in ["x".to_owned(), "x".repeat(100), "é".repeat(100), " ".into()] {
        assert!(create(with(|b| b["label"] = ok.clone().into())).is_ok());
    }
    assert_eq!(
        one_problem(create(with(|b| b["label"] = "".into()))),
        problem("body.label", "string_too_short")
    );
    assert_eq!(
        one_problem(create(with(|b| b["label"] = "x".repeat(101).into()))),
        problem("body.label", "string_too_long 100")
    );
    for wrong in [json!(7), json!(true), json!({"a": 1}), json!(["x"])] {
        assert_eq!(
            one_problem(create(with(|b| b["label"] = wrong))),
            problem("body.label", STRING)
        );
    }
}

#[test]
fn other_texts_are_at_most_255_characters_and_strings() {
    for name in ["description", "credential_scope", "provider", "user_id"] {
        let path = format!("body.{name}");
        create(with(|b| b[name] = "y".repeat(255).into())).expect(name);
        assert_eq!(
            one_problem(create(with(|b| b[name] = "y".repeat(256).into()))),
            problem(&path, "string_too_long 255")
        );
        assert_eq!(
            one_problem(create(with(|b| b[name] = 42.into()))),
            problem(&path, STRING)
        );
    }
}

#[test]
fn display_text_never_holds_control_characters() {
    for name in [
        "label",
        "description",
        "credential_scope",
        "provider",
        "user_id",
    ] {
        assert_eq!(
            one_problem(create(with(|b| b[name] = "two\nlines".into()))),
            problem(
                &format!("body.{name}"),
                "malformed: text without control characters"
            )
        );
    }
}

#[test]
fn credentials_must_be_an_object_and_not_too_large() {
    for wrong in [json!("api_key=abc"), json!([1, 2]), json!(3), json!(false)] {
        assert_eq!(
            one_problem(create(with(|b| b["credentials"] = wrong))),
            problem("body.credentials", DICTIONARY)
        );
    }
    let huge = with(|b| b["credentials"] = json!({"blob": "x".repeat(MAX_SECRET_LEN)}));
    assert!(matches!(
        create(huge),
        Err(Rejection::PayloadTooLarge { .. })
    ));
}

#[test]
fn every_problem_of_a_body_is_reported_at_once() {
    let body = json!({"label": "", "description": 5, "auth_type": "nope",
        "credential_type": "nope", "credential_scope": "s".repeat(256), "provider": [],
        "user_id": {}, "credentials": "x", "expires_at": "soon"});
    let fields: Vec<String> = problems(create(body))
        .into_iter()
        .map(|(field, _)| field)
        .collect();
    assert_eq!(
        fields,
        [
            "body.label",
            "body.description",
            "body.auth_type",
            "body.credential_type",
            "body.credential_scope",
            "body.provider",
            "body.user_id",
            "body.credentials",
            "body.expires_at"
        ]
    );
}

#[test]
fn the_body_must_be_an_object() {
    for body in [json!([valid()]), json!("label")] {
        assert_eq!(
            one_problem(create(body)),
            problem("body", "wrong type: an object")
        );
    }
}

#[test]
fn the_expiry_is_the_top_level_one_else_the_credentials_own() {
    let expiry = |body: Value| create(body).expect("valid").expires_at;
    assert_eq!(
        expiry(with(|b| b["credentials"]["expires_in"] = 3600.into())),
        Some(datetime!(2026-03-28 15:00:00 UTC))
    );
    assert_eq!(
        expiry(with(|b| {
            b["credentials"]["expires_in"] = 3600.into();
            b["expires_at"] = "2030-01-01T01:00:00+01:00".into();
        })),
        Some(datetime!(2030-01-01 00:00:00 UTC))
    );
    assert_eq!(
        one_problem(create(with(|b| b["expires_at"] = "soon".into()))),
        problem("body.expires_at", "malformed: an RFC 3339 date and time")
    );
    assert_eq!(
        one_problem(create(with(|b| b["expires_at"] = 1.into()))),
        problem("body.expires_at", "wrong type: an RFC 3339 date and time")
    );
}

fn stored() -> CredentialRecord<GenericCredential> {
    let new = create(with(|b| b["expires_at"] = "2030-01-01T00:00:00Z".into())).expect("valid");
    let id = CredentialId::generate();
    let key = RecordKey::item(
        OrgId::parse("org_a").expect("org"),
        GenericCredential::KIND,
        id,
    );
    CredentialRecord {
        expires_at: new.expires_at,
        ..testing::record(
            key,
            id,
            Provider::Generic,
            Default::default(),
            new.attributes,
        )
    }
}

fn updated(body: Value) -> CredentialChange<GenericCredential> {
    update(body).expect("valid").apply_to(&stored())
}

/// The document an update stores, completed from `stored` as the service completes it.
fn completed(change: CredentialChange<GenericCredential>, stored: Value) -> Value {
    let mut document = change.document.expect("new credentials");
    document.keep_from(&SecretString::from(stored.to_string()));
    serde_json::from_str(document.render().expose_secret()).expect("JSON")
}

#[test]
fn an_empty_update_keeps_everything() {
    let change = updated(json!({}));
    assert_eq!(change.attributes, stored().attributes);
    assert_eq!(change.expires_at, stored().expires_at);
    assert!(change.document.is_none());
}

#[test]
fn an_update_changes_what_it_sends() {
    let change = updated(json!({"label": "renamed", "status": "revoked",
        "auth_type": "oauth_token", "provider": "anthropic"}));
    let attributes = change.attributes;
    assert_eq!(attributes.label, "renamed");
    assert_eq!(attributes.status, Status::Revoked);
    assert_eq!(attributes.auth_type, AuthType::OauthToken);
    assert_eq!(attributes.provider, "anthropic");
    assert_eq!(
        attributes.description.as_deref(),
        Some("The key the agents use")
    );
    assert!(change.document.is_none());
}

#[test]
fn null_clears_what_may_be_null_and_keeps_what_may_not() {
    let change = updated(json!({"description": null, "credential_type": null,
        "user_id": null, "expires_at": null, "provider": null, "label": null,
        "auth_type": null, "credential_scope": null, "status": null, "credentials": null}));
    let (attributes, stored) = (change.attributes, stored().attributes);
    assert_eq!(attributes.description, None);
    assert_eq!(attributes.credential_type, None);
    assert_eq!(attributes.user_id, None);
    assert_eq!(change.expires_at, None);
    assert_eq!(attributes.provider, "custom");
    assert_eq!(attributes.label, stored.label);
    assert_eq!(attributes.auth_type, stored.auth_type);
    assert_eq!(attributes.credential_scope, stored.credential_scope);
    assert_eq!(attributes.status, stored.status);
    assert!(change.document.is_none());
}

#[test]
fn new_credentials_replace_the_secret_and_bring_their_own_expiry() {
    let change = updated(json!({"credentials": {"token": "new"}}));
    assert_eq!(change.expires_at, None, "no expiry any more");
    assert_eq!(
        completed(
            change,
            json!({"engine": "generic", "credentials": {"token": "old"}})
        )["credentials"],
        json!({"token": "new"})
    );
    let change = updated(json!({"credentials": {"token": "t", "expires_in": 60}}));
    assert_eq!(change.expires_at, Some(datetime!(2026-03-28 14:01:00 UTC)));
    let change = updated(json!({"credentials": {"token": "t", "expires_in": 60},
        "expires_at": "2031-01-01T00:00:00Z"}));
    assert_eq!(change.expires_at, Some(datetime!(2031-01-01 00:00:00 UTC)));
}

#[test]
fn placeholders_in_new_credentials_keep_the_stored_values_at_any_depth() {
    let change = updated(
        json!({"credentials": {"api_key": "********", "organization": "org-2",
        "webhook_secret": "[REDACTED]", "nested": {"client_secret": "********"}}}),
    );
    let stored = json!({"engine": "generic", "credentials": {"api_key": CANARY,
        "organization": "org-1", "nested": {"client_secret": CANARY}}});
    assert_eq!(
        completed(change, stored)["credentials"],
        json!({"api_key": CANARY, "organization": "org-2", "webhook_secret": "[REDACTED]",
            "nested": {"client_secret": CANARY}})
    );
}

#[test]
fn an_update_is_validated_like_a_create_plus_status() {
    let body = json!({"label": "", "auth_type": "x", "credentials": [], "status": "expired",
        "expires_at": "never"});
    assert_eq!(
        problems(update(body)),
        [
            problem("body.label", "string_too_short"),
            problem("body.auth_type", "enum"),
            problem("body.credentials", DICTIONARY),
            problem("body.status", "enum"),
            problem("body.expires_at", "malformed: an RFC 3339 date and time"),
        ]
    );
    for status in Status::VARIANTS {
        let change = updated(json!({ "status": status }));
        assert_eq!(<&str>::from(change.attributes.status), *status);
    }
}

fn request() -> Request {
    http::Request::builder()
        .method("GET")
        .uri("/api/v1/credentials")
        .body(Body::Empty)
        .expect("a request")
}

fn query(params: &[(&str, &str)]) -> Result<ListQuery, FieldErrors> {
    let mut map: HashMap<String, Vec<String>> = HashMap::new();
    for (name, value) in params {
        map.entry((*name).to_owned())
            .or_default()
            .push((*value).to_owned());
    }
    list_query(&request().with_query_string_parameters(map))
}

fn query_problems(params: &[(&str, &str)]) -> Vec<(String, Problem)> {
    query(params)
        .expect_err("refused")
        .iter()
        .map(|e| (e.path.to_string(), e.problem.clone()))
        .collect()
}

#[test]
fn the_list_query_has_fastapi_defaults() {
    assert_eq!(
        query(&[]).expect("valid"),
        ListQuery {
            provider: None,
            credential_type: None,
            credential_scope: None,
            status: None,
            skip: 0,
            limit: 100
        }
    );
    assert_eq!(
        query(&[
            ("provider", "openai"),
            ("credential_type", "llm"),
            ("credential_scope", "user"),
            ("status", "expired"),
            ("skip", "5"),
            ("limit", "1"),
            ("limit", "7")
        ])
        .expect("valid"),
        ListQuery {
            provider: Some("openai".into()),
            credential_type: Some("llm"),
            credential_scope: Some("user".into()),
            status: Some("expired"),
            skip: 5,
            limit: 7
        }
    );
}

#[test]
fn bad_list_parameters_are_named_in_the_query() {
    let integer = Problem::WrongType {
        expected: JsonType::Integer,
        found: JsonType::String,
    };
    assert_eq!(
        query_problems(&[("skip", "-1"), ("limit", "0")]),
        [
            ("query.skip".into(), at_least(0)),
            ("query.limit".into(), at_least(1))
        ]
    );
    assert_eq!(
        query_problems(&[("limit", "101")]),
        [("query.limit".into(), at_most(100))]
    );
    assert_eq!(
        query_problems(&[("skip", "ten"), ("limit", "1.5")]),
        [
            ("query.skip".into(), integer.clone()),
            ("query.limit".into(), integer)
        ]
    );
    assert_eq!(
        query_problems(&[("credential_type", "model"), ("status", "deleted")]),
        [
            (
                "query.credential_type".into(),
                not_one_of(CredentialType::VARIANTS)
            ),
            ("query.status".into(), not_one_of(&listed_statuses()))
        ]
    );
}

use credential_model::testing::caller;

fn call(request: Request) -> Call {
    Call {
        caller: caller(),
        info: strongroom_edge::RequestInfo {
            request_id: "req".into(),
            organization: Some(caller().organization),
        },
        request,
    }
}

#[test]
fn the_workspace_header_must_be_the_callers_organization() {
    let with_header = |values: &[&str]| {
        let mut builder = http::Request::builder();
        for value in values {
            builder = builder.header("X-Workspace-Id", *value);
        }
        call(builder.body(Body::Empty).expect("a request"))
    };
    assert!(own_workspace(&with_header(&[])).is_ok());
    assert!(own_workspace(&with_header(&["org_a"])).is_ok());
    for foreign in [&["org_b"][..], &["ORG_A"], &[""], &["org_a", "org_b"]] {
        assert!(
            matches!(
                own_workspace(&with_header(foreign)),
                Err(Rejection::OtherTenant)
            ),
            "{foreign:?}"
        );
    }
}

#[test]
fn the_path_names_a_credential_of_the_callers_organization_only_by_uuid() {
    let with_id = |id: &str| {
        call(
            request()
                .with_path_parameters(HashMap::from([(CREDENTIAL_ID.to_owned(), id.to_owned())])),
        )
    };
    let id = CredentialId::generate();
    let key = credential_key(&with_id(&id.to_string())).expect("a key");
    assert_eq!(key.organization, caller().organization);
    assert_eq!(key.slot, format!("generic-credential#{id}"));
    assert!(key.slot.starts_with(&credentials_prefix()));
    for malformed in ["", "not-a-uuid", "../org_b", "1234"] {
        assert!(
            matches!(credential_key(&with_id(malformed)), Err(Error::NotFound)),
            "{malformed}"
        );
    }
    assert!(credential_key(&call(request())).is_err());
}
