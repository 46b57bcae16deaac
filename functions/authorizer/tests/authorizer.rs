//! The authorizer with its signing key read from Secrets Manager (moto), driven by
//! `events/authorizer-request.json`.

use authorizer::{AuthorizerSettings, Deps, authorize};
use aws_lambda_events::apigw::ApiGatewayV2CustomAuthorizerV2Request;
use credential_model::{OrgId, Scope, Scopes, UserId};
use lambda_runtime::{Context, LambdaEvent};
use secrecy::SecretString;
use serde_json::Value;
use strongroom_auth::ClaimNames;
use strongroom_auth::TokenIssuer;
use strongroom_local_stack::testing::{self, unique_suffix};
use strongroom_local_stack::{Template, provision, template_path};

const REQUEST: &str = include_str!("../../../events/authorizer-request.json");
const ISSUER: &str = "https://idp.test/";
const AUDIENCE: &str = "strongroom";

/// The authorizer loaded from a stack in moto, and an issuer holding the same key.
async fn setup() -> Option<(Deps, TokenIssuer, AuthorizerSettings)> {
    testing::moto()?;
    let sdk = strongroom_aws::sdk_config().expect("the environment configures AWS");
    let key = SecretString::from(format!("{}{}", unique_suffix(), unique_suffix()).repeat(2));
    let template = Template::load(&template_path()).expect("template");
    let stack = provision(&sdk, &template, &unique_suffix(), &key)
        .await
        .expect("stack");
    let settings = AuthorizerSettings {
        key_secret: Some(stack.token_key_secret),
        key_set_url: None,
        issuer: ISSUER.into(),
        audience: AUDIENCE.into(),
        claims: ClaimNames::default(),
        api_tokens: None,
    };
    let deps = Deps::new(&sdk, settings.clone()).expect("the authorizer");
    Some((
        deps,
        TokenIssuer::hs256(&key, ISSUER, AUDIENCE).expect("key"),
        settings,
    ))
}

fn request(authorization: &str) -> ApiGatewayV2CustomAuthorizerV2Request {
    let mut event: Value = serde_json::from_str(REQUEST).expect("fixture");
    event["headers"]["authorization"] = authorization.into();
    event["identitySource"] = serde_json::json!([authorization]);
    serde_json::from_value(event).expect("an authorizer event")
}

/// A token of `issuer`'s for `user` of `org`, with the read scope, valid for ten minutes.
fn read_token(issuer: &TokenIssuer, org: &str, user: &str) -> String {
    issuer
        .issue(
            &OrgId::parse(org).expect("org"),
            &UserId::parse(user).expect("user"),
            Scopes::from_iter([Scope::Read]),
            600,
        )
        .expect("token")
}

#[tokio::test]
async fn a_valid_token_yields_the_caller() {
    let Some((deps, issuer, _)) = setup().await else {
        return;
    };
    let token = read_token(&issuer, "org_1", "user_1");
    let response = authorize(&deps, &request(&format!("Bearer {token}")))
        .await
        .expect("the key is read");
    assert!(response.is_authorized);
    assert_eq!(response.context["verdict"], "authenticated");
    assert_eq!(response.context["organization_id"], "org_1");
    assert_eq!(response.context["user_id"], "user_1");
    assert_eq!(response.context["scopes"], "credentials:read");
}

#[tokio::test]
async fn refused_tokens_are_marked_with_a_reason() {
    let Some((deps, issuer, _)) = setup().await else {
        return;
    };
    let org = OrgId::parse("org_1").expect("org");
    let user = UserId::parse("user_1").expect("user");
    let expired = issuer
        .issue(&org, &user, Scopes::all(), -300)
        .expect("token");
    for (header, reason) in [
        (format!("Bearer {expired}"), "the bearer token has expired"),
        (
            "Bearer not.a.token".to_owned(),
            "the bearer token is not a well-formed JWT",
        ),
        (
            "Basic dXNlcjpwYXNz".to_owned(),
            "the Authorization header must be 'Bearer <token>' or 'ApiKey <API token>'",
        ),
        (
            format!("ApiKey {expired}"),
            "the ApiKey scheme takes a Strongroom API token (srk_…)",
        ),
        (
            "ApiKey srk_0123".to_owned(),
            "Strongroom API tokens are not accepted by this deployment",
        ),
    ] {
        let response = authorize(&deps, &request(&header))
            .await
            .expect("the key is read");
        assert_eq!(response.context["verdict"], "rejected", "{header}");
        assert_eq!(response.context["reason"], reason, "{header}");
        assert!(response.context.get("organization_id").is_none());
    }
}

/// A key that cannot be read fails the request (API Gateway answers 500, uncached), says
/// which secret, and is read again by the next request once it exists.
#[tokio::test]
async fn an_unreadable_signing_key_fails_the_request_clearly_until_it_exists() {
    let Some((_, issuer, settings)) = setup().await else {
        return;
    };
    let sdk = strongroom_aws::sdk_config().expect("the environment configures AWS");
    let secret = settings.key_secret.clone().expect("a key secret");
    let missing = AuthorizerSettings {
        key_secret: Some(format!("{secret}-later")),
        ..settings
    };
    let missing_secret = missing.key_secret.clone().expect("a key secret");
    let deps = Deps::new(&sdk, missing).expect("the authorizer");
    let token = read_token(&issuer, "org_1", "user_1");
    let event = || LambdaEvent::new(request(&format!("Bearer {token}")), Context::default());
    let error = authorizer::handle(&deps, event())
        .await
        .expect_err("the request fails");
    let text = error.to_string();
    assert!(
        text.contains("could not read the token signing key"),
        "{text}"
    );
    assert!(text.contains(&missing_secret), "{text}");

    let key = format!("{}{}", unique_suffix(), unique_suffix()).repeat(2);
    let other =
        TokenIssuer::hs256(&SecretString::from(key.clone()), ISSUER, AUDIENCE).expect("key");
    aws_sdk_secretsmanager::Client::new(&sdk)
        .create_secret()
        .name(&missing_secret)
        .secret_string(key)
        .send()
        .await
        .expect("the key is created");
    let token = read_token(&other, "org_2", "user_2");
    let event = LambdaEvent::new(request(&format!("Bearer {token}")), Context::default());
    let response = authorizer::handle(&deps, event)
        .await
        .expect("the key is read now");
    assert_eq!(response.context["organization_id"], "org_2");
}
