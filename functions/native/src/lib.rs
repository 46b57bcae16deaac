//! Strongroom's native API under `/strongroom/v1`: what every family shares — any credential by
//! its id (its family, kind, secret versions and rotation), rotation settings and "rotate now".
//! Errors are RFC 9457 `application/problem+json`. [`routes`] is its route table.
//!
//! A credential is found by its id under the caller's organization, whatever its kind; one of
//! another organization, or that does not exist, is not found. A user's own credential
//! (Lightdash's) is visible only to that user, or to a caller with the admin scope.

pub mod delete_rotation;
pub mod get_credential;
mod request;
pub mod rotate_credential;
pub mod set_rotation;
mod shape;

use credential_model::credential::now;
use credential_model::ports::{Backend, CredentialRepository as Repository, SecretVault as Vault};
use credential_model::rotation::{Rotation, RotationControl};
use credential_model::service::store_error;
use credential_model::{
    AnyRecord, Caller, CredentialId, CredentialKind, CredentialRecord, CredentialService, Error,
    OrgId, Provider, RecordKey, Scope,
};
use strongroom_aws::config::ConfigError;
use strongroom_aws::{DynamoRepository, SecretsManagerRotation, SecretsManagerVault, init};
use strongroom_edge::{Route, route};

/// What the handlers need, built once per sandbox: the credential store, and the control of
/// rotations (Secrets Manager in Lambda; the local stack may plug in its own driver).
pub struct Deps<R, V, C> {
    pub store: CredentialService<R, V>,
    pub rotation: C,
}

/// The handlers' dependencies in Lambda.
pub type AwsDeps = Deps<DynamoRepository, SecretsManagerVault, SecretsManagerRotation>;

/// Reads the configuration the template sets, builds the clients and connects to `backends`.
pub async fn deps_from_env(backends: &[Backend]) -> Result<AwsDeps, ConfigError> {
    let settings = strongroom_aws::StoreSettings::from_env()?;
    init::phase("configuration");
    let (http, sdk) = strongroom_aws::sdk_from_env()?;
    let store = strongroom_aws::store(&sdk, &settings);
    let rotation = SecretsManagerRotation::from_env(store.vault().client().clone());
    let deps = Deps { store, rotation };
    init::phase("clients");
    strongroom_aws::preopen(&http, &sdk, backends).await;
    init::phase("connections");
    Ok(deps)
}

/// `found` with `rotation`, as its next version: what every write of this API makes.
fn with_rotation(found: &AnyRecord, rotation: Rotation) -> AnyRecord {
    AnyRecord {
        kind: found.kind,
        record: CredentialRecord {
            rotation,
            updated_at: now(),
            version: found.record.version + 1,
            ..found.record.clone()
        },
    }
}

/// The family's routes: what each answers, with which scope, in which binary.
#[rustfmt::skip]
pub const fn routes<R: Repository + 'static, V: Vault + 'static, C: RotationControl + 'static>() -> [Route<Deps<R, V, C>>; 4] {
    const ONE: &str = "/strongroom/v1/credentials/{id}";
    [
        route!("GET", ONE, "strongroom-get-credential", Read, [Metadata, Secrets], shape::problem, get_credential::handle),
        route!("PUT", "/strongroom/v1/credentials/{id}/rotation", "strongroom-set-rotation", Write, [Metadata, Secrets], shape::problem, set_rotation::handle),
        route!("DELETE", "/strongroom/v1/credentials/{id}/rotation", "strongroom-delete-rotation", Write, [Metadata, Secrets], shape::problem, delete_rotation::handle),
        route!("POST", "/strongroom/v1/credentials/{id}/rotate", "strongroom-rotate-credential", Write, [Metadata, Secrets], shape::problem, rotate_credential::handle),
    ]
}

/// The family whose API a kind of credential belongs to.
pub fn family(kind: CredentialKind) -> &'static str {
    match kind {
        CredentialKind::WarehouseConnection => "levered",
        CredentialKind::UserWarehouseCredential => "lightdash",
        CredentialKind::GenericCredential => "mielto",
        CredentialKind::ProjectConnection => "credible",
        CredentialKind::GeneratedDatabaseCredential => "nile",
    }
}

/// The providers whose passwords a rotation changes.
pub const ROTATABLE: [Provider; 4] = [
    Provider::Postgres,
    Provider::Redshift,
    Provider::Mysql,
    Provider::Mariadb,
];

/// Whether `caller` may see the credential under `key`: a user's own credential only its
/// owner, or an admin; every other credential anyone of its organization.
fn visible(caller: &Caller, kind: CredentialKind, key: &RecordKey, id: CredentialId) -> bool {
    kind != CredentialKind::UserWarehouseCredential
        || caller.scopes.contains(Scope::Admin)
        || *key == RecordKey::owned(caller.organization.clone(), kind, &caller.user, id)
}

/// The credential `id` of `caller`'s organization, as `caller` may see it: not found when it
/// does not exist, belongs to another organization, or is another user's own.
async fn find(
    repository: &impl Repository,
    caller: &Caller,
    id: CredentialId,
) -> Result<AnyRecord, Error> {
    let organization: &OrgId = &caller.organization;
    let Some(key) = repository
        .locate(organization, id)
        .await
        .map_err(store_error)?
    else {
        return Err(Error::NotFound);
    };
    let record = repository
        .get_any(&key)
        .await
        .map_err(store_error)?
        .filter(|found| found.record.id == id)
        .ok_or(Error::NotFound)?;
    if visible(caller, record.kind, &record.record.key, id) {
        Ok(record)
    } else {
        Err(Error::NotFound)
    }
}
