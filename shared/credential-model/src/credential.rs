//! A stored credential's metadata — everything about it except its secret material, which is
//! referenced by its Secrets Manager ARN.

use std::fmt;

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use uuid::Uuid;

use crate::provider::Provider;
use crate::secret::Settings;
use crate::tenancy::{OrgId, UserId};

/// A credential's public identifier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CredentialId(Uuid);

impl CredentialId {
    pub fn generate() -> Self {
        CredentialId(Uuid::new_v4())
    }

    pub fn parse(value: &str) -> Option<Self> {
        Uuid::parse_str(value).ok().map(CredentialId)
    }
}

impl fmt::Display for CredentialId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.hyphenated().fmt(f)
    }
}

/// What kind of thing a credential is, which decides where it lives under its organization.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CredentialKind {
    /// An organization's one active warehouse connection (Levered).
    WarehouseConnection,
    /// A user's own credentials for a warehouse (Lightdash).
    UserWarehouseCredential,
    /// An API key, OAuth token, connection string… (Mielto).
    GenericCredential,
    /// A named database connection of a project (Credible).
    ProjectConnection,
    /// A database credential generated on demand (Nile).
    GeneratedDatabaseCredential,
}

impl CredentialKind {
    pub const ALL: [CredentialKind; 5] = [
        CredentialKind::WarehouseConnection,
        CredentialKind::UserWarehouseCredential,
        CredentialKind::GenericCredential,
        CredentialKind::ProjectConnection,
        CredentialKind::GeneratedDatabaseCredential,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            CredentialKind::WarehouseConnection => "warehouse-connection",
            CredentialKind::UserWarehouseCredential => "user-warehouse-credential",
            CredentialKind::GenericCredential => "generic-credential",
            CredentialKind::ProjectConnection => "project-connection",
            CredentialKind::GeneratedDatabaseCredential => "generated-database-credential",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        CredentialKind::ALL.into_iter().find(|k| k.as_str() == name)
    }
}

impl fmt::Display for CredentialKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a credential's metadata lives: under its organization, in a slot its kind decides.
/// Every read and write names the organization, so one tenant can never address another's.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RecordKey {
    pub organization: OrgId,
    pub slot: String,
}

impl RecordKey {
    /// The one credential of its kind an organization may have (Levered's active connection).
    pub fn singleton(organization: OrgId, kind: CredentialKind) -> Self {
        RecordKey {
            organization,
            slot: format!("{kind}#active"),
        }
    }

    /// A credential that belongs to one user of the organization.
    pub fn owned(
        organization: OrgId,
        kind: CredentialKind,
        owner: &UserId,
        id: CredentialId,
    ) -> Self {
        RecordKey {
            organization,
            slot: format!("{}{id}", Self::owned_prefix(kind, owner)),
        }
    }

    /// A credential that belongs to the organization as a whole.
    pub fn item(organization: OrgId, kind: CredentialKind, id: CredentialId) -> Self {
        RecordKey {
            organization,
            slot: format!("{}{id}", Self::items_prefix(kind)),
        }
    }

    /// The slot prefix of every credential `owner` has of `kind`: what lists them.
    pub fn owned_prefix(kind: CredentialKind, owner: &UserId) -> String {
        format!("{kind}#{owner}#")
    }

    /// The slot prefix of every credential of `kind` of an organization (owned ones included).
    pub fn items_prefix(kind: CredentialKind) -> String {
        format!("{kind}#")
    }
}

/// A reference to a secret in the vault (its ARN).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SecretRef(pub String);

impl fmt::Display for SecretRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A credential's metadata as stored. Holds no secret material.
#[derive(Debug, Clone, PartialEq)]
pub struct CredentialRecord {
    pub key: RecordKey,
    pub id: CredentialId,
    pub kind: CredentialKind,
    pub provider: Provider,
    /// The provider's non-secret connection settings, under canonical names.
    pub settings: Settings,
    /// The family's own descriptive fields (a name, a label, a dataset…).
    pub attributes: Settings,
    pub secret: SecretRef,
    /// The version of the secret that holds this metadata's document. `AWSCURRENT` moves to it
    /// once it is written; changes merge from it, never from a version another change staged.
    pub secret_version: String,
    pub created_by: UserId,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
    /// Incremented by every write; writes are conditional on the version they read.
    pub version: u64,
}

/// The current time, to the second: what every stored and returned timestamp uses.
pub fn now() -> OffsetDateTime {
    let now = OffsetDateTime::now_utc();
    now.replace_nanosecond(0).unwrap_or(now)
}

/// A timestamp in RFC 3339 (`2026-03-28T14:00:00Z`).
pub fn rfc3339(at: OffsetDateTime) -> String {
    at.format(&Rfc3339).unwrap_or_default()
}

/// Parses an RFC 3339 timestamp.
pub fn parse_rfc3339(text: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(text, &Rfc3339).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_stay_under_their_organization() {
        let org = OrgId::parse("org_a").expect("valid");
        let user = UserId::parse("user_a").expect("valid");
        let id = CredentialId::generate();
        let kind = CredentialKind::UserWarehouseCredential;
        assert_eq!(
            RecordKey::owned(org.clone(), kind, &user, id).slot,
            format!("user-warehouse-credential#user_a#{id}")
        );
        assert!(
            RecordKey::owned(org.clone(), kind, &user, id)
                .slot
                .starts_with(&RecordKey::owned_prefix(kind, &user))
        );
        assert!(
            !RecordKey::owned(org.clone(), kind, &user, id)
                .slot
                .starts_with(&RecordKey::owned_prefix(
                    kind,
                    &UserId::parse("user").expect("valid")
                ))
        );
        assert_eq!(
            RecordKey::item(org.clone(), CredentialKind::GenericCredential, id).slot,
            format!("generic-credential#{id}")
        );
        assert_eq!(
            RecordKey::singleton(org, CredentialKind::WarehouseConnection).slot,
            "warehouse-connection#active"
        );
    }

    #[test]
    fn timestamps_are_whole_seconds_in_rfc3339() {
        let text = rfc3339(now());
        assert!(text.ends_with('Z'), "{text}");
        assert!(!text.contains('.'), "{text}");
        assert!(parse_rfc3339(&text).is_some());
    }

    #[test]
    fn kinds_round_trip() {
        for kind in CredentialKind::ALL {
            assert_eq!(CredentialKind::parse(kind.as_str()), Some(kind));
        }
    }
}
