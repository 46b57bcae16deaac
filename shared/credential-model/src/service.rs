//! The use cases every family shares, written once against the ports. This is where the
//! two-store rules live: secret first, then metadata conditionally, and undo the secret when
//! the metadata write fails, so no metadata ever points at a missing secret.

use secrecy::SecretString;

use crate::credential::{
    CredentialId, CredentialKind, CredentialRecord, RecordKey, SecretRef, now,
};
use crate::error::{Dependency, Error};
use crate::ports::{
    CredentialRepository, Expected, NewSecret, SecretVault, StoreError, VaultError,
};
use crate::secret::{CredentialInput, Settings};
use crate::tenancy::{Caller, OrgId};

/// A credential to store: its kind, what the client gave, and the family's own attributes.
#[derive(Debug)]
pub struct NewCredential {
    pub kind: CredentialKind,
    pub input: CredentialInput,
    pub attributes: Settings,
}

/// A change to a stored credential: its new settings and attributes, and the secrets that
/// change. Secrets the input lacks are kept when `keep_missing_secrets` is set (same
/// provider), dropped otherwise (a new provider brings all of its own).
#[derive(Debug)]
pub struct CredentialChange {
    pub input: CredentialInput,
    pub attributes: Settings,
    pub keep_missing_secrets: bool,
}

pub struct CredentialService<R, V> {
    repository: R,
    vault: V,
}

fn store_error(error: StoreError) -> Error {
    match error {
        StoreError::ConditionFailed => {
            Error::Conflict("the credential was changed by another request; retry")
        }
        StoreError::Unavailable(detail) => Error::Unavailable {
            dependency: Dependency::MetadataStore,
            detail,
        },
        StoreError::Corrupt(detail) => Error::Corrupt {
            what: "credential metadata",
            detail,
        },
    }
}

fn vault_error(error: VaultError) -> Error {
    match error {
        VaultError::NotFound => Error::Corrupt {
            what: "credential",
            detail: "its secret is missing from the vault".into(),
        },
        VaultError::Unavailable(detail) => Error::Unavailable {
            dependency: Dependency::SecretVault,
            detail,
        },
    }
}

/// The secret's name under the vault's prefix: by tenant first, so IAM policies and audits can
/// scope by organization.
fn secret_name(key: &RecordKey, kind: CredentialKind, id: CredentialId) -> String {
    format!("{}/{kind}/{id}", key.organization)
}

impl<R: CredentialRepository, V: SecretVault> CredentialService<R, V> {
    pub fn new(repository: R, vault: V) -> Self {
        CredentialService { repository, vault }
    }

    pub async fn get(&self, key: &RecordKey) -> Result<Option<CredentialRecord>, Error> {
        self.repository.get(key).await.map_err(store_error)
    }

    /// Every credential of `organization` whose slot starts with `slot_prefix`.
    pub async fn list(
        &self,
        organization: &OrgId,
        slot_prefix: &str,
    ) -> Result<Vec<CredentialRecord>, Error> {
        self.repository
            .list(organization, slot_prefix)
            .await
            .map_err(store_error)
    }

    /// Stores a new credential `id` under `key`, which must be free.
    pub async fn create(
        &self,
        caller: &Caller,
        key: RecordKey,
        id: CredentialId,
        new: NewCredential,
    ) -> Result<CredentialRecord, Error> {
        self.write(caller, key, id, new, Expected::Absent).await
    }

    /// Changes the credential `record` in place: same id, same secret (so its ARN stays valid
    /// for whoever uses it), a new secret version. The new version is staged, the metadata that
    /// names it written conditionally on the version of `record` — so a change the caller never
    /// saw is not silently overwritten (409 instead) — and only then is the version made
    /// current: a request that loses a race never changes the secret anyone reads, and changes
    /// that follow each other become current in the order they were written.
    pub async fn update(
        &self,
        record: &CredentialRecord,
        change: CredentialChange,
    ) -> Result<CredentialRecord, Error> {
        let CredentialChange {
            mut input,
            attributes,
            keep_missing_secrets,
        } = change;
        let secret_unchanged = keep_missing_secrets
            && input.secrets().is_empty()
            && input.provider() == record.provider
            && input.settings() == &record.settings;
        if secret_unchanged {
            return self.update_attributes(record, attributes).await;
        }
        if keep_missing_secrets {
            // The version this metadata names, not AWSCURRENT: the change before this one may
            // be written but not promoted yet, and its secrets are the ones to keep.
            input.keep_missing_secrets(&self.stored_document(record).await?);
        }
        let staged = self
            .vault
            .stage(
                &record.secret,
                &input.secret_document(),
                &uuid::Uuid::new_v4().to_string(),
            )
            .await
            .map_err(vault_error)?;
        let updated = CredentialRecord {
            provider: input.provider(),
            settings: input.settings().clone(),
            attributes,
            secret_version: staged,
            updated_at: now(),
            version: record.version + 1,
            ..record.clone()
        };
        self.repository
            .put(&updated, Expected::Version(record.version))
            .await
            .map_err(store_error)?;
        self.make_current(&updated, &record.secret_version).await?;
        Ok(updated)
    }

    /// Moves `AWSCURRENT` to the version `written` names, from `previous` (the version of the
    /// metadata it replaced) or from wherever it is, unless newer metadata has been written
    /// meanwhile: then that change promotes its own version, and this one must not. Each move
    /// is a compare-and-swap, so a slow request can never put an older version back.
    async fn make_current(&self, written: &CredentialRecord, previous: &str) -> Result<(), Error> {
        const ATTEMPTS: usize = 5;
        let secret = &written.secret;
        let mut from = previous.to_owned();
        for _ in 0..ATTEMPTS {
            let moved = self
                .vault
                .move_current(secret, &written.secret_version, &from)
                .await
                .map_err(vault_error)?;
            if moved {
                return Ok(());
            }
            let latest = self.get(&written.key).await?;
            if latest.is_none_or(|latest| latest.version != written.version) {
                return Ok(());
            }
            from = self
                .vault
                .current_version(secret)
                .await
                .map_err(vault_error)?;
            if from == written.secret_version {
                return Ok(());
            }
        }
        // Only a storm of writers gets here; the next change promotes its own version.
        tracing::error!(%secret, version = written.version,
            "could not make the written secret version current; a later change will");
        Ok(())
    }

    /// Changes only the family's attributes of `record` (a rename, a status): the secret is left
    /// alone, so nothing but the metadata is written, conditionally on the version read.
    pub async fn update_attributes(
        &self,
        record: &CredentialRecord,
        attributes: Settings,
    ) -> Result<CredentialRecord, Error> {
        let updated = CredentialRecord {
            attributes,
            updated_at: now(),
            version: record.version + 1,
            ..record.clone()
        };
        self.repository
            .put(&updated, Expected::Version(record.version))
            .await
            .map_err(store_error)?;
        Ok(updated)
    }

    /// Makes `new` the credential stored under `key`, replacing whatever was there. The
    /// replacement gets a new id and a new secret; the previous secret is retired only once
    /// the new metadata is in place, so there is never a moment without a usable credential
    /// and never two active ones.
    pub async fn replace(
        &self,
        caller: &Caller,
        key: RecordKey,
        new: NewCredential,
    ) -> Result<CredentialRecord, Error> {
        let existing = self.get(&key).await?;
        let expected = existing
            .as_ref()
            .map_or(Expected::Absent, |e| Expected::Version(e.version));
        let id = CredentialId::generate();
        let record = self.write(caller, key, id, new, expected).await?;
        if let Some(previous) = existing {
            self.retire(&previous.secret).await;
        }
        Ok(record)
    }

    /// Deletes the credential under `key`: its metadata, then its secret (recoverable for the
    /// vault's recovery window).
    pub async fn delete(&self, key: &RecordKey) -> Result<CredentialRecord, Error> {
        let record = self.get(key).await?.ok_or(Error::NotFound)?;
        self.repository
            .delete(key, record.version)
            .await
            .map_err(store_error)?;
        self.retire(&record.secret).await;
        Ok(record)
    }

    /// The secret document that goes with `record`: the version its metadata names, which is
    /// current unless a change is still being made.
    pub async fn stored_document(&self, record: &CredentialRecord) -> Result<SecretString, Error> {
        self.vault
            .read_version(&record.secret, &record.secret_version)
            .await
            .map(|version| version.document)
            .map_err(vault_error)
    }

    /// The stored secret document of a credential (its current version).
    pub async fn secret_document(&self, record: &CredentialRecord) -> Result<SecretString, Error> {
        self.vault
            .read_current(&record.secret)
            .await
            .map(|current| current.document)
            .map_err(vault_error)
    }

    async fn write(
        &self,
        caller: &Caller,
        key: RecordKey,
        id: CredentialId,
        new: NewCredential,
        expected: Expected,
    ) -> Result<CredentialRecord, Error> {
        let document = new.input.secret_document();
        let provider = new.input.provider();
        let created = self
            .vault
            .create(NewSecret {
                name: secret_name(&key, new.kind, id),
                description: format!("Strongroom {} {id} ({provider})", new.kind),
                document: &document,
                tags: vec![
                    (
                        "strongroom:organization".into(),
                        key.organization.to_string(),
                    ),
                    ("strongroom:kind".into(), new.kind.to_string()),
                    ("strongroom:credential-id".into(), id.to_string()),
                    ("strongroom:provider".into(), provider.to_string()),
                ],
                idempotency_token: id.to_string(),
            })
            .await
            .map_err(vault_error)?;
        let at = now();
        let record = CredentialRecord {
            key,
            id,
            kind: new.kind,
            provider,
            settings: new.input.settings().clone(),
            attributes: new.attributes,
            secret: created.secret,
            secret_version: created.version_id,
            created_by: caller.user.clone(),
            created_at: at,
            updated_at: at,
            version: match expected {
                Expected::Absent => 1,
                Expected::Version(v) => v + 1,
            },
        };
        if let Err(error) = self.repository.put(&record, expected).await {
            // The secret was never referenced: remove it now rather than leave an orphan.
            if let Err(undo) = self.vault.discard(&record.secret).await {
                tracing::error!(secret = %record.secret, error = %undo,
                    "could not discard the secret of a failed create; the sweeper will");
            }
            return Err(store_error(error));
        }
        Ok(record)
    }

    /// Retires a secret that is no longer referenced. A failure is logged, not returned: the
    /// request it belongs to has succeeded, and the unreferenced secret is the sweeper's.
    async fn retire(&self, secret: &SecretRef) {
        if let Err(error) = self.vault.retire(secret).await {
            tracing::error!(%secret, %error,
                "could not retire a replaced secret; the sweeper will");
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::sync::Mutex;

    use secrecy::ExposeSecret;

    use super::*;
    use crate::ports::{CreatedSecret, SecretVersion};
    use crate::provider::Provider;
    use crate::tenancy::{OrgId, Scopes, UserId};

    /// In-memory repository with the same conditional-write rules as the real one.
    #[derive(Default)]
    struct MemoryRepository {
        records: Mutex<HashMap<RecordKey, CredentialRecord>>,
        /// Makes the next put fail as if another writer won the race.
        lose_next_race: Mutex<bool>,
    }

    impl CredentialRepository for MemoryRepository {
        async fn get(&self, key: &RecordKey) -> Result<Option<CredentialRecord>, StoreError> {
            Ok(self.records.lock().expect("lock").get(key).cloned())
        }

        async fn put(
            &self,
            record: &CredentialRecord,
            expected: Expected,
        ) -> Result<(), StoreError> {
            if std::mem::take(&mut *self.lose_next_race.lock().expect("lock")) {
                return Err(StoreError::ConditionFailed);
            }
            let mut records = self.records.lock().expect("lock");
            let found = records.get(&record.key).map(|r| r.version);
            let matches = match expected {
                Expected::Absent => found.is_none(),
                Expected::Version(v) => found == Some(v),
            };
            if !matches {
                return Err(StoreError::ConditionFailed);
            }
            records.insert(record.key.clone(), record.clone());
            Ok(())
        }

        async fn delete(&self, key: &RecordKey, version: u64) -> Result<(), StoreError> {
            let mut records = self.records.lock().expect("lock");
            match records.get(key) {
                Some(r) if r.version == version => {
                    records.remove(key);
                    Ok(())
                }
                _ => Err(StoreError::ConditionFailed),
            }
        }

        async fn list(
            &self,
            organization: &OrgId,
            slot_prefix: &str,
        ) -> Result<Vec<CredentialRecord>, StoreError> {
            let mut found: Vec<_> = self
                .records
                .lock()
                .expect("lock")
                .values()
                .filter(|r| {
                    &r.key.organization == organization && r.key.slot.starts_with(slot_prefix)
                })
                .cloned()
                .collect();
            found.sort_by(|a, b| a.key.slot.cmp(&b.key.slot));
            Ok(found)
        }
    }

    /// One secret of the in-memory vault: its versions and which is current.
    #[derive(Default)]
    struct MemorySecret {
        versions: HashMap<String, String>,
        current: String,
    }

    /// In-memory vault with the same compare-and-swap on `AWSCURRENT` as the real one.
    #[derive(Default)]
    struct MemoryVault {
        live: Mutex<HashMap<String, MemorySecret>>,
        retired: Mutex<Vec<String>>,
        unavailable: bool,
    }

    impl MemoryVault {
        fn with<T>(
            &self,
            secret: &SecretRef,
            f: impl FnOnce(&mut MemorySecret) -> Result<T, VaultError>,
        ) -> Result<T, VaultError> {
            let mut live = self.live.lock().expect("lock");
            f(live.get_mut(&secret.0).ok_or(VaultError::NotFound)?)
        }

        fn version(&self, secret: &SecretRef, id: &str) -> Result<SecretVersion, VaultError> {
            self.with(secret, |s| {
                let document = s.versions.get(id).ok_or(VaultError::NotFound)?;
                Ok(SecretVersion {
                    document: SecretString::from(document.clone()),
                    version_id: id.to_owned(),
                })
            })
        }
    }

    impl SecretVault for MemoryVault {
        async fn create(&self, secret: NewSecret<'_>) -> Result<CreatedSecret, VaultError> {
            if self.unavailable {
                return Err(VaultError::Unavailable("down".into()));
            }
            let arn = format!("arn:memory:{}", secret.name);
            let version = secret.idempotency_token;
            self.live.lock().expect("lock").insert(
                arn.clone(),
                MemorySecret {
                    versions: HashMap::from([(
                        version.clone(),
                        secret.document.expose_secret().to_owned(),
                    )]),
                    current: version.clone(),
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
                s.versions
                    .insert(token.to_owned(), document.expose_secret().to_owned());
                Ok(token.to_owned())
            })
        }

        async fn current_version(&self, secret: &SecretRef) -> Result<String, VaultError> {
            self.with(secret, |s| Ok(s.current.clone()))
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
                s.current = to.to_owned();
                Ok(true)
            })
        }

        async fn retire(&self, secret: &SecretRef) -> Result<(), VaultError> {
            self.live.lock().expect("lock").remove(&secret.0);
            self.retired.lock().expect("lock").push(secret.0.clone());
            Ok(())
        }

        async fn discard(&self, secret: &SecretRef) -> Result<(), VaultError> {
            self.live.lock().expect("lock").remove(&secret.0);
            Ok(())
        }
    }

    fn caller() -> Caller {
        Caller {
            organization: OrgId::parse("org_a").expect("valid"),
            user: UserId::parse("user_a").expect("valid"),
            scopes: Scopes::all(),
            expires_at: i64::MAX,
        }
    }

    fn key() -> RecordKey {
        RecordKey::singleton(caller().organization, CredentialKind::WarehouseConnection)
    }

    fn postgres(password: &str) -> NewCredential {
        let mut input = CredentialInput::new(Provider::Postgres);
        input
            .set("host", "db")
            .set("port", 5432u16)
            .set_secret("password", SecretString::from(password.to_owned()));
        NewCredential {
            kind: CredentialKind::WarehouseConnection,
            input,
            attributes: Settings::new(),
        }
    }

    fn service() -> CredentialService<MemoryRepository, MemoryVault> {
        CredentialService::new(MemoryRepository::default(), MemoryVault::default())
    }

    #[tokio::test]
    async fn given_no_connection_when_replacing_then_one_is_stored_with_its_secret() {
        let service = service();
        let record = service
            .replace(&caller(), key(), postgres("first"))
            .await
            .expect("stored");
        assert_eq!(record.version, 1);
        assert!(record.secret.0.contains(":org_a/warehouse-connection/"));
        assert!(!format!("{record:?}").contains("first"));
        let document = service.secret_document(&record).await.expect("readable");
        assert!(document.expose_secret().contains("\"password\":\"first\""));
    }

    #[tokio::test]
    async fn given_a_connection_when_replacing_then_the_old_secret_is_retired() {
        let service = service();
        let first = service
            .replace(&caller(), key(), postgres("first"))
            .await
            .expect("1");
        let second = service
            .replace(&caller(), key(), postgres("second"))
            .await
            .expect("2");
        assert_eq!(second.version, 2);
        assert_ne!(first.id, second.id);
        assert_eq!(
            *service.vault.retired.lock().expect("lock"),
            vec![first.secret.0]
        );
        assert_eq!(service.vault.live.lock().expect("lock").len(), 1);
    }

    #[tokio::test]
    async fn given_a_lost_race_when_replacing_then_conflict_and_no_orphan_secret() {
        let service = service();
        *service.repository.lose_next_race.lock().expect("lock") = true;
        let result = service.replace(&caller(), key(), postgres("loser")).await;
        assert!(matches!(result, Err(Error::Conflict(_))), "{result:?}");
        assert!(service.vault.live.lock().expect("lock").is_empty());
        assert!(service.get(&key()).await.expect("readable").is_none());
    }

    #[tokio::test]
    async fn given_the_vault_is_down_when_replacing_then_nothing_is_written() {
        let service = CredentialService::new(
            MemoryRepository::default(),
            MemoryVault {
                unavailable: true,
                ..MemoryVault::default()
            },
        );
        let result = service.replace(&caller(), key(), postgres("x")).await;
        assert!(matches!(
            result,
            Err(Error::Unavailable {
                dependency: Dependency::SecretVault,
                ..
            })
        ));
        assert!(service.get(&key()).await.expect("readable").is_none());
    }

    #[tokio::test]
    async fn given_a_credential_when_updating_then_same_id_and_secret_new_version() {
        let service = service();
        let id = CredentialId::generate();
        let key = RecordKey::item(caller().organization, CredentialKind::GenericCredential, id);
        let created = service
            .create(&caller(), key.clone(), id, postgres("kept"))
            .await
            .expect("created");
        let mut input = CredentialInput::new(Provider::Postgres);
        input.set("host", "elsewhere");
        let updated = service
            .update(
                &created,
                CredentialChange {
                    input,
                    attributes: Settings::new(),
                    keep_missing_secrets: true,
                },
            )
            .await
            .expect("updated");
        assert_eq!((updated.id, updated.version), (created.id, 2));
        assert_eq!(updated.secret, created.secret);
        assert_eq!(updated.created_at, created.created_at);
        let document = service.secret_document(&updated).await.expect("readable");
        assert!(document.expose_secret().contains("elsewhere"));
        assert!(document.expose_secret().contains("\"password\":\"kept\""));
    }

    #[tokio::test]
    async fn given_a_lost_race_when_updating_then_conflict_and_the_secret_is_unchanged() {
        let service = service();
        let id = CredentialId::generate();
        let key = RecordKey::item(caller().organization, CredentialKind::GenericCredential, id);
        let created = service
            .create(&caller(), key.clone(), id, postgres("before"))
            .await
            .expect("created");
        *service.repository.lose_next_race.lock().expect("lock") = true;
        let change = CredentialChange {
            input: postgres("after").input,
            attributes: Settings::new(),
            keep_missing_secrets: false,
        };
        assert!(matches!(
            service.update(&created, change).await,
            Err(Error::Conflict(_))
        ));
        let document = service.secret_document(&created).await.expect("readable");
        assert!(document.expose_secret().contains("before"));
    }

    #[tokio::test]
    async fn given_a_stale_read_when_updating_from_it_then_conflict_and_nothing_changes() {
        let service = service();
        let id = CredentialId::generate();
        let key = RecordKey::item(caller().organization, CredentialKind::GenericCredential, id);
        let stale = service
            .create(&caller(), key.clone(), id, postgres("first"))
            .await
            .expect("created");
        let change = |password: &str| CredentialChange {
            input: postgres(password).input,
            attributes: Settings::new(),
            keep_missing_secrets: false,
        };
        let newer = service
            .update(&stale, change("second"))
            .await
            .expect("updated");
        assert!(matches!(
            service.update(&stale, change("third")).await,
            Err(Error::Conflict(_))
        ));
        let document = service.secret_document(&newer).await.expect("readable");
        assert!(document.expose_secret().contains("second"));
        assert_eq!(service.get(&key).await.expect("readable"), Some(newer));
    }

    #[tokio::test]
    async fn given_a_change_of_attributes_only_then_the_secret_is_not_touched() {
        let service = service();
        let id = CredentialId::generate();
        let key = RecordKey::item(caller().organization, CredentialKind::GenericCredential, id);
        let created = service
            .create(&caller(), key.clone(), id, postgres("kept"))
            .await
            .expect("created");
        let mut input = CredentialInput::new(Provider::Postgres);
        input.set("host", "db").set("port", 5432u16);
        let mut attributes = Settings::new();
        attributes.insert("name".into(), "renamed".into());
        let updated = service
            .update(
                &created,
                CredentialChange {
                    input,
                    attributes: attributes.clone(),
                    keep_missing_secrets: true,
                },
            )
            .await
            .expect("updated");
        assert_eq!((updated.version, &updated.attributes), (2, &attributes));
        let current = service
            .vault
            .read_current(&created.secret)
            .await
            .expect("readable");
        assert_eq!(current.version_id, id.to_string(), "no new secret version");
        assert!(matches!(
            service.update_attributes(&created, Settings::new()).await,
            Err(Error::Conflict(_))
        ));
        let document = service.secret_document(&updated).await.expect("readable");
        assert!(document.expose_secret().contains("\"password\":\"kept\""));
    }

    #[tokio::test]
    async fn given_a_change_written_but_not_yet_current_then_the_next_builds_on_it_and_wins() {
        let service = service();
        let id = CredentialId::generate();
        let key = RecordKey::item(caller().organization, CredentialKind::GenericCredential, id);
        let created = service
            .create(&caller(), key.clone(), id, postgres("first"))
            .await
            .expect("created");
        // Change A stages its version and writes its metadata, then stalls before promoting.
        let staged = service
            .vault
            .stage(
                &created.secret,
                &postgres("second").input.secret_document(),
                "change-a",
            )
            .await
            .expect("staged");
        let a = CredentialRecord {
            secret_version: staged,
            version: 2,
            ..created.clone()
        };
        service
            .repository
            .put(&a, Expected::Version(1))
            .await
            .expect("A's metadata");
        // Change B reads A's metadata and keeps the password: A's, not the one still current.
        let mut input = CredentialInput::new(Provider::Postgres);
        input.set("host", "elsewhere");
        let b = service
            .update(
                &a,
                CredentialChange {
                    input,
                    attributes: Settings::new(),
                    keep_missing_secrets: true,
                },
            )
            .await
            .expect("B");
        let document = service.secret_document(&b).await.expect("readable");
        assert!(document.expose_secret().contains("\"password\":\"second\""));
        assert!(document.expose_secret().contains("elsewhere"));
        // A wakes up: it must not put its older version back over B's.
        service
            .make_current(&a, &created.secret_version)
            .await
            .expect("A gives way");
        assert_eq!(
            service
                .vault
                .current_version(&created.secret)
                .await
                .expect("current"),
            b.secret_version
        );
    }

    #[tokio::test]
    async fn listing_stays_inside_the_organization_and_prefix() {
        let service = service();
        let ids: Vec<_> = (0..3).map(|_| CredentialId::generate()).collect();
        for id in &ids {
            let key = RecordKey::item(
                caller().organization,
                CredentialKind::GenericCredential,
                *id,
            );
            service
                .create(&caller(), key, *id, postgres("x"))
                .await
                .expect("created");
        }
        let other = Caller {
            organization: OrgId::parse("org_b").expect("valid"),
            ..caller()
        };
        let id = CredentialId::generate();
        let key = RecordKey::item(
            other.organization.clone(),
            CredentialKind::GenericCredential,
            id,
        );
        service
            .create(&other, key, id, postgres("y"))
            .await
            .expect("created");
        let mine = service
            .list(&caller().organization, "generic-credential#")
            .await
            .expect("listed");
        assert_eq!(mine.len(), 3);
        assert!(mine.iter().all(|r| ids.contains(&r.id)));
    }

    #[tokio::test]
    async fn given_a_connection_when_deleting_then_metadata_and_secret_go() {
        let service = service();
        let record = service
            .replace(&caller(), key(), postgres("x"))
            .await
            .expect("stored");
        service.delete(&key()).await.expect("deleted");
        assert!(service.get(&key()).await.expect("readable").is_none());
        assert_eq!(
            *service.vault.retired.lock().expect("lock"),
            vec![record.secret.0]
        );
        assert!(matches!(service.delete(&key()).await, Err(Error::NotFound)));
    }
}
