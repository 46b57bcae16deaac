//! The authorizer against an identity provider's key set served over real HTTP by the test:
//! built from environment-like settings, fetching at init, refetching for an unknown `kid` at
//! most once a minute, following a rotation, and failing requests (not refusing tokens) while
//! the key set cannot be had.

mod identity_provider;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use authorizer::{
    AUDIENCE_ENV, AuthorizerSettings, Deps, ISSUER_ENV, InitError, JWKS_URL_ENV, KEY_SECRET_ENV,
    ORGANIZATION_CLAIM_ENV, SCOPES_CLAIM_ENV, USER_CLAIM_ENV, authorize,
};
use aws_lambda_events::apigw::{
    ApiGatewayV2CustomAuthorizerSimpleResponse, ApiGatewayV2CustomAuthorizerV2Request,
};
use credential_model::{OrgId, Scopes, UserId};
use identity_provider::{AUDIENCE, ISSUER, IdentityProvider, b64, rs256_token, rsa_jwk, rsa_key};
use lambda_runtime::{Context, LambdaEvent};
use secrecy::SecretString;
use serde_json::{Value, json};
use strongroom_auth::{ClaimNames, TokenIssuer};
use strongroom_aws::SdkConfig;
use strongroom_local_stack::testing::{self, unique_suffix};
use strongroom_local_stack::{Template, provision, template_path};

const REQUEST: &str = include_str!("../../../events/authorizer-request.json");
const UNKNOWN_KEY: &str = "the bearer token is signed with a key this API does not know";

fn request(token: &str) -> ApiGatewayV2CustomAuthorizerV2Request {
    let authorization = format!("Bearer {token}");
    let mut event: Value = serde_json::from_str(REQUEST).expect("fixture");
    event["headers"]["authorization"] = authorization.clone().into();
    event["identitySource"] = json!([authorization]);
    serde_json::from_value(event).expect("an authorizer event")
}

/// The settings the template would give an authorizer with only a key set.
fn settings(key_set_url: &str) -> AuthorizerSettings {
    let environment = HashMap::from([
        (JWKS_URL_ENV, key_set_url.to_owned()),
        (ISSUER_ENV, ISSUER.to_owned()),
        (AUDIENCE_ENV, AUDIENCE.to_owned()),
        (KEY_SECRET_ENV, String::new()),
        (
            ORGANIZATION_CLAIM_ENV,
            ClaimNames::DEFAULT_ORGANIZATION.into(),
        ),
        (USER_CLAIM_ENV, ClaimNames::DEFAULT_USER.into()),
        (SCOPES_CLAIM_ENV, ClaimNames::DEFAULT_SCOPES.into()),
    ]);
    AuthorizerSettings::from_lookup(|name| environment.get(name).cloned()).expect("settings")
}

/// The authorizer as its sandbox's init leaves it: the key set fetched.
async fn initialised(idp: &IdentityProvider) -> Deps {
    // No Secrets Manager client is built without a key secret: the SDK configuration is unused.
    let deps = Deps::new(&SdkConfig::builder().build(), settings(idp.url())).expect("deps");
    deps.load_key_set().await;
    deps
}

async fn answer(deps: &Deps, token: &str) -> ApiGatewayV2CustomAuthorizerSimpleResponse {
    authorize(deps, &request(token))
        .await
        .expect("the key set is available")
}

fn verdict(response: &ApiGatewayV2CustomAuthorizerSimpleResponse) -> (&str, &str) {
    let context = &response.context;
    let text = |name| context[name].as_str().unwrap_or_default();
    match text("verdict") {
        "authenticated" => ("authenticated", text("user_id")),
        _ => ("rejected", text("reason")),
    }
}

#[tokio::test]
async fn a_token_signed_with_a_published_key_is_accepted_without_another_fetch() {
    let key = rsa_key();
    let idp = IdentityProvider::start(vec![rsa_jwk("a", &key)]).await;
    let deps = initialised(&idp).await;
    assert_eq!(idp.fetches(), 1, "init fetches the key set");
    for user in ["user_1", "user_2", "user_3"] {
        let response = answer(&deps, &rs256_token(&key, "a", "org_1", user)).await;
        assert!(response.is_authorized);
        assert_eq!(verdict(&response), ("authenticated", user));
        assert_eq!(response.context["organization_id"], "org_1");
        assert_eq!(response.context["scopes"], "credentials:read");
    }
    assert_eq!(idp.fetches(), 1, "known keys need no fetch");
}

#[tokio::test]
async fn an_unknown_kid_fetches_once_and_another_within_the_minute_does_not() {
    let key = rsa_key();
    let idp = IdentityProvider::start(vec![rsa_jwk("a", &key)]).await;
    let deps = initialised(&idp).await;
    let stranger = rsa_key();

    let first = answer(&deps, &rs256_token(&stranger, "b", "org_1", "user_1")).await;
    assert_eq!(verdict(&first), ("rejected", UNKNOWN_KEY));
    assert_eq!(idp.fetches(), 2, "exactly one refetch");

    for kid in ["c", "b"] {
        let again = answer(&deps, &rs256_token(&stranger, kid, "org_1", "user_1")).await;
        assert_eq!(verdict(&again), ("rejected", UNKNOWN_KEY));
    }
    assert_eq!(idp.fetches(), 2, "no refetch within the minute");

    let known = answer(&deps, &rs256_token(&key, "a", "org_1", "user_1")).await;
    assert_eq!(verdict(&known), ("authenticated", "user_1"));
}

#[tokio::test]
async fn a_rotation_at_the_identity_provider_is_picked_up_by_one_refetch() {
    let old = rsa_key();
    let idp = IdentityProvider::start(vec![rsa_jwk("old", &old)]).await;
    let deps = initialised(&idp).await;
    let before = answer(&deps, &rs256_token(&old, "old", "org_1", "user_1")).await;
    assert_eq!(verdict(&before), ("authenticated", "user_1"));

    let new = rsa_key();
    idp.publish(vec![rsa_jwk("new", &new)]);
    // Requests arriving together with the new kid share one fetch.
    let token = rs256_token(&new, "new", "org_1", "user_2");
    let answers = tokio::join!(
        answer(&deps, &token),
        answer(&deps, &token),
        answer(&deps, &token),
        answer(&deps, &token),
    );
    for response in [answers.0, answers.1, answers.2, answers.3] {
        assert_eq!(verdict(&response), ("authenticated", "user_2"));
    }
    assert_eq!(idp.fetches(), 2, "one refetch for the new key");

    // The retired key is gone from the refetched set.
    let retired = answer(&deps, &rs256_token(&old, "old", "org_1", "user_1")).await;
    assert_eq!(verdict(&retired), ("rejected", UNKNOWN_KEY));
    assert_eq!(idp.fetches(), 2);
}

#[tokio::test]
async fn a_key_set_that_failed_at_init_is_fetched_by_the_first_token_that_needs_it() {
    let key = rsa_key();
    let idp = IdentityProvider::start(vec![rsa_jwk("a", &key)]).await;
    idp.set_down(true);
    let deps = initialised(&idp).await;
    assert_eq!(idp.fetches(), 1, "init tried");

    idp.set_down(false);
    let response = answer(&deps, &rs256_token(&key, "a", "org_1", "user_1")).await;
    assert_eq!(verdict(&response), ("authenticated", "user_1"));
    assert_eq!(idp.fetches(), 2);
}

/// A token that needs a key set that cannot be had fails its request — API Gateway answers
/// 500 and caches nothing — instead of being refused as if its key did not exist; and the
/// failing identity provider is asked at most once a minute.
#[tokio::test]
async fn while_the_key_set_cannot_be_fetched_requests_fail_and_it_is_asked_once_a_minute() {
    let key = rsa_key();
    let idp = IdentityProvider::start(vec![rsa_jwk("a", &key)]).await;
    idp.set_down(true);
    let deps = initialised(&idp).await;
    let token = rs256_token(&key, "a", "org_1", "user_1");
    let event = || LambdaEvent::new(request(&token), Context::default());

    let error = authorizer::handle(&deps, event())
        .await
        .expect_err("the request fails")
        .to_string();
    assert!(error.contains("answered HTTP 503"), "{error}");
    assert!(error.contains(idp.url()), "{error}");
    assert!(!error.contains(&token), "{error}");
    assert_eq!(idp.fetches(), 2, "init, then the first token");

    idp.set_down(false);
    let error = authorizer::handle(&deps, event())
        .await
        .expect_err("still failing: the last fetch was under a minute ago")
        .to_string();
    assert!(error.contains("fetched again at most every 60s"), "{error}");
    assert_eq!(idp.fetches(), 2, "no fetch within the minute");
}

#[tokio::test]
async fn an_identity_provider_that_never_answers_costs_init_the_timeout_only() {
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a port");
    let url = format!(
        "http://{}/.well-known/jwks.json",
        silent.local_addr().expect("an address")
    );
    let held = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((stream, _)) = silent.accept().await {
            held.push(stream);
        }
    });
    let deps = Deps::new(&SdkConfig::builder().build(), settings(&url)).expect("deps");
    let started = Instant::now();
    deps.load_key_set().await;
    let took = started.elapsed();
    assert!(
        took >= authorizer::key_set::FETCH_TIMEOUT && took < Duration::from_secs(3),
        "{took:?}"
    );
    held.abort();
}

#[test]
fn settings_are_read_from_the_environment_with_the_claim_names_defaulted() {
    let read = |pairs: &[(&str, &str)]| {
        let environment: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        AuthorizerSettings::from_lookup(|name| environment.get(name).cloned())
    };
    let base = [(ISSUER_ENV, ISSUER), (AUDIENCE_ENV, AUDIENCE)];

    let hs256_only = read(&[
        base[0],
        base[1],
        (KEY_SECRET_ENV, "key"),
        (JWKS_URL_ENV, ""),
    ])
    .expect("settings");
    assert_eq!(hs256_only.key_secret.as_deref(), Some("key"));
    assert!(hs256_only.key_set_url.is_none());
    assert_eq!(hs256_only.claims, ClaimNames::default());

    let custom = read(&[
        base[0],
        base[1],
        (
            JWKS_URL_ENV,
            "https://idp.example.com/.well-known/jwks.json",
        ),
        (ORGANIZATION_CLAIM_ENV, "https://example.com/org"),
        (USER_CLAIM_ENV, "email"),
        (SCOPES_CLAIM_ENV, "scp"),
    ])
    .expect("settings");
    assert!(custom.key_secret.is_none());
    assert_eq!(
        custom.key_set_url.map(|url| url.to_string()).as_deref(),
        Some("https://idp.example.com/.well-known/jwks.json")
    );
    assert_eq!(
        custom.claims,
        ClaimNames {
            organization: "https://example.com/org".into(),
            user: "email".into(),
            scopes: "scp".into(),
        }
    );

    assert!(matches!(
        read(&[base[0], base[1], (KEY_SECRET_ENV, " "), (JWKS_URL_ENV, "")]),
        Err(InitError::NoKeys)
    ));
    let plain_http = read(&[
        base[0],
        base[1],
        (JWKS_URL_ENV, "http://idp.example.com/jwks"),
    ])
    .expect_err("plain http is refused")
    .to_string();
    assert!(plain_http.contains(JWKS_URL_ENV), "{plain_http}");
    assert!(plain_http.contains("https://"), "{plain_http}");
    let no_issuer = read(&[(AUDIENCE_ENV, AUDIENCE), (KEY_SECRET_ENV, "key")])
        .expect_err("the issuer is required")
        .to_string();
    assert!(no_issuer.contains(ISSUER_ENV), "{no_issuer}");
}

/// One deployment, both kinds of token: HS256 under the key in Secrets Manager (moto) and
/// RS256 under the key set; the `alg` each claims decides which key verifies it.
#[tokio::test]
async fn shared_key_and_key_set_tokens_work_side_by_side() {
    if testing::moto().is_none() {
        return;
    }
    let sdk = strongroom_aws::sdk_config().expect("the environment configures AWS");
    let shared = SecretString::from(format!("{}{}", unique_suffix(), unique_suffix()).repeat(2));
    let template = Template::load(&template_path()).expect("template");
    let stack = provision(&sdk, &template, &unique_suffix(), &shared)
        .await
        .expect("stack");
    let key = rsa_key();
    let idp = IdentityProvider::start(vec![rsa_jwk("a", &key)]).await;
    let settings = AuthorizerSettings {
        key_secret: Some(stack.token_key_secret),
        ..settings(idp.url())
    };
    let deps = Deps::new(&sdk, settings).expect("deps");
    deps.load_key_set().await;

    let hs256 = TokenIssuer::hs256(&shared, ISSUER, AUDIENCE)
        .expect("a strong key")
        .issue(
            &OrgId::parse("org_1").expect("an org"),
            &UserId::parse("user_hs").expect("a user"),
            Scopes::all(),
            600,
        )
        .expect("a token");
    let response = answer(&deps, &hs256).await;
    assert_eq!(verdict(&response), ("authenticated", "user_hs"));
    let response = answer(&deps, &rs256_token(&key, "a", "org_1", "user_rs")).await;
    assert_eq!(verdict(&response), ("authenticated", "user_rs"));

    // An HS256 token whose HMAC key is the published RSA key goes to the shared key, which
    // did not sign it.
    let jwk = rsa_jwk("a", &key).to_string();
    let forged = {
        use hmac::Mac;
        let header = json!({"alg": "HS256", "kid": "a"});
        let claims = json!({"iss": ISSUER, "aud": AUDIENCE, "sub": "user_x", "org_id": "org_1",
            "scope": "credentials:admin", "exp": i64::MAX / 2});
        let input = format!(
            "{}.{}",
            b64(header.to_string().as_bytes()),
            b64(claims.to_string().as_bytes())
        );
        let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(jwk.as_bytes()).expect("a key");
        mac.update(input.as_bytes());
        format!("{input}.{}", b64(&mac.finalize().into_bytes()))
    };
    let response = answer(&deps, &forged).await;
    assert_eq!(
        verdict(&response),
        ("rejected", "the bearer token's signature is invalid")
    );
    assert_eq!(idp.fetches(), 1);
}
