//! Secret material in Secrets Manager: one secret per credential, encrypted with the project's
//! KMS key, tagged with its tenant. Readers read the `AWSCURRENT` stage; a change merges from
//! the version its metadata names and moves `AWSCURRENT` with `UpdateSecretVersionStage`, whose
//! `RemoveFromVersionId` makes the move a compare-and-swap. The sweeper lists the deployment's
//! secrets (`ListSecrets`, never a value) and removes staging labels the same way.

use aws_sdk_secretsmanager::Client;
use aws_sdk_secretsmanager::config::http::HttpResponse;
use aws_sdk_secretsmanager::error::SdkError;
use aws_sdk_secretsmanager::operation::delete_secret::DeleteSecretError;
use aws_sdk_secretsmanager::operation::describe_secret::DescribeSecretError;
use aws_sdk_secretsmanager::operation::get_secret_value::GetSecretValueError;
use aws_sdk_secretsmanager::operation::list_secret_version_ids::ListSecretVersionIdsError;
use aws_sdk_secretsmanager::operation::put_secret_value::PutSecretValueError;
use aws_sdk_secretsmanager::operation::tag_resource::TagResourceError;
use aws_sdk_secretsmanager::operation::update_secret_version_stage::UpdateSecretVersionStageError;
use aws_sdk_secretsmanager::types::{Filter, FilterNameStringType, SecretListEntry, Tag};
use aws_smithy_types::DateTime;
use credential_model::SecretRef;
use credential_model::ports::{CreatedSecret, NewSecret, SecretVault};
pub use credential_model::ports::{SecretVersion, VaultError};
use credential_model::reconcile::{ListedSecret, SecretInventory, SecretPage};
use credential_model::rotation::{
    CURRENT, PENDING, PREVIOUS, RotationVault, STAGED, SecretDescription, Selector, StagedValue,
};
use secrecy::{ExposeSecret, SecretString};
use time::OffsetDateTime;

use crate::StoreSettings;
use crate::aws_error::{self, outcome};

#[derive(Clone)]
pub struct SecretsManagerVault {
    client: Client,
    settings: StoreSettings,
}

impl SecretsManagerVault {
    pub fn new(client: Client, settings: &StoreSettings) -> Self {
        SecretsManagerVault {
            client,
            settings: settings.clone(),
        }
    }

    /// The Secrets Manager client, for what else a sandbox asks of the service.
    pub fn client(&self) -> &Client {
        &self.client
    }
}

fn unavailable<E>(error: SdkError<E, HttpResponse>) -> VaultError
where
    E: std::error::Error + Send + Sync + 'static,
{
    VaultError::Unavailable(aws_error::describe(error))
}

/// Secrets Manager's ways of saying a secret is gone: it does not exist
/// (`ResourceNotFoundException`), or it is scheduled for deletion, which every operation on it
/// but restore and delete refuses with `InvalidRequestException`.
trait Gone {
    fn is_gone(&self) -> bool;
}

macro_rules! gone {
    ($($error:ty),*) => {$(
        impl Gone for $error {
            fn is_gone(&self) -> bool {
                self.is_resource_not_found_exception() || self.is_invalid_request_exception()
            }
        }
    )*};
}

gone!(
    GetSecretValueError,
    PutSecretValueError,
    UpdateSecretVersionStageError,
    TagResourceError
);

/// DescribeSecret still describes a secret scheduled for deletion.
impl Gone for DescribeSecretError {
    fn is_gone(&self) -> bool {
        self.is_resource_not_found_exception()
    }
}

/// ListSecretVersionIds has no `InvalidRequestException` to say it.
impl Gone for ListSecretVersionIdsError {
    fn is_gone(&self) -> bool {
        self.is_resource_not_found_exception()
    }
}

/// A failed call on an existing secret: gone, or the vault is unavailable.
fn failed<E>(error: SdkError<E, HttpResponse>) -> VaultError
where
    E: std::error::Error + Gone + Send + Sync + 'static,
{
    if error.as_service_error().is_some_and(Gone::is_gone) {
        VaultError::NotFound
    } else {
        unavailable(error)
    }
}

/// The current value (stage `AWSCURRENT`) of the secret `id` (a name or an ARN).
pub async fn current_value(client: &Client, id: &str) -> Result<SecretVersion, VaultError> {
    read_value(client, id, Version::Stage(CURRENT)).await
}

/// Which version of a secret to read.
enum Version<'a> {
    Stage(&'a str),
    Id(&'a str),
}

async fn read_value(
    client: &Client,
    id: &str,
    version: Version<'_>,
) -> Result<SecretVersion, VaultError> {
    let request = client.get_secret_value().secret_id(id);
    let result = match version {
        Version::Stage(stage) => request.version_stage(stage),
        Version::Id(version_id) => request.version_id(version_id),
    }
    .send()
    .await;
    match result {
        Ok(output) => match (output.secret_string, output.version_id) {
            (Some(document), Some(version_id)) => Ok(SecretVersion {
                document: SecretString::from(document),
                version_id,
                created_at: output
                    .created_date
                    .and_then(|at| std::time::SystemTime::try_from(at).ok()),
                replaced: output
                    .version_stages
                    .unwrap_or_default()
                    .iter()
                    .any(|stage| stage == PREVIOUS),
            }),
            _ => Err(VaultError::Unavailable(
                "the secret has no string value or version".into(),
            )),
        },
        Err(error) => Err(failed(error)),
    }
}

impl SecretVault for SecretsManagerVault {
    async fn create(&self, secret: NewSecret<'_>) -> Result<CreatedSecret, VaultError> {
        let tags = secret
            .tags
            .into_iter()
            .map(|(key, value)| Tag::builder().key(key).value(value).build())
            .collect();
        let output = self
            .client
            .create_secret()
            .name(format!("{}/{}", self.settings.secret_prefix, secret.name))
            .description(secret.description)
            .kms_key_id(&self.settings.kms_key_id)
            .secret_string(secret.document.expose_secret())
            .client_request_token(secret.idempotency_token)
            .set_tags(Some(tags))
            .send()
            .await
            .map_err(unavailable)?;
        match (output.arn, output.version_id) {
            (Some(arn), Some(version_id)) => Ok(CreatedSecret {
                secret: SecretRef(arn),
                version_id,
            }),
            _ => Err(VaultError::Unavailable(
                "CreateSecret returned no ARN or version".into(),
            )),
        }
    }

    async fn read_current(&self, secret: &SecretRef) -> Result<SecretVersion, VaultError> {
        current_value(&self.client, &secret.0).await
    }

    async fn read_version(
        &self,
        secret: &SecretRef,
        version_id: &str,
    ) -> Result<SecretVersion, VaultError> {
        read_value(&self.client, &secret.0, Version::Id(version_id)).await
    }

    async fn stage(
        &self,
        secret: &SecretRef,
        document: &SecretString,
        idempotency_token: &str,
    ) -> Result<String, VaultError> {
        let output = self
            .client
            .put_secret_value()
            .secret_id(&secret.0)
            .secret_string(document.expose_secret())
            .client_request_token(idempotency_token)
            .version_stages(STAGED)
            .send()
            .await
            .map_err(failed)?;
        output
            .version_id
            .ok_or_else(|| VaultError::Unavailable("PutSecretValue returned no version".into()))
    }

    async fn current_version(&self, secret: &SecretRef) -> Result<String, VaultError> {
        let output = self
            .client
            .describe_secret()
            .secret_id(&secret.0)
            .send()
            .await
            .map_err(failed)?;
        output
            .version_ids_to_stages
            .unwrap_or_default()
            .into_iter()
            .find(|(_, stages)| stages.iter().any(|s| s == CURRENT))
            .map(|(version_id, _)| version_id)
            .ok_or_else(|| VaultError::Unavailable("the secret has no current version".into()))
    }

    async fn versions(&self, secret: &SecretRef) -> Result<Vec<(String, Vec<String>)>, VaultError> {
        let output = self
            .client
            .describe_secret()
            .secret_id(&secret.0)
            .send()
            .await
            .map_err(failed)?;
        let mut versions: Vec<(String, Vec<String>)> = output
            .version_ids_to_stages
            .unwrap_or_default()
            .into_iter()
            .collect();
        versions.sort();
        Ok(versions)
    }

    async fn move_current(
        &self,
        secret: &SecretRef,
        to: &str,
        from: &str,
    ) -> Result<bool, VaultError> {
        // `Ok(false)`: `from` does not hold AWSCURRENT (any more): another change moved it.
        RotationVault::move_stage(self, &secret.0, CURRENT, Some(to), Some(from)).await
    }

    async fn tag(&self, secret: &SecretRef, tags: &[(String, String)]) -> Result<(), VaultError> {
        let tags = tags
            .iter()
            .map(|(key, value)| Tag::builder().key(key).value(value).build())
            .collect();
        self.client
            .tag_resource()
            .secret_id(&secret.0)
            .set_tags(Some(tags))
            .send()
            .await
            .map(|_| ())
            .map_err(failed)
    }

    async fn retire(&self, secret: &SecretRef) -> Result<(), VaultError> {
        let result = self
            .client
            .delete_secret()
            .secret_id(&secret.0)
            .recovery_window_in_days(self.settings.recovery_window_days)
            .send()
            .await;
        // Already gone, or already scheduled for deletion: retiring again is a no-op.
        outcome(result, |e| {
            e.is_resource_not_found_exception() || e.is_invalid_request_exception()
        })
        .failure()
        .map_or(Ok(()), |detail| Err(VaultError::Unavailable(detail)))
    }

    async fn discard(&self, secret: &SecretRef) -> Result<(), VaultError> {
        let result = self
            .client
            .delete_secret()
            .secret_id(&secret.0)
            .force_delete_without_recovery(true)
            .send()
            .await;
        outcome(result, DeleteSecretError::is_resource_not_found_exception)
            .failure()
            .map_or(Ok(()), |detail| Err(VaultError::Unavailable(detail)))
    }
}

/// The rotation protocol's calls, on any secret the function's role may reach (the secret an
/// event names, the admin secret it names): ids are names or ARNs, not only Strongroom's refs.
impl RotationVault for SecretsManagerVault {
    async fn describe(&self, secret_id: &str) -> Result<SecretDescription, VaultError> {
        let output = self
            .client
            .describe_secret()
            .secret_id(secret_id)
            .send()
            .await
            .map_err(failed)?;
        let (Some(arn), Some(name)) = (output.arn, output.name) else {
            return Err(VaultError::Unavailable(
                "DescribeSecret returned no ARN or name".into(),
            ));
        };
        Ok(SecretDescription {
            arn,
            name,
            rotation_enabled: output.rotation_enabled.unwrap_or(false),
            versions: output
                .version_ids_to_stages
                .unwrap_or_default()
                .into_iter()
                .collect(),
            tags: output
                .tags
                .unwrap_or_default()
                .into_iter()
                .filter_map(|tag| Some((tag.key?, tag.value?)))
                .collect(),
        })
    }

    async fn value(
        &self,
        secret_id: &str,
        selector: Selector<'_>,
    ) -> Result<Option<StagedValue>, VaultError> {
        let result = self
            .client
            .get_secret_value()
            .secret_id(secret_id)
            .set_version_id(selector.version_id.map(str::to_owned))
            .set_version_stage(selector.stage.map(str::to_owned))
            .send()
            .await;
        let output = match result {
            Ok(output) => output,
            // No such version or label, or a version without a value yet: Secrets Manager says
            // ResourceNotFound; a version that does not hold the label asked for, InvalidRequest.
            Err(error)
                if error.as_service_error().is_some_and(|e| {
                    e.is_resource_not_found_exception() || e.is_invalid_request_exception()
                }) =>
            {
                return Ok(None);
            }
            Err(error) => return Err(unavailable(error)),
        };
        match (
            output.name,
            output.arn,
            output.version_id,
            output.secret_string,
        ) {
            (Some(name), Some(arn), Some(version_id), Some(document)) => Ok(Some(StagedValue {
                name,
                arn,
                version_id,
                stages: output.version_stages.unwrap_or_default(),
                document: SecretString::from(document),
            })),
            (.., None) => Ok(None),
            _ => Err(VaultError::Unavailable(
                "GetSecretValue returned no name, ARN or version".into(),
            )),
        }
    }

    async fn put_pending(
        &self,
        secret_id: &str,
        token: &str,
        document: &SecretString,
    ) -> Result<(), VaultError> {
        self.client
            .put_secret_value()
            .secret_id(secret_id)
            .client_request_token(token)
            .secret_string(document.expose_secret())
            .version_stages(PENDING)
            .send()
            .await
            .map(|_| ())
            .map_err(failed)
    }

    async fn move_stage(
        &self,
        secret_id: &str,
        stage: &str,
        to: Option<&str>,
        from: Option<&str>,
    ) -> Result<bool, VaultError> {
        let result = self
            .client
            .update_secret_version_stage()
            .secret_id(secret_id)
            .version_stage(stage)
            .set_move_to_version_id(to.map(str::to_owned))
            .set_remove_from_version_id(from.map(str::to_owned))
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(error)
                if error
                    .as_service_error()
                    .is_some_and(UpdateSecretVersionStageError::is_invalid_parameter_exception) =>
            {
                Ok(false)
            }
            Err(error) => Err(failed(error)),
        }
    }
}

/// The most secrets `ListSecrets` returns in a page.
const LIST_PAGE: i32 = 100;

fn timestamp(at: Option<DateTime>) -> Option<OffsetDateTime> {
    at.and_then(|at| std::time::SystemTime::try_from(at).ok())
        .map(OffsetDateTime::from)
}

/// A paging token, if there is a next page: moto answers an empty one on the last.
fn next_page(token: Option<String>) -> Option<String> {
    token.filter(|token| !token.is_empty())
}

/// A listed secret under `prefix`; `None` for one elsewhere or without an ARN or name.
fn listed(entry: SecretListEntry, prefix: &str) -> Option<ListedSecret> {
    let (arn, name) = (entry.arn?, entry.name?);
    if !name.starts_with(prefix) {
        return None;
    }
    // Moto lists versions that lost their last label too; AWS leaves those out.
    let mut versions: Vec<(String, Vec<String>)> = entry
        .secret_versions_to_stages
        .unwrap_or_default()
        .into_iter()
        .filter(|(_, stages)| !stages.is_empty())
        .collect();
    versions.sort();
    Some(ListedSecret {
        secret: SecretRef(arn),
        name,
        tags: entry
            .tags
            .unwrap_or_default()
            .into_iter()
            .filter_map(|tag| Some((tag.key?, tag.value?)))
            .collect(),
        created_at: timestamp(entry.created_date),
        deleted_at: timestamp(entry.deleted_date),
        versions,
    })
}

/// The deployment's secrets: those named under its prefix.
impl SecretInventory for SecretsManagerVault {
    async fn list(&self, page: Option<&str>) -> Result<SecretPage, VaultError> {
        // The name filter matches a prefix; the `/` keeps out a deployment whose prefix only
        // starts the same (`strongroom-test/…` for `strongroom`).
        let prefix = format!("{}/", self.settings.secret_prefix);
        let filter = Filter::builder()
            .key(FilterNameStringType::Name)
            .values(&prefix)
            .build();
        let output = self
            .client
            .list_secrets()
            .filters(filter)
            .include_planned_deletion(false)
            .max_results(LIST_PAGE)
            .set_next_token(page.map(str::to_owned))
            .send()
            .await
            .map_err(unavailable)?;
        Ok(SecretPage {
            secrets: output
                .secret_list
                .unwrap_or_default()
                .into_iter()
                .filter_map(|entry| listed(entry, &prefix))
                .collect(),
            next: next_page(output.next_token),
        })
    }

    async fn version_dates(
        &self,
        secret: &SecretRef,
    ) -> Result<Vec<(String, OffsetDateTime)>, VaultError> {
        let mut dates = Vec::new();
        let mut page = None;
        loop {
            let output = self
                .client
                .list_secret_version_ids()
                .secret_id(&secret.0)
                .set_next_token(page)
                .send()
                .await
                .map_err(failed)?;
            dates.extend(
                output
                    .versions
                    .unwrap_or_default()
                    .into_iter()
                    .filter_map(|version| {
                        Some((version.version_id?, timestamp(version.created_date)?))
                    }),
            );
            page = next_page(output.next_token);
            if page.is_none() {
                return Ok(dates);
            }
        }
    }

    async fn unstage(&self, secret: &SecretRef, version_id: &str) -> Result<bool, VaultError> {
        RotationVault::move_stage(self, &secret.0, STAGED, None, Some(version_id)).await
    }
}
