//! The Lambda authorizer of the HTTP API (payload 2.0, simple responses).
//!
//! It verifies the bearer token and returns the caller — organization, user, scopes, expiry —
//! as the context every route reads. A request whose token is refused is still let through,
//! marked rejected with a reason, so the route answers `401` in its family's error shape: an
//! HTTP API cannot change the body of its own 401/403. API Gateway caches the answer per
//! `Authorization` header; routes re-check expiry, since a cached answer can outlive its token.
//!
//! Two kinds of token, told apart by their header's `alg`, work side by side:
//! - HS256, under the key in Secrets Manager. The key is read by the first request that needs
//!   it, not at init: init then makes no AWS call, and a key that cannot be read fails that
//!   request — API Gateway answers 500, which it does not cache — and is read again by the
//!   next, rather than failing init over and over.
//! - RS256 and ES256, under the identity provider's key set ([`key_set`]): fetched at init,
//!   and again when a token names a key it lacks, at most once a minute. When the key set
//!   cannot be had, a token that needs it fails its request (500, not cached) rather than
//!   being refused for as long as API Gateway caches a refusal.

pub mod key_set;

use aws_lambda_events::apigw::{
    ApiGatewayV2CustomAuthorizerSimpleResponse, ApiGatewayV2CustomAuthorizerV2Request,
};
use credential_model::Caller;
use credential_model::api_tokens::{ApiTokens, CheckUnavailable, is_api_token};
use credential_model::ports::Backend;
use credential_model::tenancy::authorizer_context;
use lambda_runtime::LambdaEvent;
use serde_json::Value;
use strongroom_auth::{
    ClaimNames, Hs256Key, SignedWith, TokenRejection, TokenVerifier, WeakKey, signed_with,
};
use strongroom_aws::config::ConfigError;
use strongroom_aws::config::TABLE_ENV;
use strongroom_aws::secretsmanager::{VaultError, current_value};
use strongroom_aws::{DynamoTokenStore, KmsTokenMac, SdkConfig};
use tokio::sync::OnceCell;

use key_set::KeySet;
pub use key_set::{FetchError, KeySetUrl};

pub const KEY_SECRET_ENV: &str = "STRONGROOM_TOKEN_KEY_SECRET";
pub const JWKS_URL_ENV: &str = "STRONGROOM_TOKEN_JWKS_URL";
pub const ISSUER_ENV: &str = "STRONGROOM_TOKEN_ISSUER";
pub const AUDIENCE_ENV: &str = "STRONGROOM_TOKEN_AUDIENCE";
pub const ORGANIZATION_CLAIM_ENV: &str = "STRONGROOM_TOKEN_ORG_CLAIM";
pub const USER_CLAIM_ENV: &str = "STRONGROOM_TOKEN_USER_CLAIM";
pub const SCOPES_CLAIM_ENV: &str = "STRONGROOM_TOKEN_SCOPE_CLAIM";
/// The KMS HMAC key of Strongroom API tokens; with the table, API tokens are accepted.
pub const MAC_KEY_ENV: &str = "STRONGROOM_TOKEN_MAC_KEY_ID";

/// Where the keys are and what tokens must say.
#[derive(Debug, Clone)]
pub struct AuthorizerSettings {
    /// The Secrets Manager secret (name or ARN) holding the HS256 key; without it HS256
    /// tokens are refused.
    pub key_secret: Option<String>,
    /// The identity provider's key set; without it RS256 and ES256 tokens are refused.
    pub key_set_url: Option<KeySetUrl>,
    pub issuer: String,
    pub audience: String,
    pub claims: ClaimNames,
    /// Where Strongroom API tokens are kept; without it `srk_` tokens are refused.
    pub api_tokens: Option<ApiTokenSettings>,
}

/// The table holding API tokens and the KMS key of their digests.
#[derive(Debug, Clone)]
pub struct ApiTokenSettings {
    pub table: String,
    pub mac_key: String,
}

impl AuthorizerSettings {
    pub fn from_env() -> Result<Self, InitError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// The settings from the variables `lookup` finds (the environment, or a test's map). An
    /// empty variable is an unset one: the template passes its parameters' empty defaults.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, InitError> {
        let optional = |name: &str| {
            lookup(name)
                .map(|value| value.trim().to_owned())
                .filter(|value| !value.is_empty())
        };
        let required = |name: &'static str| optional(name).ok_or(ConfigError::Missing(name));
        let key_secret = optional(KEY_SECRET_ENV);
        let key_set_url = match optional(JWKS_URL_ENV) {
            None => None,
            Some(url) => Some(KeySetUrl::parse(&url).ok_or(ConfigError::Invalid {
                name: JWKS_URL_ENV,
                reason: KeySetUrl::REQUIREMENT,
            })?),
        };
        if key_secret.is_none() && key_set_url.is_none() {
            return Err(InitError::NoKeys);
        }
        let claim = |name, default: &str| optional(name).unwrap_or_else(|| default.to_owned());
        let api_tokens = match (optional(TABLE_ENV), optional(MAC_KEY_ENV)) {
            (Some(table), Some(mac_key)) => Some(ApiTokenSettings { table, mac_key }),
            _ => None,
        };
        Ok(AuthorizerSettings {
            api_tokens,
            key_secret,
            key_set_url,
            issuer: required(ISSUER_ENV)?,
            audience: required(AUDIENCE_ENV)?,
            claims: ClaimNames {
                organization: claim(ORGANIZATION_CLAIM_ENV, ClaimNames::DEFAULT_ORGANIZATION),
                user: claim(USER_CLAIM_ENV, ClaimNames::DEFAULT_USER),
                scopes: claim(SCOPES_CLAIM_ENV, ClaimNames::DEFAULT_SCOPES),
            },
        })
    }
}

/// Why the authorizer cannot start.
#[derive(Debug, thiserror::Error)]
pub enum InitError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("neither {KEY_SECRET_ENV} nor {JWKS_URL_ENV} is set, so no token could be verified")]
    NoKeys,
    #[error("the TLS configuration to fetch the token key set with: {0}")]
    Tls(#[from] rustls::Error),
}

/// Why a token cannot be verified now (the request fails; API Gateway answers 500).
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("could not read the token signing key {secret}: {source}")]
    Unreadable { secret: String, source: VaultError },
    #[error("the token signing key {secret}: {source}")]
    Weak { secret: String, source: WeakKey },
    #[error(transparent)]
    KeySet(#[from] FetchError),
    #[error(transparent)]
    ApiToken(#[from] CheckUnavailable),
}

/// The HS256 key, read from Secrets Manager by the first request that needs it.
struct SharedKey {
    client: aws_sdk_secretsmanager::Client,
    secret: String,
    key: OnceCell<Hs256Key>,
}

impl SharedKey {
    /// Requests arriving together share the one read; a failed read is tried again by the
    /// next request.
    async fn get(&self) -> Result<&Hs256Key, KeyError> {
        self.key
            .get_or_try_init(|| async {
                // Boxed: the SDK's future nested this deep overflows the compiler's layout
                // recursion limit in the binary's `main`; it runs once per sandbox.
                let key = Box::pin(current_value(&self.client, &self.secret))
                    .await
                    .map_err(|source| KeyError::Unreadable {
                        secret: self.secret.clone(),
                        source,
                    })?
                    .document;
                Hs256Key::new(&key).map_err(|source| KeyError::Weak {
                    secret: self.secret.clone(),
                    source,
                })
            })
            .await
    }
}

pub struct Deps {
    verifier: TokenVerifier,
    shared_key: Option<SharedKey>,
    key_set: Option<KeySet>,
    api_tokens: Option<ApiTokens<DynamoTokenStore, KmsTokenMac>>,
}

impl Deps {
    /// The authorizer on the clients of `sdk`. Nothing is read or fetched yet: the shared key
    /// is read on first use, and the key set fetched by [`load_key_set`](Self::load_key_set)
    /// or else by the first token that needs it.
    pub fn new(sdk: &SdkConfig, settings: AuthorizerSettings) -> Result<Self, InitError> {
        let AuthorizerSettings {
            key_secret,
            key_set_url,
            issuer,
            audience,
            claims,
            api_tokens,
        } = settings;
        Ok(Deps {
            api_tokens: api_tokens.map(|settings| {
                ApiTokens::new(
                    DynamoTokenStore::new(aws_sdk_dynamodb::Client::new(sdk), settings.table),
                    KmsTokenMac::new(aws_sdk_kms::Client::new(sdk), settings.mac_key),
                )
            }),
            verifier: TokenVerifier::new(&issuer, &audience, claims),
            shared_key: key_secret.map(|secret| SharedKey {
                client: aws_sdk_secretsmanager::Client::new(sdk),
                secret,
                key: OnceCell::new(),
            }),
            key_set: key_set_url.map(KeySet::new).transpose()?,
        })
    }

    /// Reads the configuration the template sets, builds the client, and at once opens the
    /// connection to Secrets Manager and fetches the key set.
    pub async fn from_env() -> Result<Self, InitError> {
        let settings = AuthorizerSettings::from_env()?;
        strongroom_aws::init::phase("configuration");
        let (http, sdk) = strongroom_aws::sdk_from_env()?;
        let deps = Deps::new(&sdk, settings)?;
        strongroom_aws::init::phase("clients");
        let preopen = async {
            if deps.shared_key.is_some() {
                strongroom_aws::preopen(&http, &sdk, &[Backend::Secrets]).await;
            }
        };
        tokio::join!(preopen, deps.load_key_set());
        strongroom_aws::init::phase("connections");
        Ok(deps)
    }

    /// Fetches the key set, if there is one. A failure is logged, not fatal: the first token
    /// that needs the set fetches it again.
    pub async fn load_key_set(&self) {
        if let Some(key_set) = &self.key_set
            && let Err(error) = key_set.load().await
        {
            tracing::warn!(%error, "the token key set could not be fetched at init");
        }
    }

    /// The caller `token` speaks for, or why it is refused; `Err` when the key it needs cannot
    /// be had now.
    pub async fn verify(&self, token: &str) -> Result<Result<Caller, TokenRejection>, KeyError> {
        let signed = match signed_with(token) {
            Ok(signed) => signed,
            Err(rejection) => return Ok(Err(rejection)),
        };
        match (signed, &self.shared_key, &self.key_set) {
            (SignedWith::Hs256, Some(shared_key), _) => {
                let key = shared_key.get().await?;
                Ok(self.verifier.verify_hs256(token, key))
            }
            (SignedWith::KeySet, _, Some(key_set)) => {
                let keys = key_set.current();
                match self.verifier.verify_with_key_set(token, &keys) {
                    Err(TokenRejection::UnknownKey) => {}
                    decided => return Ok(decided),
                }
                let keys = key_set.refetched(&keys).await?;
                Ok(self.verifier.verify_with_key_set(token, &keys))
            }
            _ => Ok(Err(TokenRejection::WrongAlgorithm)),
        }
    }
}

/// The credential an `Authorization` header presents: `Bearer <JWT or API token>`, or
/// `ApiKey <API token>` (the scheme Lightdash's clients send personal access tokens with).
enum Presented<'a> {
    Bearer(&'a str),
    ApiKey(&'a str),
}

fn presented(request: &ApiGatewayV2CustomAuthorizerV2Request) -> Option<Presented<'_>> {
    let header = request
        .headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())?;
    let (scheme, token) = header.trim().split_once(' ')?;
    let token = token.trim();
    if scheme.eq_ignore_ascii_case("bearer") {
        Some(Presented::Bearer(token))
    } else if scheme.eq_ignore_ascii_case("apikey") {
        Some(Presented::ApiKey(token))
    } else {
        None
    }
}

/// An API token's caller, or why it is refused: its own context carries the token's id.
async fn api_token_context(
    deps: &Deps,
    token: &str,
) -> Result<Result<serde_json::Map<String, Value>, String>, KeyError> {
    let Some(api_tokens) = &deps.api_tokens else {
        return Ok(Err(
            "Strongroom API tokens are not accepted by this deployment".into(),
        ));
    };
    let now = time::OffsetDateTime::now_utc();
    Ok(match api_tokens.authenticate(token, now).await? {
        Ok((caller, id)) => {
            tracing::info!(organization = %caller.organization, user = %caller.user, token = %id, "API token accepted");
            Ok(authorizer_context::authenticated_by_api_token(
                &caller,
                &id.to_string(),
            ))
        }
        Err(refusal) => Err(refusal.to_string()),
    })
}

/// The authorizer's answer for one request; `Err` when its token cannot be verified now.
pub async fn authorize(
    deps: &Deps,
    request: &ApiGatewayV2CustomAuthorizerV2Request,
) -> Result<ApiGatewayV2CustomAuthorizerSimpleResponse, KeyError> {
    let verdict = match presented(request) {
        Some(Presented::Bearer(token) | Presented::ApiKey(token)) if is_api_token(token) => {
            api_token_context(deps, token).await?
        }
        Some(Presented::ApiKey(_)) => {
            Err("the ApiKey scheme takes a Strongroom API token (srk_…)".to_owned())
        }
        Some(Presented::Bearer(token)) => match deps.verify(token).await? {
            Ok(caller) => {
                tracing::info!(organization = %caller.organization, user = %caller.user, "token accepted");
                Ok(authorizer_context::authenticated(&caller))
            }
            Err(rejection) => Err(rejection.to_string()),
        },
        None => Err(
            "the Authorization header must be 'Bearer <token>' or 'ApiKey <API token>'".to_owned(),
        ),
    };
    let context = verdict.unwrap_or_else(|reason| {
        tracing::info!(%reason, "token refused");
        authorizer_context::rejected(&reason)
    });
    let mut response = ApiGatewayV2CustomAuthorizerSimpleResponse::default();
    response.is_authorized = true;
    response.context = Value::Object(context);
    Ok(response)
}

/// The answer for one event; a key that cannot be had fails the invocation (API Gateway
/// answers 500, and does not cache it).
pub async fn handle(
    deps: &Deps,
    event: LambdaEvent<ApiGatewayV2CustomAuthorizerV2Request>,
) -> Result<ApiGatewayV2CustomAuthorizerSimpleResponse, lambda_runtime::Error> {
    authorize(deps, &event.payload).await.map_err(|error| {
        tracing::error!(%error, "the token cannot be verified now");
        error.into()
    })
}
