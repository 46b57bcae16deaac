//! The Lambda authorizer of the HTTP API (payload 2.0, simple responses).
//!
//! It verifies the bearer token and returns the caller — organization, user, scopes, expiry —
//! as the context every route reads. A request whose token is refused is still let through,
//! marked rejected with a reason, so the route answers `401` in its family's error shape: an
//! HTTP API cannot change the body of its own 401/403. API Gateway caches the answer per
//! `Authorization` header; routes re-check expiry, since a cached answer can outlive its token.
//!
//! The signing key is read from Secrets Manager by a sandbox's first request, not at init
//! (init only opens the connection): init then makes no AWS call, and a key that cannot be
//! read fails that request — API Gateway answers 500, which it does not cache — and is read
//! again by the next, rather than failing init over and over.

use aws_lambda_events::apigw::{
    ApiGatewayV2CustomAuthorizerSimpleResponse, ApiGatewayV2CustomAuthorizerV2Request,
};
use credential_model::ports::Backend;
use credential_model::tenancy::authorizer_context;
use lambda_runtime::LambdaEvent;
use serde_json::Value;
use strongroom_auth::{TokenVerifier, WeakKey};
use strongroom_aws::SdkConfig;
use strongroom_aws::config::{ConfigError, required_env};
use strongroom_aws::secretsmanager::{VaultError, current_value};
use tokio::sync::OnceCell;

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

/// Why the signing key could not be used.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("could not read the token signing key {secret}: {source}")]
    Unreadable { secret: String, source: VaultError },
    #[error("the token signing key {secret}: {source}")]
    Weak { secret: String, source: WeakKey },
}

pub struct Deps {
    client: aws_sdk_secretsmanager::Client,
    settings: AuthorizerSettings,
    verifier: OnceCell<TokenVerifier>,
}

impl Deps {
    /// The authorizer on the clients of `sdk`; the key is read on first use.
    pub fn new(sdk: &SdkConfig, settings: AuthorizerSettings) -> Self {
        Deps {
            client: aws_sdk_secretsmanager::Client::new(sdk),
            settings,
            verifier: OnceCell::new(),
        }
    }

    /// Reads the configuration the template sets, builds the client and opens the connection
    /// to Secrets Manager.
    pub async fn from_env() -> Result<Self, ConfigError> {
        let settings = AuthorizerSettings::from_env()?;
        strongroom_aws::init::phase("configuration");
        let (http, sdk) = strongroom_aws::sdk_from_env()?;
        let deps = Deps::new(&sdk, settings);
        strongroom_aws::init::phase("clients");
        strongroom_aws::preopen(&http, &sdk, &[Backend::Secrets]).await;
        strongroom_aws::init::phase("connections");
        Ok(deps)
    }

    /// The token verifier, its key read from Secrets Manager by the sandbox's first request
    /// (requests arriving together share the one read; a failed read is tried again by the
    /// next request).
    pub async fn verifier(&self) -> Result<&TokenVerifier, KeyError> {
        let settings = &self.settings;
        self.verifier
            .get_or_try_init(|| async {
                let secret = || settings.key_secret.clone();
                let key = current_value(&self.client, &settings.key_secret)
                    .await
                    .map_err(|source| KeyError::Unreadable {
                        secret: secret(),
                        source,
                    })?
                    .document;
                TokenVerifier::hs256(&key, &settings.issuer, &settings.audience).map_err(|source| {
                    KeyError::Weak {
                        secret: secret(),
                        source,
                    }
                })
            })
            .await
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
    verifier: &TokenVerifier,
    request: &ApiGatewayV2CustomAuthorizerV2Request,
) -> ApiGatewayV2CustomAuthorizerSimpleResponse {
    let context = match bearer_token(request).map(|token| verifier.verify(token)) {
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

/// The answer for one event; an unreadable key fails the invocation (API Gateway answers 500).
pub async fn handle(
    deps: &Deps,
    event: LambdaEvent<ApiGatewayV2CustomAuthorizerV2Request>,
) -> Result<ApiGatewayV2CustomAuthorizerSimpleResponse, lambda_runtime::Error> {
    match deps.verifier().await {
        Ok(verifier) => Ok(authorize(verifier, &event.payload)),
        Err(error) => {
            tracing::error!(%error, "no token can be verified");
            Err(error.into())
        }
    }
}
