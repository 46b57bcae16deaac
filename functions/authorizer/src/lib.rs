//! The Lambda authorizer of the HTTP API (payload 2.0, simple responses).
//!
//! It verifies the bearer token and returns the caller — organization, user, scopes, expiry —
//! as the context every route reads. A request whose token is refused is still let through,
//! marked rejected with a reason, so the route answers `401` in its family's error shape: an
//! HTTP API cannot change the body of its own 401/403. API Gateway caches the answer per
//! `Authorization` header; routes re-check expiry, since a cached answer can outlive its token.

use aws_config::SdkConfig;
use aws_lambda_events::apigw::{
    ApiGatewayV2CustomAuthorizerSimpleResponse, ApiGatewayV2CustomAuthorizerV2Request,
};
use credential_model::tenancy::authorizer_context;
use lambda_runtime::LambdaEvent;
use serde_json::Value;
use strongroom_auth::{TokenVerifier, WeakKey};
use strongroom_aws::config::{ConfigError, required_env};
use strongroom_aws::secretsmanager::current_value;

pub const KEY_SECRET_ENV: &str = "STRONGROOM_TOKEN_KEY_SECRET";
pub const ISSUER_ENV: &str = "STRONGROOM_TOKEN_ISSUER";
pub const AUDIENCE_ENV: &str = "STRONGROOM_TOKEN_AUDIENCE";

/// Where the signing key is and what tokens must say.
#[derive(Debug, Clone)]
pub struct AuthorizerSettings {
    /// The Secrets Manager secret (name or ARN) holding the HS256 key.
    pub key_secret: String,
    pub issuer: String,
    pub audience: String,
}

impl AuthorizerSettings {
    pub fn from_env() -> Result<Self, ConfigError> {
        Ok(AuthorizerSettings {
            key_secret: required_env(KEY_SECRET_ENV)?,
            issuer: required_env(ISSUER_ENV)?,
            audience: required_env(AUDIENCE_ENV)?,
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum InitError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("could not read the token signing key: {0}")]
    Key(#[from] strongroom_aws::secretsmanager::VaultError),
    #[error(transparent)]
    WeakKey(#[from] WeakKey),
}

pub struct Deps {
    verifier: TokenVerifier,
}

impl Deps {
    /// Reads the signing key from Secrets Manager, once per sandbox.
    pub async fn load(sdk: &SdkConfig, settings: &AuthorizerSettings) -> Result<Self, InitError> {
        let client = aws_sdk_secretsmanager::Client::new(sdk);
        let key = current_value(&client, &settings.key_secret).await?.document;
        Ok(Deps {
            verifier: TokenVerifier::hs256(&key, &settings.issuer, &settings.audience)?,
        })
    }

    pub async fn from_env() -> Result<Self, InitError> {
        let settings = AuthorizerSettings::from_env()?;
        Deps::load(&strongroom_aws::sdk_config().await, &settings).await
    }
}

fn bearer_token(request: &ApiGatewayV2CustomAuthorizerV2Request) -> Option<&str> {
    let header = request
        .headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())?;
    let (scheme, token) = header.trim().split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// The authorizer's answer for one request.
pub fn authorize(
    deps: &Deps,
    request: &ApiGatewayV2CustomAuthorizerV2Request,
) -> ApiGatewayV2CustomAuthorizerSimpleResponse {
    let context = match bearer_token(request).map(|token| deps.verifier.verify(token)) {
        Some(Ok(caller)) => {
            tracing::info!(organization = %caller.organization, user = %caller.user, "token accepted");
            authorizer_context::authenticated(&caller)
        }
        Some(Err(rejection)) => {
            tracing::info!(reason = %rejection, "token refused");
            authorizer_context::rejected(&rejection.to_string())
        }
        None => {
            tracing::info!("no bearer token");
            authorizer_context::rejected("the Authorization header must be 'Bearer <token>'")
        }
    };
    let mut response = ApiGatewayV2CustomAuthorizerSimpleResponse::default();
    response.is_authorized = true;
    response.context = Value::Object(context);
    response
}

pub async fn handle(
    deps: &Deps,
    event: LambdaEvent<ApiGatewayV2CustomAuthorizerV2Request>,
) -> Result<ApiGatewayV2CustomAuthorizerSimpleResponse, lambda_runtime::Error> {
    Ok(authorize(deps, &event.payload))
}
