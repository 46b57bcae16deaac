//! The sweep against moto, with the real adapters: each crash is left in the stores as a real
//! request leaves it, the sweep runs past the grace period and within it, and what it did is
//! read back through the SDK, with the AWS calls it made counted by operation.
//!
//! Moto dates every version at the moment `ListSecretVersionIds` is called (whole seconds), so
//! a sweep past the grace period runs as of a minute from now. What moto cannot show — AWS's
//! own dates and paging — is checked on a client whose transport is `aws-smithy-mocks`.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use aws_sdk_secretsmanager::Client as Secrets;
use aws_sdk_secretsmanager::config::interceptors::BeforeSerializationInterceptorContextRef;
use aws_sdk_secretsmanager::config::retry::RetryConfig;
use aws_sdk_secretsmanager::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_secretsmanager::operation::list_secret_version_ids::ListSecretVersionIdsOutput;
use aws_sdk_secretsmanager::operation::list_secrets::ListSecretsOutput;
use aws_sdk_secretsmanager::types::{
    FilterNameStringType, SecretListEntry, SecretVersionsListEntry, Tag,
};
use aws_smithy_mocks::{RuleMode, mock, mock_client};
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_types::DateTime;
use credential_model::credential::now;
use credential_model::document::SecretValue;
use credential_model::ports::{CredentialRepository, Expected, NewSecret, SecretVault};
use credential_model::reconcile::{ReconcileReport, SecretInventory, sweep_secrets};
use credential_model::rotation::{CURRENT, PREVIOUS, STAGED};
use credential_model::service::{ORGANIZATION_TAG, RECORD_TAG};
use credential_model::tenancy::Scopes;
use credential_model::{
    Attributes, Caller, CredentialChange, CredentialId, CredentialKind, CredentialRecord,
    CredentialService, Document, NewCredential, OrgId, Provider, RecordKey, SecretRef, UserId,
};
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};
use strongroom_aws::{DynamoRepository, SecretsManagerVault, StoreSettings};
use strongroom_local_stack::testing;
use time::Duration;

/// The AWS calls clients made, by operation (`SecretsManager.ListSecrets`, as the bench's
/// counting proxy names them), one per operation whatever its retries.
#[derive(Debug, Clone, Default)]
struct Calls(Arc<Mutex<BTreeMap<String, usize>>>);

impl Calls {
    /// The calls counted since the last time, and a fresh count.
    fn take(&self) -> BTreeMap<String, usize> {
        std::mem::take(&mut *self.0.lock().expect("lock"))
    }
}

impl Intercept for Calls {
    fn name(&self) -> &'static str {
        "Calls"
    }

    /// The first hook that runs once an operation is configured (it names the operation).
    fn read_before_serialization(
        &self,
        _context: &BeforeSerializationInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if let Some(operation) = cfg.load::<Metadata>() {
            let service = operation.service().replace(' ', "");
            let name = format!("{service}.{}", operation.name());
            *self.0.lock().expect("lock").entry(name).or_default() += 1;
        }
        Ok(())
    }
}

fn counted(calls: &[(&str, usize)]) -> BTreeMap<String, usize> {
    calls
        .iter()
        .map(|(name, n)| ((*name).to_owned(), *n))
        .collect()
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Labelled {
    label: String,
}

impl Attributes for Labelled {
    const KIND: CredentialKind = CredentialKind::GenericCredential;
}

type Store = CredentialService<DynamoRepository, SecretsManagerVault>;

/// A deployment of its own in moto (its table and key, secrets under a prefix of its own),
/// its clients counting their calls.
struct Deployment {
    settings: StoreSettings,
    store: Store,
    calls: Calls,
    /// An uncounted client, to look at what the sweep did.
    secrets: Secrets,
}

async fn deployment() -> Option<Deployment> {
    testing::moto()?;
    let sdk = strongroom_aws::sdk_config().expect("the environment configures AWS");
    let stack = testing::fresh_stack(&sdk).await;
    let settings = StoreSettings::new(&stack.table, &stack.kms_key_arn, &stack.secret_prefix);
    let calls = Calls::default();
    let dynamo = aws_sdk_dynamodb::config::Builder::from(&sdk)
        .interceptor(calls.clone())
        .build();
    let secrets = aws_sdk_secretsmanager::config::Builder::from(&sdk)
        .interceptor(calls.clone())
        .build();
    let store = CredentialService::new(
        DynamoRepository::new(aws_sdk_dynamodb::Client::from_conf(dynamo), &stack.table),
        SecretsManagerVault::new(Secrets::from_conf(secrets), &settings),
    );
    Some(Deployment {
        secrets: Secrets::new(&sdk),
        settings,
        store,
        calls,
    })
}

fn organization() -> OrgId {
    OrgId::parse("org_sweep").expect("an organization")
}

fn document(password: &str) -> Document {
    let mut document = Document::new(Provider::Postgres);
    document.secret("password", SecretValue::text(password));
    document
}

fn key_tags(key: &RecordKey) -> Vec<(String, String)> {
    vec![
        (ORGANIZATION_TAG.into(), key.organization.to_string()),
        (RECORD_TAG.into(), key.slot_tag()),
    ]
}

fn caller() -> Caller {
    Caller {
        organization: organization(),
        user: UserId::parse("user_a").expect("a user"),
        scopes: Scopes::all(),
        expires_at: i64::MAX,
        origin: Default::default(),
    }
}

/// A grace period no test outlives.
const LONG: Duration = Duration::days(365);

impl Deployment {
    async fn created(&self) -> CredentialRecord<Labelled> {
        let caller = caller();
        let id = CredentialId::generate();
        let key = RecordKey::item(organization(), CredentialKind::GenericCredential, id);
        let new = NewCredential {
            document: document("first"),
            attributes: Labelled { label: "l".into() },
            expires_at: None,
        };
        self.store
            .create(&caller, key, id, new)
            .await
            .expect("created")
    }

    /// A secret created through the vault of `settings`, tagged `tags`, with no record.
    async fn secret(&self, settings: &StoreSettings, tags: Vec<(String, String)>) -> SecretRef {
        let vault = SecretsManagerVault::new(self.secrets.clone(), settings);
        let id = CredentialId::generate();
        vault
            .create(NewSecret {
                name: format!("{}/generic-credential/{id}", organization()),
                description: "test".into(),
                document: &document("orphan").render(),
                tags,
                idempotency_token: id.to_string(),
            })
            .await
            .expect("created")
            .secret
    }

    /// A version of `record`'s secret staged by a change that died before its metadata write.
    async fn staged(&self, record: &CredentialRecord<Labelled>) -> String {
        self.store
            .vault()
            .stage(
                &record.secret,
                &document("second").render(),
                &CredentialId::generate().to_string(),
            )
            .await
            .expect("staged")
    }

    /// Sweeps with `grace`: as of now for a long one, a minute from now for none (moto dates
    /// versions when they are listed). Returns the report and the calls the sweep made.
    async fn sweep(&self, grace: Duration) -> (ReconcileReport, BTreeMap<String, usize>) {
        let at = if grace.is_zero() {
            now() + Duration::minutes(1)
        } else {
            now()
        };
        self.calls.take();
        let vault = self.store.vault();
        let started = std::time::Instant::now();
        let report = sweep_secrets(self.store.repository(), vault, vault, grace, at).await;
        eprintln!(
            "sweep (grace {grace}): {report:?} in {:?}",
            started.elapsed()
        );
        (report, self.calls.take())
    }

    /// Whether `secret` is scheduled for deletion.
    async fn retired(&self, secret: &SecretRef) -> bool {
        let described = self.secrets.describe_secret().secret_id(&secret.0);
        let described = described.send().await.expect("described");
        described.deleted_date.is_some()
    }

    /// The labels of version `version` of `secret`.
    async fn labels(&self, secret: &SecretRef, version: &str) -> Vec<String> {
        let described = self.secrets.describe_secret().secret_id(&secret.0);
        let described = described.send().await.expect("described");
        let mut stages = described
            .version_ids_to_stages
            .unwrap_or_default()
            .remove(version)
            .unwrap_or_default();
        stages.sort();
        stages
    }

    /// The value labelled `AWSCURRENT`. (Asked by label: moto's default, without one, stays
    /// on the version created first when the label moves.)
    async fn current_document(&self, secret: &SecretRef) -> String {
        let read = self.secrets.get_secret_value().secret_id(&secret.0);
        let read = read.version_stage(CURRENT);
        let read = read.send().await.expect("read");
        read.secret_string.expect("a string")
    }
}

fn report(seen: usize) -> ReconcileReport {
    ReconcileReport {
        seen,
        complete: true,
        ..ReconcileReport::default()
    }
}

#[tokio::test]
async fn secrets_no_metadata_names_are_retired_once_past_the_grace_period() {
    let Some(deployment) = deployment().await else {
        return;
    };
    let kept = deployment.created().await;
    // A create that died before its metadata write.
    let id = CredentialId::generate();
    let never_written = RecordKey::item(organization(), CredentialKind::GenericCredential, id);
    let settings = &deployment.settings;
    let lost = deployment.secret(settings, key_tags(&never_written)).await;
    // A replacement that died before its metadata write: the record names the secret it
    // would have replaced.
    let replacement = deployment.secret(settings, key_tags(&kept.key)).await;
    let untagged = deployment.secret(settings, Vec::new()).await;
    // Another deployment whose prefix starts the same: not this sweep's.
    let other = StoreSettings {
        secret_prefix: format!("{}-other", settings.secret_prefix),
        ..settings.clone()
    };
    let elsewhere = deployment.secret(&other, Vec::new()).await;

    let (within, calls) = deployment.sweep(LONG).await;
    assert_eq!(within, report(4));
    assert_eq!(calls, counted(&[("SecretsManager.ListSecrets", 1)]));
    for secret in [&kept.secret, &lost, &replacement, &untagged, &elsewhere] {
        assert!(!deployment.retired(secret).await, "{secret}");
    }

    let (past, calls) = deployment.sweep(Duration::ZERO).await;
    assert_eq!(
        past,
        ReconcileReport {
            orphans_retired: 2,
            unrecognized: 1,
            ..report(4)
        }
    );
    assert_eq!(
        calls,
        counted(&[
            ("DynamoDB.GetItem", 3),
            ("SecretsManager.DeleteSecret", 2),
            ("SecretsManager.ListSecrets", 1),
        ])
    );
    assert!(deployment.retired(&lost).await);
    assert!(deployment.retired(&replacement).await);
    for secret in [&kept.secret, &untagged, &elsewhere] {
        assert!(!deployment.retired(secret).await, "{secret}");
    }
    assert_eq!(
        deployment.current_document(&kept.secret).await,
        document("first").render().expose_secret()
    );

    // Retired secrets are no longer listed.
    let (again, _) = deployment.sweep(Duration::ZERO).await;
    assert_eq!(
        again,
        ReconcileReport {
            unrecognized: 1,
            ..report(2)
        }
    );
}

#[tokio::test]
async fn a_staged_version_the_metadata_names_is_made_current_once_past_the_grace_period() {
    let Some(deployment) = deployment().await else {
        return;
    };
    // A change that died after its metadata write, before making its version current.
    let record = deployment.created().await;
    let written = CredentialRecord {
        secret_version: deployment.staged(&record).await,
        version: record.version + 1,
        ..record.clone()
    };
    deployment
        .store
        .repository()
        .put(&written, Expected::record(&record))
        .await
        .expect("metadata written");
    // A change that finished: its staged version is current.
    let finished = deployment.created().await;
    let change = CredentialChange {
        document: Some(document("changed")),
        attributes: finished.attributes.clone(),
        expires_at: None,
    };
    let finished = deployment
        .store
        .update(&caller(), &finished, change)
        .await
        .expect("updated");

    let (within, calls) = deployment.sweep(LONG).await;
    assert_eq!(within, report(2));
    assert_eq!(calls, counted(&[("SecretsManager.ListSecrets", 1)]));
    assert_eq!(
        deployment
            .labels(&record.secret, &written.secret_version)
            .await,
        vec![STAGED]
    );

    let (past, calls) = deployment.sweep(Duration::ZERO).await;
    assert_eq!(
        past,
        ReconcileReport {
            versions_promoted: 1,
            ..report(2)
        }
    );
    assert_eq!(
        calls,
        counted(&[
            ("DynamoDB.GetItem", 2),
            ("SecretsManager.ListSecretVersionIds", 1),
            ("SecretsManager.ListSecrets", 1),
            ("SecretsManager.UpdateSecretVersionStage", 1),
        ])
    );
    assert_eq!(
        deployment
            .labels(&record.secret, &written.secret_version)
            .await,
        vec![CURRENT, STAGED]
    );
    assert_eq!(
        deployment
            .labels(&record.secret, &record.secret_version)
            .await,
        vec![PREVIOUS]
    );
    assert_eq!(
        deployment.current_document(&record.secret).await,
        document("second").render().expose_secret()
    );
    assert_eq!(
        deployment
            .labels(&finished.secret, &finished.secret_version)
            .await,
        vec![CURRENT, STAGED]
    );
}

#[tokio::test]
async fn a_staged_version_nobody_names_loses_its_label_once_past_the_grace_period() {
    let Some(deployment) = deployment().await else {
        return;
    };
    let record = deployment.created().await;
    let version = deployment.staged(&record).await;

    let (within, calls) = deployment.sweep(LONG).await;
    assert_eq!(within, report(1));
    assert_eq!(calls, counted(&[("SecretsManager.ListSecrets", 1)]));
    assert_eq!(
        deployment.labels(&record.secret, &version).await,
        vec![STAGED]
    );

    let (past, calls) = deployment.sweep(Duration::ZERO).await;
    assert_eq!(
        past,
        ReconcileReport {
            labels_removed: 1,
            ..report(1)
        }
    );
    assert_eq!(
        calls,
        counted(&[
            ("DynamoDB.GetItem", 1),
            ("SecretsManager.ListSecretVersionIds", 1),
            ("SecretsManager.ListSecrets", 1),
            ("SecretsManager.UpdateSecretVersionStage", 1),
        ])
    );
    assert!(deployment.labels(&record.secret, &version).await.is_empty());
    assert_eq!(
        deployment
            .labels(&record.secret, &record.secret_version)
            .await,
        vec![CURRENT]
    );
    assert_eq!(
        deployment.current_document(&record.secret).await,
        document("first").render().expose_secret()
    );
    assert!(!deployment.retired(&record.secret).await);
}

const ARN: &str = "arn:aws:secretsmanager:us-east-1:123456789012:secret:strongroom/org_a/generic-credential/1-AbCdEf";

fn entry(name: &str, created: f64) -> SecretListEntry {
    SecretListEntry::builder()
        .arn(format!(
            "arn:aws:secretsmanager:us-east-1:123456789012:secret:{name}-AbCdEf"
        ))
        .name(name)
        .created_date(DateTime::from_secs_f64(created))
        .tags(Tag::builder().key(ORGANIZATION_TAG).value("org_a").build())
        .secret_versions_to_stages("v2", vec![STAGED.to_owned()])
        .secret_versions_to_stages("v1", vec![CURRENT.to_owned()])
        .secret_versions_to_stages("v0", Vec::new())
        .build()
}

#[tokio::test]
async fn the_inventory_lists_the_prefix_page_by_page_and_dates_versions_to_the_millisecond() {
    let first = mock!(Secrets::list_secrets)
        .match_requests(|r| {
            let filter = &r.filters()[0];
            r.filters().len() == 1
                && filter.key() == Some(&FilterNameStringType::Name)
                && filter.values() == ["strongroom/"]
                && r.include_planned_deletion() == Some(false)
                && r.max_results() == Some(100)
                && r.next_token().is_none()
        })
        .then_output(|| {
            ListSecretsOutput::builder()
                .secret_list(entry("strongroom/org_a/generic-credential/1", 1.5e9 + 0.25))
                // A name the filter's prefix match lets through that is not under the prefix.
                .secret_list(entry("strongroom-test/org_a/generic-credential/2", 1.5e9))
                .next_token("page-2")
                .build()
        });
    // AWS may answer a page with no secrets and a token; moto, the last with an empty token.
    let second = mock!(Secrets::list_secrets)
        .match_requests(|r| r.next_token() == Some("page-2"))
        .then_output(|| ListSecretsOutput::builder().next_token("").build());
    let dates = |token: Option<&'static str>, next: &'static str| {
        mock!(Secrets::list_secret_version_ids)
            .match_requests(move |r| r.secret_id() == Some(ARN) && r.next_token() == token)
            .then_output(move || {
                ListSecretVersionIdsOutput::builder()
                    .versions(
                        SecretVersionsListEntry::builder()
                            .version_id(if token.is_none() { "v1" } else { "v2" })
                            .created_date(DateTime::from_secs_f64(1.5e9 + 0.125))
                            .build(),
                    )
                    .next_token(next)
                    .build()
            })
    };
    let (dates_first, dates_second) = (dates(None, "more"), dates(Some("more"), ""));
    let client = mock_client!(
        aws_sdk_secretsmanager,
        RuleMode::Sequential,
        [&first, &second, &dates_first, &dates_second],
        |c| c.retry_config(RetryConfig::disabled())
    );
    let settings = StoreSettings::new(
        "table",
        "alias/strongroom",
        StoreSettings::DEFAULT_SECRET_PREFIX,
    );
    let vault = SecretsManagerVault::new(client, &settings);

    let page = vault.list(None).await.expect("listed");
    assert_eq!(page.next.as_deref(), Some("page-2"));
    let [listed] = page.secrets.as_slice() else {
        panic!("one secret under the prefix: {:?}", page.secrets);
    };
    assert_eq!(listed.secret.0, ARN);
    assert_eq!(listed.name, "strongroom/org_a/generic-credential/1");
    assert_eq!(listed.tags, vec![(ORGANIZATION_TAG.into(), "org_a".into())]);
    let created = listed.created_at.expect("dated");
    assert_eq!(
        (created.unix_timestamp(), created.millisecond()),
        (1_500_000_000, 250)
    );
    assert_eq!(listed.deleted_at, None);
    assert_eq!(
        listed.versions,
        vec![
            ("v1".to_owned(), vec![CURRENT.to_owned()]),
            ("v2".to_owned(), vec![STAGED.to_owned()]),
        ]
    );
    let last = vault.list(Some("page-2")).await.expect("listed");
    assert!(last.secrets.is_empty() && last.next.is_none());

    let versions = vault
        .version_dates(&SecretRef(ARN.into()))
        .await
        .expect("dated");
    let ids: Vec<&str> = versions.iter().map(|(id, _)| id.as_str()).collect();
    assert_eq!(ids, ["v1", "v2"]);
    assert_eq!(versions[0].1.millisecond(), 125);
    for rule in [&first, &second, &dates_first, &dates_second] {
        assert_eq!(rule.num_calls(), 1);
    }
}
