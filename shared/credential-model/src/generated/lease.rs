//! A generated login as Strongroom keeps it: its name, scope, lifetime and revocation state —
//! never its password, which is shown once and not stored anywhere.

use std::future::Future;

use rand::RngCore;
use rand::rngs::OsRng;
use time::OffsetDateTime;

use crate::audit::AuditEvent;
use crate::ports::StoreError;
use crate::tenancy::{OrgId, UserId};

/// Where a lease is in its life. A revoked lease is deleted, so it is not a state.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, strum::EnumString, strum::IntoStaticStr, strum::Display,
)]
#[strum(serialize_all = "kebab-case")]
pub enum LeaseState {
    /// The login works until its lifetime ends; the sweeper revokes it then.
    Active,
    /// Revocation failed too often: the login may still exist. Left for an operator, who
    /// deletes it with `force`.
    Irrevocable,
}

/// Which credentials of a database a rotation replaces, and a list shows: Nile's `tenantId`
/// and `internal`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LeaseScope {
    pub tenant: Option<String>,
    pub internal: bool,
}

/// A generated login of a registered database.
#[derive(Debug, Clone, PartialEq)]
pub struct Lease {
    pub organization: OrgId,
    /// The registered database's name.
    pub database: String,
    /// The login's name: the credential's id in Nile's API.
    pub login: String,
    pub scope: LeaseScope,
    pub created_by: UserId,
    pub created_at: OffsetDateTime,
    /// When the login stops being valid.
    pub expires_at: OffsetDateTime,
    pub state: LeaseState,
    /// When the sweeper next acts on it: its expiry, then each retry of a failed revocation.
    /// None once irrevocable: only an operator acts then.
    pub due_at: Option<OffsetDateTime>,
    /// Revocations tried and failed, and what the last failure was.
    pub failures: u32,
    pub last_failure: Option<String>,
    /// Why a rotation brought its expiry forward.
    pub rotation_reason: Option<String>,
    /// Incremented by every write; writes are conditional on the version read.
    pub version: u64,
}

/// A lease's address: what the sweeper's index yields.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct LeaseKey {
    pub organization: OrgId,
    pub database: String,
    pub login: String,
}

impl Lease {
    pub fn key(&self) -> LeaseKey {
        LeaseKey {
            organization: self.organization.clone(),
            database: self.database.clone(),
            login: self.login.clone(),
        }
    }
}

/// The leases of every tenant, keyed under their organization and database; the ones the
/// sweeper must act on found through an index of `due_at`, never a scan.
pub trait LoginLedger: Send + Sync {
    /// Writes `lease`: only if nothing is stored under its key when `expected` is None, else
    /// only over the version `expected`; and `event`, if given, in the same write.
    fn put(
        &self,
        lease: &Lease,
        expected: Option<u64>,
        event: Option<&AuditEvent>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    fn get(&self, key: &LeaseKey)
    -> impl Future<Output = Result<Option<Lease>, StoreError>> + Send;

    /// Deletes `lease` if it is still at its version, recording `event` in the same write.
    fn delete(
        &self,
        lease: &Lease,
        event: &AuditEvent,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Every lease of a database, by login name.
    fn list(
        &self,
        organization: &OrgId,
        database: &str,
    ) -> impl Future<Output = Result<Vec<Lease>, StoreError>> + Send;

    /// Up to `limit` leases whose `due_at` is at or before `now`, earliest first, read from
    /// an index (so possibly a moment stale: read each again before acting).
    fn due(
        &self,
        now: OffsetDateTime,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<LeaseKey>, StoreError>> + Send;
}

/// Crockford's base32, lower case: letters and digits only, so a login name needs no quoting
/// anywhere and reads unambiguously.
const ALPHABET: &[u8; 32] = b"0123456789abcdefghjkmnpqrstvwxyz";
const TIME_CHARS: usize = 10;
const RANDOM_CHARS: usize = 10;

/// `value`'s lowest `chars * 5` bits in base32, most significant first.
fn base32(value: u64, chars: usize) -> String {
    (0..chars)
        .rev()
        .map(|place| ALPHABET[((value >> (place * 5)) & 31) as usize] as char)
        .collect()
}

fn from_base32(text: &str) -> Option<u64> {
    text.bytes().try_fold(0u64, |value, byte| {
        let digit = ALPHABET.iter().position(|&c| c == byte)?;
        Some((value << 5) | digit as u64)
    })
}

/// The prefix of every login generated for the registered database `database_id` (its record's
/// id): `sr_` and eight characters of the id. Logins of a database are found by it, and only
/// its own: two registrations of one server, by two tenants or two stacks, never claim each
/// other's logins.
pub fn login_prefix(database_id: &uuid::Uuid) -> String {
    let bytes = database_id.as_bytes();
    let tag = bytes[..5]
        .iter()
        .fold(0u64, |value, &byte| (value << 8) | u64::from(byte));
    format!("sr_{}_", base32(tag, 8))
}

/// A new login name under `prefix`: the creation time in milliseconds, then 50 random bits.
/// 32 characters with a prefix of [`login_prefix`]: within MySQL 8's limit on user names.
pub fn login_name(prefix: &str, at: OffsetDateTime) -> String {
    let millis = u64::try_from(at.unix_timestamp_nanos() / 1_000_000).unwrap_or_default();
    format!(
        "{prefix}{}{}",
        base32(millis, TIME_CHARS),
        base32(OsRng.next_u64(), RANDOM_CHARS)
    )
}

/// When the login `name` under `prefix` was generated, if it is one of [`login_name`]'s.
pub fn login_created_at(prefix: &str, name: &str) -> Option<OffsetDateTime> {
    let rest = name.strip_prefix(prefix)?;
    if rest.len() != TIME_CHARS + RANDOM_CHARS || !rest.is_ascii() {
        return None;
    }
    let millis = from_base32(&rest[..TIME_CHARS])?;
    from_base32(&rest[TIME_CHARS..])?;
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(millis) * 1_000_000).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn login_names_fit_mysql_and_tell_their_age() {
        let id = uuid::Uuid::new_v4();
        let prefix = login_prefix(&id);
        assert_eq!(prefix.len(), 12);
        let at = OffsetDateTime::from_unix_timestamp(1_790_000_000).expect("valid");
        let name = login_name(&prefix, at);
        assert_eq!(name.len(), 32, "{name}");
        assert!(
            name.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        );
        assert_eq!(login_created_at(&prefix, &name), Some(at));
        assert_ne!(login_name(&prefix, at), name, "random part differs");
        assert_eq!(login_created_at(&prefix, "sr_other_0000000000"), None);
        assert_eq!(
            login_created_at(&login_prefix(&uuid::Uuid::new_v4()), &name),
            None
        );
        assert_eq!(
            login_created_at(&prefix, &format!("{prefix}ILOU000000000000000")),
            None
        );
    }
}
