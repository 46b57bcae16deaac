//! Who may do what, and the trail of it: API tokens (`/strongroom/v1/tokens`), the audited
//! reveal of a credential's secret (`POST /strongroom/v1/credentials/{id}/reveal`) and the
//! audit log (`GET /strongroom/v1/audit`). [`routes`] is their route table.

use credential_model::api_tokens::ApiTokens;
use credential_model::audit::AuditAction;
use credential_model::ports::Backend;
use credential_model::{CredentialId, Error};
use strongroom_aws::config::{ConfigError, required_env};
use strongroom_aws::{DynamoAuditLog, DynamoTokenStore, KmsTokenMac, Store, init};
use strongroom_edge::{Call, Route, route};

use crate::{audit_log, reveal, shape, tokens};

/// The environment variable naming the KMS HMAC key of API tokens.
pub const MAC_KEY_ENV: &str = "STRONGROOM_TOKEN_MAC_KEY_ID";
/// What these routes need, built once per sandbox.
pub struct Deps {
    pub store: Store,
    pub tokens: ApiTokens<DynamoTokenStore, KmsTokenMac>,
    pub audit: DynamoAuditLog,
}

/// Everything on `sdk`'s clients: the store of `settings` (its audit retention too), API
/// tokens' digests by the KMS key `mac_key`.
pub fn deps(
    sdk: &strongroom_aws::SdkConfig,
    settings: &strongroom_aws::StoreSettings,
    mac_key: &str,
) -> Deps {
    let dynamodb = aws_sdk_dynamodb::Client::new(sdk);
    Deps {
        store: strongroom_aws::store(sdk, settings),
        tokens: ApiTokens::new(
            DynamoTokenStore::new(dynamodb.clone(), &settings.table),
            KmsTokenMac::new(aws_sdk_kms::Client::new(sdk), mac_key),
        ),
        audit: DynamoAuditLog::new(dynamodb, &settings.table, settings.audit_retention),
    }
}

/// Reads the configuration the template sets, builds the clients and connects to `backends`.
pub async fn deps_from_env(backends: &[Backend]) -> Result<Deps, ConfigError> {
    let settings = strongroom_aws::StoreSettings::from_env()?;
    let mac_key = required_env(MAC_KEY_ENV)?;
    init::phase("configuration");
    let (http, sdk) = strongroom_aws::sdk_from_env()?;
    let deps = deps(&sdk, &settings, &mac_key);
    init::phase("clients");
    strongroom_aws::preopen(&http, &sdk, backends).await;
    init::phase("connections");
    Ok(deps)
}

/// The routes: what each answers, with which scope, in which binary.
#[rustfmt::skip]
pub const fn routes() -> [Route<Deps>; 5] {
    const TOKENS: &str = "/strongroom/v1/tokens";
    [
        route!("POST", TOKENS, "strongroom-create-token", Write, [Metadata], shape::problem, tokens::create),
        route!("GET", TOKENS, "strongroom-list-tokens", Read, [Metadata], shape::problem, tokens::list),
        route!("DELETE", "/strongroom/v1/tokens/{id}", "strongroom-revoke-token", Write, [Metadata], shape::problem, tokens::revoke),
        route!("POST", "/strongroom/v1/credentials/{id}/reveal", "strongroom-reveal-credential", Reveal, [Metadata, Secrets], shape::problem, reveal::handle),
        route!("GET", "/strongroom/v1/audit", "strongroom-list-audit", Admin, [Metadata], shape::problem, audit_log::handle),
    ]
}

/// Records that `call` did `action` (to `credential`, identified further by `subject`).
pub(crate) async fn record(
    deps: &Deps,
    call: &Call,
    action: AuditAction,
    credential: Option<CredentialId>,
    subject: Option<String>,
) -> Result<(), Error> {
    use credential_model::audit::AuditLog;
    let event = call.caller.event(action, credential, subject);
    deps.audit
        .record(&event)
        .await
        .map_err(credential_model::service::store_error)
}
