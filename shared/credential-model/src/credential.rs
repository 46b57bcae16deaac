//! A stored credential's metadata — everything about it except its secret material, which is
//! referenced by its Secrets Manager ARN — typed by the family it belongs to.

use std::fmt;

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use uuid::Uuid;

use crate::provider::Provider;
use crate::rotation::Rotation;
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

crate::text_serde!(CredentialId, "a credential id (a UUID)");

/// What kind of thing a credential is, which decides where it lives under its organization.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    strum::EnumString,
    strum::IntoStaticStr,
    strum::Display,
    strum::VariantArray,
)]
#[strum(serialize_all = "kebab-case")]
pub enum CredentialKind {
    /// An organization's one active warehouse connection (Levered).
    WarehouseConnection,
    /// A user's own credentials for a warehouse (Lightdash).
    UserWarehouseCredential,
    /// An API key, OAuth token, connection string… (Mielto).
    GenericCredential,
    /// A named database connection of a project (Credible).
    ProjectConnection,
    /// A database Strongroom generates credentials for, with its admin login (Nile).
    RegisteredDatabase,
}

impl CredentialKind {
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    pub fn parse(name: &str) -> Option<Self> {
        name.parse().ok()
    }

    /// The family whose API this kind of credential belongs to.
    pub fn family(self) -> &'static str {
        match self {
            CredentialKind::WarehouseConnection => "levered",
            CredentialKind::UserWarehouseCredential => "lightdash",
            CredentialKind::GenericCredential => "mielto",
            CredentialKind::ProjectConnection => "credible",
            CredentialKind::RegisteredDatabase => "nile",
        }
    }
}

crate::text_serde!(CredentialKind, "a credential kind");

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

    /// A credential known by its `name`, unique among those of its kind in the organization
    /// (a Nile database). The name may not hold `#` or `/`.
    pub fn by_name(organization: OrgId, kind: CredentialKind, name: &str) -> Self {
        RecordKey {
            organization,
            slot: format!("{}{name}", Self::items_prefix(kind)),
        }
    }

    /// A credential known by its `name` within a `group` of the organization (a Credible
    /// connection of a project). Neither may hold `#` or `/`: the slot's and its tag's
    /// separators.
    pub fn named(organization: OrgId, kind: CredentialKind, group: &str, name: &str) -> Self {
        RecordKey {
            organization,
            slot: format!("{}{name}", Self::group_prefix(kind, group)),
        }
    }

    /// The slot prefix of every credential of `kind` in `group`: what lists them.
    pub fn group_prefix(kind: CredentialKind, group: &str) -> String {
        format!("{kind}#{group}#")
    }

    /// The slot prefix of every credential `owner` has of `kind`: what lists them.
    pub fn owned_prefix(kind: CredentialKind, owner: &UserId) -> String {
        format!("{kind}#{owner}#")
    }

    /// The slot prefix of every credential of `kind` of an organization (owned ones included).
    pub fn items_prefix(kind: CredentialKind) -> String {
        format!("{kind}#")
    }

    /// The slot as a secret's `strongroom:record` tag holds it. Tag values may not hold `#`,
    /// and no part of a slot holds `/`, so the slot's separators become `/`. With the
    /// organization (the `strongroom:organization` tag) it leads from a secret to its record.
    pub fn slot_tag(&self) -> String {
        self.slot.replace('#', "/")
    }

    /// The key a secret's `strongroom:organization` and `strongroom:record` tags name.
    pub fn from_tags(organization: &str, record: &str) -> Option<Self> {
        let organization = OrgId::parse(organization)?;
        let slot = record.replace('/', "#");
        let kind = slot.split('#').next().and_then(CredentialKind::parse)?;
        (slot.len() > kind.as_str().len() + 1).then_some(RecordKey { organization, slot })
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

/// A family's own fields of a credential (a name, a label, a dataset…), typed by the family and
/// stored as it serializes. Holds no secret material.
pub trait Attributes:
    Serialize + DeserializeOwned + Clone + PartialEq + fmt::Debug + Send + Sync + 'static
{
    /// The kind of credential these attributes describe.
    const KIND: CredentialKind;
}

/// A credential's metadata as stored. Holds no secret material.
#[derive(Debug, Clone, PartialEq)]
pub struct CredentialRecord<A> {
    pub key: RecordKey,
    pub id: CredentialId,
    pub provider: Provider,
    /// The non-secret settings of its secret document, nested as there.
    pub settings: Map<String, Value>,
    /// The family's own fields.
    pub attributes: A,
    pub secret: SecretRef,
    /// The version of the secret that holds this metadata's document. `AWSCURRENT` moves to it
    /// once it is written; changes merge from it, never from a version another change staged.
    pub secret_version: String,
    /// When the credential stops being valid, if it does: a top-level item attribute in epoch
    /// seconds, so a table TTL or a sparse index can read it.
    pub expires_at: Option<OffsetDateTime>,
    /// How its password is rotated, and where the last rotation got to.
    pub rotation: Rotation,
    pub created_by: UserId,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
    /// Incremented by every write of the same credential. Writes are conditional on the id and
    /// the version they read: the id never repeats, so a credential deleted and created again
    /// under the same key is never mistaken for the one that was read.
    pub version: u64,
}

impl<A> CredentialRecord<A> {
    /// The same record with other attributes.
    pub fn with_attributes<B>(self, attributes: B) -> CredentialRecord<B> {
        CredentialRecord {
            key: self.key,
            id: self.id,
            provider: self.provider,
            settings: self.settings,
            attributes,
            secret: self.secret,
            secret_version: self.secret_version,
            expires_at: self.expires_at,
            rotation: self.rotation,
            created_by: self.created_by,
            created_at: self.created_at,
            updated_at: self.updated_at,
            version: self.version,
        }
    }
}

/// A record of any kind, its family's attributes as they serialize: what reads and writes
/// that every family shares (the native API, rotation) work on.
#[derive(Debug, Clone, PartialEq)]
pub struct AnyRecord {
    pub kind: CredentialKind,
    pub record: CredentialRecord<Value>,
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

/// An instant as every stored timestamp is: in UTC, to the second.
pub fn in_utc_seconds(at: OffsetDateTime) -> OffsetDateTime {
    let at = at.to_offset(time::UtcOffset::UTC);
    at.replace_nanosecond(0).unwrap_or(at)
}

/// Parses an RFC 3339 timestamp into UTC, to the second.
pub fn parse_timestamp(text: &str) -> Option<OffsetDateTime> {
    parse_rfc3339(text).map(in_utc_seconds)
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
            RecordKey::singleton(org.clone(), CredentialKind::WarehouseConnection).slot,
            "warehouse-connection#active"
        );
        let kind = CredentialKind::ProjectConnection;
        let named = RecordKey::named(org, kind, "analytics", "warehouse");
        assert_eq!(named.slot, "project-connection#analytics#warehouse");
        assert!(
            named
                .slot
                .starts_with(&RecordKey::group_prefix(kind, "analytics"))
        );
        assert!(
            !named
                .slot
                .starts_with(&RecordKey::group_prefix(kind, "analytic"))
        );
    }

    #[test]
    fn a_key_round_trips_through_secret_tags() {
        let org = OrgId::parse("org.a@x").expect("valid");
        let user = UserId::parse("user=1").expect("valid");
        let id = CredentialId::generate();
        for key in [
            RecordKey::owned(
                org.clone(),
                CredentialKind::UserWarehouseCredential,
                &user,
                id,
            ),
            RecordKey::item(org.clone(), CredentialKind::GenericCredential, id),
            RecordKey::singleton(org.clone(), CredentialKind::WarehouseConnection),
            RecordKey::named(
                org.clone(),
                CredentialKind::ProjectConnection,
                "analytics",
                "warehouse",
            ),
        ] {
            let tag = key.slot_tag();
            assert!(!tag.contains('#') && tag.len() <= 256, "{tag}");
            assert_eq!(RecordKey::from_tags("org.a@x", &tag), Some(key));
        }
        assert_eq!(RecordKey::from_tags("org_a", "nonsense/1"), None);
        assert_eq!(RecordKey::from_tags("org_a", "generic-credential"), None);
        assert_eq!(RecordKey::from_tags("org#a", "generic-credential/1"), None);
    }

    #[test]
    fn timestamps_are_whole_seconds_in_rfc3339() {
        let text = rfc3339(now());
        assert!(text.ends_with('Z'), "{text}");
        assert!(!text.contains('.'), "{text}");
        assert!(parse_rfc3339(&text).is_some());
    }

    #[test]
    fn ids_and_kinds_round_trip_through_serde_and_refuse_garbage() {
        for kind in <CredentialKind as strum::VariantArray>::VARIANTS {
            let text = serde_json::to_string(kind).expect("serializes");
            assert_eq!(
                &serde_json::from_str::<CredentialKind>(&text).expect("parses"),
                kind
            );
        }
        let id = CredentialId::generate();
        let text = serde_json::to_string(&id).expect("serializes");
        assert_eq!(
            serde_json::from_str::<CredentialId>(&text).expect("parses"),
            id
        );
        assert!(serde_json::from_str::<CredentialId>("\"not-a-uuid\"").is_err());
        assert!(serde_json::from_str::<CredentialKind>("\"oracle\"").is_err());
    }
}
