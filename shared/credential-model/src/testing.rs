//! In-memory ports with the real ones' conditional semantics, for handler and use-case tests
//! that run in milliseconds: a repository whose writes are conditional on the id and version
//! they expect, a vault with versions, a compare-and-swap `AWSCURRENT`, the staging label, tags,
//! deletion and an inventory, and a rotation control that records what it is asked. Each can
//! be made to fail, which the real services cannot be made to do on demand.
//!
//! They stand beside the adapters' own tests against moto; they never replace them.

use std::collections::{BTreeMap, HashMap};
use std::ops::Bound;
use std::sync::Mutex;
use std::time::SystemTime;

use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;

use crate::SecretRef;
use crate::audit::AuditEvent;
use crate::credential::AnyRecord;
use crate::credential::{Attributes, CredentialId, CredentialRecord, RecordKey};
use crate::ports::{
    CreatedSecret, CredentialRepository, Expected, NewSecret, SecretVault, SecretVersion,
    StoreError, VaultError,
};
use crate::reconcile::{ListedSecret, SecretInventory, SecretPage};
use crate::rotation::{CURRENT, PREVIOUS, RotationControl, STAGED, Schedule};
use crate::tenancy::OrgId;

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A record as stored: its kind and its attributes as they serialize.
type Item = AnyRecord;

fn matches(found: Option<&Item>, expected: Expected) -> bool {
    match (expected, found) {
        (Expected::Absent, None) => true,
        (Expected::Current { id, version }, Some(item)) => {
            item.record.id == id && item.record.version == version
        }
        _ => false,
    }
}

/// Credential metadata in memory.
#[derive(Default)]
pub struct MemoryRepository {
    items: Mutex<BTreeMap<(String, String), Item>>,
    next_write: Mutex<Option<StoreError>>,
    down: Mutex<bool>,
    events: Mutex<Vec<AuditEvent>>,
}

impl MemoryRepository {
    /// The audit events written with records, in order.
    pub fn events(&self) -> Vec<AuditEvent> {
        lock(&self.events).clone()
    }

    /// Records `event` if `written` succeeded: the write and its event, both or neither.
    fn audited(
        &self,
        written: Result<(), StoreError>,
        event: &AuditEvent,
    ) -> Result<(), StoreError> {
        written?;
        lock(&self.events).push(event.clone());
        Ok(())
    }

    /// The next write fails with `error` (a lost race, an outage), whatever it finds.
    pub fn fail_next_write(&self, error: StoreError) {
        *lock(&self.next_write) = Some(error);
    }

    /// Every call fails as unavailable while `down`.
    pub fn set_down(&self, down: bool) {
        *lock(&self.down) = down;
    }

    pub fn len(&self) -> usize {
        lock(&self.items).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn check(&self, write: bool) -> Result<(), StoreError> {
        if *lock(&self.down) {
            return Err(StoreError::Unavailable(
                "the memory repository is down".into(),
            ));
        }
        let mut next_write = lock(&self.next_write);
        match next_write.take() {
            Some(error) if write => Err(error),
            pending => {
                *next_write = pending;
                Ok(())
            }
        }
    }

    fn typed<A: Attributes>(item: &Item) -> Result<CredentialRecord<A>, StoreError> {
        if item.kind != A::KIND {
            return Err(StoreError::Corrupt(format!(
                "a {} item where a {} was expected",
                item.kind,
                A::KIND
            )));
        }
        let attributes = serde_json::from_value(item.record.attributes.clone())
            .map_err(|e| StoreError::Corrupt(e.to_string()))?;
        Ok(item.record.clone().with_attributes(attributes))
    }
}

fn key_of(key: &RecordKey) -> (String, String) {
    (key.organization.to_string(), key.slot.clone())
}

impl CredentialRepository for MemoryRepository {
    async fn get<A: Attributes>(
        &self,
        key: &RecordKey,
    ) -> Result<Option<CredentialRecord<A>>, StoreError> {
        self.check(false)?;
        lock(&self.items)
            .get(&key_of(key))
            .map(Self::typed)
            .transpose()
    }

    async fn put<A: Attributes>(
        &self,
        record: &CredentialRecord<A>,
        expected: Expected,
    ) -> Result<(), StoreError> {
        self.check(true)?;
        let attributes = serde_json::to_value(&record.attributes)
            .map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let mut items = lock(&self.items);
        let key = key_of(&record.key);
        if !matches(items.get(&key), expected) {
            return Err(StoreError::ConditionFailed);
        }
        let item = Item {
            kind: A::KIND,
            record: record.clone().with_attributes(attributes),
        };
        items.insert(key, item);
        Ok(())
    }

    async fn delete(&self, key: &RecordKey, expected: Expected) -> Result<(), StoreError> {
        self.check(true)?;
        let mut items = lock(&self.items);
        let key = key_of(key);
        if !matches(items.get(&key), expected) {
            return Err(StoreError::ConditionFailed);
        }
        items.remove(&key);
        Ok(())
    }

    async fn get_any(&self, key: &RecordKey) -> Result<Option<AnyRecord>, StoreError> {
        self.check(false)?;
        Ok(lock(&self.items).get(&key_of(key)).cloned())
    }

    async fn put_any(&self, record: &AnyRecord, expected: Expected) -> Result<(), StoreError> {
        self.check(true)?;
        let mut items = lock(&self.items);
        let key = key_of(&record.record.key);
        if !matches(items.get(&key), expected) {
            return Err(StoreError::ConditionFailed);
        }
        items.insert(key, record.clone());
        Ok(())
    }

    async fn put_audited<A: Attributes>(
        &self,
        record: &CredentialRecord<A>,
        expected: Expected,
        event: &AuditEvent,
    ) -> Result<(), StoreError> {
        self.audited(self.put(record, expected).await, event)
    }

    async fn put_any_audited(
        &self,
        record: &AnyRecord,
        expected: Expected,
        event: &AuditEvent,
    ) -> Result<(), StoreError> {
        self.audited(self.put_any(record, expected).await, event)
    }

    async fn delete_audited(
        &self,
        key: &RecordKey,
        expected: Expected,
        event: &AuditEvent,
    ) -> Result<(), StoreError> {
        self.audited(self.delete(key, expected).await, event)
    }

    async fn list<A: Attributes>(
        &self,
        organization: &OrgId,
        slot_prefix: &str,
    ) -> Result<Vec<CredentialRecord<A>>, StoreError> {
        self.check(false)?;
        lock(&self.items)
            .iter()
            .filter(|((org, slot), _)| {
                org == organization.as_str() && slot.starts_with(slot_prefix)
            })
            .map(|(_, item)| Self::typed(item))
            .collect()
    }

    async fn locate(
        &self,
        organization: &OrgId,
        id: CredentialId,
    ) -> Result<Option<RecordKey>, StoreError> {
        self.check(false)?;
        Ok(lock(&self.items)
            .values()
            .find(|item| &item.record.key.organization == organization && item.record.id == id)
            .map(|item| item.record.key.clone()))
    }
}

/// When a version was written: a clock that only moves forward, so the later of two
/// versions is always told apart.
fn written_at() -> std::time::SystemTime {
    static CLOCK: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    let tick = CLOCK.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    std::time::UNIX_EPOCH + std::time::Duration::from_micros(tick)
}

struct Secret {
    name: String,
    created: SystemTime,
    /// Each version's document and when it was written.
    versions: HashMap<String, (String, SystemTime)>,
    current: String,
    /// The version that was current before `current` (`AWSPREVIOUS`).
    previous: Option<String>,
    /// The version last staged (`STRONGROOM_STAGED`), until the label is removed.
    staged: Option<String>,
    tags: Vec<(String, String)>,
    /// When it was scheduled for deletion: unreadable and unwritable from then on, as
    /// Secrets Manager has it.
    deleted: Option<SystemTime>,
}

impl Secret {
    /// The labels version `id` holds.
    fn stages(&self, id: &str) -> Vec<String> {
        [
            (CURRENT, Some(&self.current)),
            (PREVIOUS, self.previous.as_ref()),
            (STAGED, self.staged.as_ref()),
        ]
        .into_iter()
        .filter(|(_, holder)| holder.is_some_and(|holder| holder == id))
        .map(|(stage, _)| stage.to_owned())
        .collect()
    }

    /// Every version that holds a label, in version-id order, as the real vault describes
    /// them (unlabelled versions are deprecated there).
    fn labelled(&self) -> Vec<(String, Vec<String>)> {
        let mut versions: Vec<(String, Vec<String>)> = self
            .versions
            .keys()
            .map(|id| (id.clone(), self.stages(id)))
            .filter(|(_, stages)| !stages.is_empty())
            .collect();
        versions.sort();
        versions
    }
}

/// Secret material in memory.
#[derive(Default)]
pub struct MemoryVault {
    secrets: Mutex<BTreeMap<String, Secret>>,
    down: Mutex<bool>,
}

impl MemoryVault {
    /// Every call fails as unavailable while `down`.
    pub fn set_down(&self, down: bool) {
        *lock(&self.down) = down;
    }

    /// The secrets that are neither deleted nor scheduled for deletion.
    pub fn live_secrets(&self) -> Vec<String> {
        lock(&self.secrets)
            .iter()
            .filter(|(_, secret)| secret.deleted.is_none())
            .map(|(arn, _)| arn.clone())
            .collect()
    }

    /// A secret's tags, whatever its state.
    pub fn tags(&self, secret: &SecretRef) -> Vec<(String, String)> {
        lock(&self.secrets)
            .get(&secret.0)
            .map(|s| s.tags.clone())
            .unwrap_or_default()
    }

    /// A rotation outside Strongroom (AWS's template, the console): a new version made
    /// current, the staging label left where it was. Returns the new version's id.
    pub fn rotate_outside(&self, secret: &SecretRef, document: &str) -> Result<String, VaultError> {
        self.with(secret, |s| {
            let version = uuid::Uuid::new_v4().to_string();
            s.versions
                .insert(version.clone(), (document.to_owned(), written_at()));
            s.previous = Some(std::mem::replace(&mut s.current, version.clone()));
            Ok(version)
        })
    }

    fn with<T>(
        &self,
        secret: &SecretRef,
        f: impl FnOnce(&mut Secret) -> Result<T, VaultError>,
    ) -> Result<T, VaultError> {
        if *lock(&self.down) {
            return Err(VaultError::Unavailable("the memory vault is down".into()));
        }
        match lock(&self.secrets).get_mut(&secret.0) {
            Some(found) if found.deleted.is_none() => f(found),
            _ => Err(VaultError::NotFound),
        }
    }

    fn version(&self, secret: &SecretRef, version_id: &str) -> Result<SecretVersion, VaultError> {
        self.with(secret, |s| {
            s.versions
                .get(version_id)
                .map(|(document, created_at)| SecretVersion {
                    document: SecretString::from(document.clone()),
                    version_id: version_id.to_owned(),
                    created_at: Some(*created_at),
                    replaced: s.previous.as_deref() == Some(version_id),
                })
                .ok_or(VaultError::NotFound)
        })
    }
}

impl SecretVault for MemoryVault {
    async fn create(&self, secret: NewSecret<'_>) -> Result<CreatedSecret, VaultError> {
        if *lock(&self.down) {
            return Err(VaultError::Unavailable("the memory vault is down".into()));
        }
        let name = format!("strongroom/{}", secret.name);
        let arn = format!("arn:memory:secretsmanager:{name}");
        let version = secret.idempotency_token;
        let mut secrets = lock(&self.secrets);
        if let Some(existing) = secrets.get(&arn) {
            return if existing.versions.contains_key(&version) {
                Ok(CreatedSecret {
                    secret: SecretRef(arn),
                    version_id: version,
                })
            } else {
                Err(VaultError::Unavailable(
                    "a secret of that name exists".into(),
                ))
            };
        }
        let created = written_at();
        secrets.insert(
            arn.clone(),
            Secret {
                name,
                created,
                versions: HashMap::from([(
                    version.clone(),
                    (secret.document.expose_secret().to_owned(), created),
                )]),
                current: version.clone(),
                previous: None,
                staged: None,
                tags: secret.tags,
                deleted: None,
            },
        );
        Ok(CreatedSecret {
            secret: SecretRef(arn),
            version_id: version,
        })
    }

    async fn read_current(&self, secret: &SecretRef) -> Result<SecretVersion, VaultError> {
        let current = self.with(secret, |s| Ok(s.current.clone()))?;
        self.version(secret, &current)
    }

    async fn read_version(
        &self,
        secret: &SecretRef,
        version_id: &str,
    ) -> Result<SecretVersion, VaultError> {
        self.version(secret, version_id)
    }

    async fn stage(
        &self,
        secret: &SecretRef,
        document: &SecretString,
        token: &str,
    ) -> Result<String, VaultError> {
        self.with(secret, |s| {
            s.versions.insert(
                token.to_owned(),
                (document.expose_secret().to_owned(), written_at()),
            );
            s.staged = Some(token.to_owned());
            Ok(token.to_owned())
        })
    }

    async fn current_version(&self, secret: &SecretRef) -> Result<String, VaultError> {
        self.with(secret, |s| Ok(s.current.clone()))
    }

    async fn versions(&self, secret: &SecretRef) -> Result<Vec<(String, Vec<String>)>, VaultError> {
        self.with(secret, |s| Ok(s.labelled()))
    }

    async fn move_current(
        &self,
        secret: &SecretRef,
        to: &str,
        from: &str,
    ) -> Result<bool, VaultError> {
        self.with(secret, |s| {
            if s.current != from {
                return Ok(false);
            }
            s.previous = Some(std::mem::replace(&mut s.current, to.to_owned()));
            Ok(true)
        })
    }

    async fn tag(&self, secret: &SecretRef, tags: &[(String, String)]) -> Result<(), VaultError> {
        self.with(secret, |s| {
            for (key, value) in tags {
                s.tags.retain(|(k, _)| k != key);
                s.tags.push((key.clone(), value.clone()));
            }
            Ok(())
        })
    }

    async fn retire(&self, secret: &SecretRef) -> Result<(), VaultError> {
        if *lock(&self.down) {
            return Err(VaultError::Unavailable("the memory vault is down".into()));
        }
        if let Some(found) = lock(&self.secrets).get_mut(&secret.0) {
            found.deleted.get_or_insert_with(written_at);
        }
        Ok(())
    }

    async fn discard(&self, secret: &SecretRef) -> Result<(), VaultError> {
        if *lock(&self.down) {
            return Err(VaultError::Unavailable("the memory vault is down".into()));
        }
        lock(&self.secrets).remove(&secret.0);
        Ok(())
    }
}

/// How many secrets a page of [`MemoryVault`]'s inventory holds: few, so sweeps page.
pub const INVENTORY_PAGE: usize = 2;

/// Lists every secret, those scheduled for deletion too (which the port allows).
impl SecretInventory for MemoryVault {
    async fn list(&self, page: Option<&str>) -> Result<SecretPage, VaultError> {
        if *lock(&self.down) {
            return Err(VaultError::Unavailable("the memory vault is down".into()));
        }
        let secrets = lock(&self.secrets);
        let start = page.map_or(Bound::Unbounded, Bound::Excluded);
        let mut listed: Vec<ListedSecret> = secrets
            .range::<str, _>((start, Bound::Unbounded))
            .take(INVENTORY_PAGE + 1)
            .map(|(arn, s)| ListedSecret {
                secret: SecretRef(arn.clone()),
                name: s.name.clone(),
                tags: s.tags.clone(),
                created_at: Some(s.created.into()),
                deleted_at: s.deleted.map(Into::into),
                versions: s.labelled(),
            })
            .collect();
        let next = (listed.len() > INVENTORY_PAGE).then(|| {
            listed.truncate(INVENTORY_PAGE);
            listed.last().map(|last| last.secret.0.clone())
        });
        Ok(SecretPage {
            secrets: listed,
            next: next.flatten(),
        })
    }

    async fn version_dates(
        &self,
        secret: &SecretRef,
    ) -> Result<Vec<(String, time::OffsetDateTime)>, VaultError> {
        self.with(secret, |s| {
            Ok(s.labelled()
                .into_iter()
                .filter_map(|(id, _)| {
                    let (_, at) = s.versions.get(&id)?;
                    Some((id, (*at).into()))
                })
                .collect())
        })
    }

    async fn unstage(&self, secret: &SecretRef, version_id: &str) -> Result<bool, VaultError> {
        self.with(secret, |s| {
            let holds = s.staged.as_deref() == Some(version_id);
            if holds {
                s.staged = None;
            }
            Ok(holds)
        })
    }
}

/// What a [`MemoryRotation`] was asked to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RotationCall {
    Schedule { secret: String, schedule: String },
    Cancel { secret: String },
    RotateNow { secret: String, token: String },
}

/// Rotation control in memory: records every call, and fails while `down`.
#[derive(Default)]
pub struct MemoryRotation {
    calls: Mutex<Vec<RotationCall>>,
    down: Mutex<bool>,
}

impl MemoryRotation {
    /// Every call fails as unavailable while `down` (and is not recorded).
    pub fn set_down(&self, down: bool) {
        *lock(&self.down) = down;
    }

    /// The calls made so far, in order.
    pub fn calls(&self) -> Vec<RotationCall> {
        lock(&self.calls).clone()
    }

    fn record(&self, call: RotationCall) -> Result<(), VaultError> {
        if *lock(&self.down) {
            return Err(VaultError::Unavailable(
                "the memory rotation control is down".into(),
            ));
        }
        lock(&self.calls).push(call);
        Ok(())
    }
}

impl RotationControl for MemoryRotation {
    async fn schedule(&self, secret: &SecretRef, schedule: &Schedule) -> Result<(), VaultError> {
        self.record(RotationCall::Schedule {
            secret: secret.0.clone(),
            schedule: schedule.to_string(),
        })
    }

    async fn cancel(&self, secret: &SecretRef) -> Result<(), VaultError> {
        self.record(RotationCall::Cancel {
            secret: secret.0.clone(),
        })
    }

    async fn rotate_now(&self, secret: &SecretRef, token: &str) -> Result<(), VaultError> {
        self.record(RotationCall::RotateNow {
            secret: secret.0.clone(),
            token: token.to_owned(),
        })
    }
}

/// A record as stored, for tests: credential `id` of `provider` under `key`, created now by
/// `user_a`, at version 1, its secret only named.
pub fn record<A>(
    key: RecordKey,
    id: CredentialId,
    provider: crate::Provider,
    settings: serde_json::Map<String, Value>,
    attributes: A,
) -> CredentialRecord<A> {
    let at = crate::credential::now();
    CredentialRecord {
        key,
        id,
        provider,
        settings,
        attributes,
        secret: SecretRef("arn:memory:secret".into()),
        secret_version: "v1".into(),
        expires_at: None,
        rotation: Default::default(),
        created_by: crate::UserId::parse("user_a").expect("a valid user id"),
        created_at: at,
        updated_at: at,
        version: 1,
    }
}

/// `user_a` of `org_a`, with every scope, whose token never expires.
pub fn caller() -> crate::Caller {
    crate::Caller {
        organization: OrgId::parse("org_a").expect("a valid organization"),
        user: crate::UserId::parse("user_a").expect("a valid user id"),
        scopes: crate::Scopes::all(),
        expires_at: i64::MAX,
        origin: Default::default(),
    }
}
