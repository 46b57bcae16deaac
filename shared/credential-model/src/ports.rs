//! The ports the domain needs from the outside world: a metadata repository, a secret vault
//! and a connection tester. Adapters implement them (DynamoDB, Secrets Manager, database
//! drivers); unit tests of the domain use in-memory fakes.

use std::fmt;
use std::future::Future;

use secrecy::SecretString;

use crate::audit::AuditEvent;
use crate::credential::{
    AnyRecord, Attributes, CredentialId, CredentialRecord, RecordKey, SecretRef,
};
use crate::provider::Provider;
use crate::tenancy::OrgId;

/// A store behind a port, as a route declares what its handler reaches: a sandbox opens the
/// connections its route's first request will need during init.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Backend {
    /// The [`CredentialRepository`] (DynamoDB).
    Metadata,
    /// The [`SecretVault`] (Secrets Manager).
    Secrets,
}

/// What a conditional write expects to find.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expected {
    /// Nothing is stored under the key yet.
    Absent,
    /// The credential `id`, at `version`. A credential's id never repeats, so a record deleted
    /// and created again under the same key never passes for the one that was read.
    Current { id: CredentialId, version: u64 },
}

impl Expected {
    /// What a write that replaces `record` expects to find.
    pub fn record<A>(record: &CredentialRecord<A>) -> Self {
        Expected::Current {
            id: record.id,
            version: record.version,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The conditional write found something other than it expected.
    #[error("the record changed since it was read")]
    ConditionFailed,
    #[error("unavailable: {0}")]
    Unavailable(String),
    #[error("corrupt item: {0}")]
    Corrupt(String),
}

/// Credential metadata, keyed under its organization. Every write is conditional. Records are
/// read as the family that asks for them types them (`A`); an item of another kind is corrupt.
pub trait CredentialRepository: Send + Sync {
    fn get<A: Attributes>(
        &self,
        key: &RecordKey,
    ) -> impl Future<Output = Result<Option<CredentialRecord<A>>, StoreError>> + Send;

    fn put<A: Attributes>(
        &self,
        record: &CredentialRecord<A>,
        expected: Expected,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Deletes the record under `key` if it is what `expected` says.
    fn delete(
        &self,
        key: &RecordKey,
        expected: Expected,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// [`put`](Self::put), recording `event` in the same write: both happen or neither.
    fn put_audited<A: Attributes>(
        &self,
        record: &CredentialRecord<A>,
        expected: Expected,
        event: &AuditEvent,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// [`put_any`](Self::put_any), recording `event` in the same write.
    fn put_any_audited(
        &self,
        record: &AnyRecord,
        expected: Expected,
        event: &AuditEvent,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// [`delete`](Self::delete), recording `event` in the same write.
    fn delete_audited(
        &self,
        key: &RecordKey,
        expected: Expected,
        event: &AuditEvent,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Every record of `organization` whose slot starts with `slot_prefix`, in slot order.
    fn list<A: Attributes>(
        &self,
        organization: &OrgId,
        slot_prefix: &str,
    ) -> impl Future<Output = Result<Vec<CredentialRecord<A>>, StoreError>> + Send;

    /// The record under `key`, whatever its kind.
    fn get_any(
        &self,
        key: &RecordKey,
    ) -> impl Future<Output = Result<Option<AnyRecord>, StoreError>> + Send;

    /// Writes a record of any kind, its attributes as read by [`CredentialRepository::get_any`].
    fn put_any(
        &self,
        record: &AnyRecord,
        expected: Expected,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Where the credential `id` of `organization` lives, whatever its kind: how an API or an
    /// event that names only a credential finds it, without a scan.
    fn locate(
        &self,
        organization: &OrgId,
        id: CredentialId,
    ) -> impl Future<Output = Result<Option<RecordKey>, StoreError>> + Send;
}

/// A secret to create.
pub struct NewSecret<'a> {
    /// Unique name, under the tenant: `{org}/{kind}/{id}`. The vault puts its deployment's
    /// prefix in front.
    pub name: String,
    pub description: String,
    pub document: &'a SecretString,
    pub tags: Vec<(String, String)>,
    /// Makes a retried create return the same secret instead of a second one.
    pub idempotency_token: String,
}

#[derive(Debug, thiserror::Error)]
pub enum VaultError {
    /// No such secret, or it is scheduled for deletion: either way it is gone.
    #[error("no such secret")]
    NotFound,
    #[error("unavailable: {0}")]
    Unavailable(String),
}

/// One version of a secret's value.
pub struct SecretVersion {
    pub document: SecretString,
    pub version_id: String,
    /// When the version was written: which of two versions is the later one.
    pub created_at: Option<std::time::SystemTime>,
    /// The version was current and another has been made current since (`AWSPREVIOUS`).
    pub replaced: bool,
}

/// A secret as created: where it is, and the id of its first version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreatedSecret {
    pub secret: SecretRef,
    pub version_id: String,
}

/// Secret material. Values only ever travel as `SecretString`.
///
/// Metadata names the secret version that goes with it; the vault's current version
/// (`AWSCURRENT`) follows the metadata. A change stages a new version, writes the metadata that
/// names it, then moves `AWSCURRENT` to it with a compare-and-swap ([`SecretVault::move_current`]),
/// so concurrent changes promote in the order their metadata was written.
pub trait SecretVault: Send + Sync {
    fn create(
        &self,
        secret: NewSecret<'_>,
    ) -> impl Future<Output = Result<CreatedSecret, VaultError>> + Send;

    /// The current version of a secret (stage `AWSCURRENT`).
    fn read_current(
        &self,
        secret: &SecretRef,
    ) -> impl Future<Output = Result<SecretVersion, VaultError>> + Send;

    /// One version of a secret, by its id.
    fn read_version(
        &self,
        secret: &SecretRef,
        version_id: &str,
    ) -> impl Future<Output = Result<SecretVersion, VaultError>> + Send;

    /// Adds a new version that is not current yet, and returns its id. Staging again moves
    /// the staging label to the newer version.
    fn stage(
        &self,
        secret: &SecretRef,
        document: &SecretString,
        idempotency_token: &str,
    ) -> impl Future<Output = Result<String, VaultError>> + Send;

    /// The id of the current version (`AWSCURRENT`).
    fn current_version(
        &self,
        secret: &SecretRef,
    ) -> impl Future<Output = Result<String, VaultError>> + Send;

    /// Every version of a secret with its staging labels (`AWSCURRENT`, `AWSPENDING`…), in
    /// version-id order: one read of the secret's description, never of its value.
    fn versions(
        &self,
        secret: &SecretRef,
    ) -> impl Future<Output = Result<Vec<(String, Vec<String>)>, VaultError>> + Send;

    /// Moves `AWSCURRENT` from version `from` to version `to`, only if `from` holds it:
    /// `Ok(false)` when it does not (another change moved it first), and nothing changed.
    fn move_current(
        &self,
        secret: &SecretRef,
        to: &str,
        from: &str,
    ) -> impl Future<Output = Result<bool, VaultError>> + Send;

    /// Sets tags on a secret, replacing the values of tags it has already.
    fn tag(
        &self,
        secret: &SecretRef,
        tags: &[(String, String)],
    ) -> impl Future<Output = Result<(), VaultError>> + Send;

    /// Schedules a secret that was in use for deletion, recoverable for the vault's recovery
    /// window. Retiring a secret that is already retired or gone succeeds.
    fn retire(&self, secret: &SecretRef) -> impl Future<Output = Result<(), VaultError>> + Send;

    /// Deletes, without recovery, a secret that was never referenced by stored metadata (the
    /// undo of a create whose metadata write failed).
    fn discard(&self, secret: &SecretRef) -> impl Future<Output = Result<(), VaultError>> + Send;
}

/// What went wrong when testing a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureKind {
    Authentication,
    Unreachable,
    Timeout,
    MissingDatabase,
    PermissionDenied,
    Tls,
    /// A key file or private key that does not parse, or does not open with its passphrase.
    KeyMaterial,
    /// Strongroom cannot test this provider.
    Unsupported,
    /// The stored settings cannot describe a connection (e.g. a port out of range).
    InvalidSettings,
    Other,
}

impl FailureKind {
    pub fn code(self) -> &'static str {
        match self {
            FailureKind::Authentication => "authentication_failed",
            FailureKind::Unreachable => "host_unreachable",
            FailureKind::Timeout => "timeout",
            FailureKind::MissingDatabase => "database_not_found",
            FailureKind::PermissionDenied => "permission_denied",
            FailureKind::Tls => "tls_failed",
            FailureKind::KeyMaterial => "invalid_key_material",
            FailureKind::Unsupported => "test_not_available",
            FailureKind::InvalidSettings => "invalid_settings",
            FailureKind::Other => "connection_failed",
        }
    }

    fn summary(self) -> &'static str {
        match self {
            FailureKind::Authentication => "Authentication failed",
            FailureKind::Unreachable => "Host unreachable",
            FailureKind::Timeout => "Timed out",
            FailureKind::MissingDatabase => "Database not found",
            FailureKind::PermissionDenied => "Permission denied",
            FailureKind::Tls => "TLS negotiation failed",
            FailureKind::KeyMaterial => "Invalid key material",
            FailureKind::Unsupported => "Test not available",
            FailureKind::InvalidSettings => "Invalid connection settings",
            FailureKind::Other => "Connection failed",
        }
    }
}

/// Who reported a failure: the warehouse itself, or Strongroom on its way there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    Warehouse,
    Strongroom,
}

impl Origin {
    pub fn as_str(self) -> &'static str {
        match self {
            Origin::Warehouse => "warehouse",
            Origin::Strongroom => "strongroom",
        }
    }
}

/// A failed connection test. `detail` is what the reporter said; drivers never put secret
/// material in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestFailure {
    pub kind: FailureKind,
    pub origin: Origin,
    pub detail: String,
}

impl fmt::Display for TestFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let reporter = match self.origin {
            Origin::Warehouse => "the warehouse said",
            Origin::Strongroom => "reported by Strongroom",
        };
        write!(f, "{} ({reporter}): {}", self.kind.summary(), self.detail)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TestOutcome {
    Passed,
    Failed(TestFailure),
}

/// Opens a connection with a stored secret document and runs a lightweight query.
pub trait ConnectionTester: Send + Sync {
    /// Whether this tester can test the provider at all.
    fn supports(&self, provider: Provider) -> bool;

    fn test(
        &self,
        provider: Provider,
        document: &SecretString,
    ) -> impl Future<Output = TestOutcome> + Send;
}

/// What a test of `provider` answers when the tester does not support it.
pub fn untestable(provider: Provider) -> TestOutcome {
    TestOutcome::Failed(TestFailure {
        kind: FailureKind::Unsupported,
        origin: Origin::Strongroom,
        detail: format!("tests for {provider} are not available here"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_say_what_failed_and_who_said_so() {
        let failure = TestFailure {
            kind: FailureKind::Authentication,
            origin: Origin::Warehouse,
            detail: "password authentication failed for user \"app\"".into(),
        };
        assert_eq!(
            failure.to_string(),
            "Authentication failed (the warehouse said): password authentication failed for user \"app\""
        );
    }
}
