//! Credential metadata in DynamoDB.
//!
//! One table, every item under its tenant:
//!
//! | access pattern                            | operation  | key                                              |
//! |-------------------------------------------|------------|--------------------------------------------------|
//! | an organization's active connection       | GetItem    | `pk = ORG#{org}`, `sk = {kind}#active`           |
//! | one credential                            | GetItem    | `pk = ORG#{org}`, `sk = {kind}#…#{id}`           |
//! | a user's or an organization's credentials | Query      | `pk = ORG#{org}`, `begins_with(sk, {kind}#…)`    |
//! | a credential by its id, any kind          | Query `ById` | `pk = ORG#{org}`, `id = {id}` (keys only)      |
//! | create                                    | PutItem    | condition `attribute_not_exists(pk)`             |
//! | replace, update                           | PutItem    | condition `id = :read_id AND version = :read_version` |
//! | delete                                    | DeleteItem | condition `id = :read_id AND version = :read_version` |
//! | any of these, audited                     | TransactWriteItems | the write above and its audit event (`AUDIT#{org}`, new only) |
//!
//! No `Scan` anywhere. Items are the records as they serialize (`serde_dynamo`), the family's
//! attributes under `attributes`, and hold no secret material: only the secret's ARN. An item
//! that does not read back as the record asked for is refused as corrupt, never guessed at.

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::config::http::HttpResponse;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::delete_item::DeleteItemError;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{AttributeValue, Delete, Put, TransactWriteItem};
use credential_model::audit::AuditEvent;
use credential_model::ports::{CredentialRepository, Expected, StoreError};
use credential_model::rotation::Rotation;
use credential_model::{
    AnyRecord, Attributes, CredentialId, CredentialKind, CredentialRecord, OrgId, Provider,
    RecordKey, SecretRef, UserId,
};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use time::OffsetDateTime;

use crate::aws_error::{self, Outcome, outcome};

/// The table's index of credentials by id (partition `pk`, sort `id`, keys only).
pub const BY_ID_INDEX: &str = "ById";

type ItemMap = HashMap<String, AttributeValue>;

#[derive(Clone)]
pub struct DynamoRepository {
    client: Client,
    table: String,
    /// How long the audit events written with records are kept.
    audit_retention: Duration,
}

impl DynamoRepository {
    /// The repository in `table`, its audit events kept for the default retention.
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        DynamoRepository {
            client,
            table: table.into(),
            audit_retention: crate::config::DEFAULT_AUDIT_RETENTION,
        }
    }

    /// The same, its audit events kept for `retention`.
    pub fn with_audit_retention(self, retention: Duration) -> Self {
        DynamoRepository {
            audit_retention: retention,
            ..self
        }
    }
}

/// A record as its item holds it.
#[derive(Serialize, Deserialize)]
struct Item<A> {
    pk: String,
    sk: String,
    id: CredentialId,
    kind: CredentialKind,
    provider: Provider,
    #[serde(default)]
    settings: Map<String, Value>,
    attributes: A,
    secret_arn: String,
    secret_version: String,
    /// Epoch seconds: what a table TTL and a sparse index read. Absent when it never expires.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    expires_at: Option<i64>,
    #[serde(default, skip_serializing_if = "Rotation::is_empty")]
    rotation: Rotation,
    created_by: UserId,
    #[serde(with = "time::serde::rfc3339")]
    created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    updated_at: OffsetDateTime,
    version: u64,
}

pub(crate) fn partition_key(organization: &OrgId) -> String {
    format!("ORG#{organization}")
}

fn key_attributes(key: &RecordKey) -> ItemMap {
    HashMap::from([
        (
            "pk".to_owned(),
            AttributeValue::S(partition_key(&key.organization)),
        ),
        ("sk".to_owned(), AttributeValue::S(key.slot.clone())),
    ])
}

fn corrupt(item: &ItemMap, problem: impl std::fmt::Display) -> StoreError {
    let sk = item.get("sk").and_then(|v| v.as_s().ok());
    StoreError::Corrupt(format!("item {sk:?}: {problem}"))
}

fn to_item<A: Serialize>(
    kind: CredentialKind,
    record: &CredentialRecord<A>,
) -> Result<ItemMap, StoreError> {
    let item = Item {
        pk: partition_key(&record.key.organization),
        sk: record.key.slot.clone(),
        id: record.id,
        kind,
        provider: record.provider,
        settings: record.settings.clone(),
        attributes: &record.attributes,
        secret_arn: record.secret.0.clone(),
        secret_version: record.secret_version.clone(),
        expires_at: record.expires_at.map(OffsetDateTime::unix_timestamp),
        rotation: record.rotation.clone(),
        created_by: record.created_by.clone(),
        created_at: record.created_at,
        updated_at: record.updated_at,
        version: record.version,
    };
    serde_dynamo::to_item(item).map_err(|e| StoreError::Corrupt(format!("unwritable record: {e}")))
}

/// The record `item` holds, which must be of `organization` and of the kind `A` describes.
fn from_item<A: Attributes>(
    organization: &OrgId,
    item: &ItemMap,
) -> Result<CredentialRecord<A>, StoreError> {
    let (kind, record) = from_any_item(organization, item)?;
    if kind != A::KIND {
        return Err(corrupt(
            item,
            format!("a {kind} where a {} was expected", A::KIND),
        ));
    }
    Ok(record)
}

/// The record `item` holds, of whatever kind, which must be of `organization`.
fn from_any_item<A: DeserializeOwned>(
    organization: &OrgId,
    item: &ItemMap,
) -> Result<(CredentialKind, CredentialRecord<A>), StoreError> {
    let read: Item<A> = serde_dynamo::from_item(item.clone()).map_err(|e| corrupt(item, e))?;
    if read.pk != partition_key(organization) {
        return Err(corrupt(item, "it is filed under another organization"));
    }
    let expires_at = read
        .expires_at
        .map(OffsetDateTime::from_unix_timestamp)
        .transpose()
        .map_err(|e| corrupt(item, e))?;
    let record = CredentialRecord {
        key: RecordKey {
            organization: organization.clone(),
            slot: read.sk,
        },
        id: read.id,
        provider: read.provider,
        settings: read.settings,
        attributes: read.attributes,
        secret: SecretRef(read.secret_arn),
        secret_version: read.secret_version,
        expires_at,
        rotation: read.rotation,
        created_by: read.created_by,
        created_at: read.created_at,
        updated_at: read.updated_at,
        version: read.version,
    };
    Ok((read.kind, record))
}

pub(crate) fn unavailable<E>(error: SdkError<E, HttpResponse>) -> StoreError
where
    E: std::error::Error + Send + Sync + 'static,
{
    StoreError::Unavailable(aws_error::describe(error))
}

/// The outcome of a conditional write: a failed condition is its own answer, not an outage.
pub(crate) fn conditional<O, E>(
    result: Result<O, SdkError<E, HttpResponse>>,
    condition_failed: impl Fn(&E) -> bool,
) -> Result<(), StoreError>
where
    E: std::error::Error + Send + Sync + 'static,
{
    match outcome(result, condition_failed) {
        Outcome::Done => Ok(()),
        Outcome::Expected => Err(StoreError::ConditionFailed),
        Outcome::Failed(detail) => Err(StoreError::Unavailable(detail)),
    }
}

/// The condition and values of a write that expects `expected`.
fn condition(expected: Expected) -> (&'static str, Option<ItemMap>) {
    match expected {
        Expected::Absent => ("attribute_not_exists(pk)", None),
        Expected::Current { id, version } => (
            "id = :expected_id AND version = :expected_version",
            Some(HashMap::from([
                (":expected_id".to_owned(), AttributeValue::S(id.to_string())),
                (
                    ":expected_version".to_owned(),
                    AttributeValue::N(version.to_string()),
                ),
            ])),
        ),
    }
}

/// `write` and the item of `event` in one transaction. The event's id is the request
/// token, so the SDK's retry of a transaction that went through succeeds again instead of
/// finding the record's condition failed by its own write.
pub(crate) async fn transact(
    client: &Client,
    table: &str,
    write: TransactWriteItem,
    event: &AuditEvent,
    retention: Duration,
) -> Result<(), StoreError> {
    let record_event = transact_put(
        table,
        crate::audit::event_item(event, retention)?,
        "attribute_not_exists(pk)",
        None,
    )?;
    let result = client
        .transact_write_items()
        .transact_items(write)
        .transact_items(record_event)
        .client_request_token(event.id.to_string())
        .send()
        .await;
    let Err(error) = result else {
        return Ok(());
    };
    // The record's condition failed, or another transaction was changing it: either way
    // it is not as this write expected.
    let refused = match error.as_service_error() {
        Some(TransactWriteItemsError::TransactionCanceledException(cancelled)) => cancelled
            .cancellation_reasons()
            .iter()
            .filter_map(|reason| reason.code())
            .any(|code| code == "ConditionalCheckFailed" || code == "TransactionConflict"),
        _ => false,
    };
    if refused {
        Err(StoreError::ConditionFailed)
    } else {
        Err(unavailable(error))
    }
}

/// The put of `item` into `table` under `condition`, as one write of a transaction.
pub(crate) fn transact_put(
    table: &str,
    item: ItemMap,
    condition: &str,
    values: Option<ItemMap>,
) -> Result<TransactWriteItem, StoreError> {
    let put = Put::builder()
        .table_name(table)
        .set_item(Some(item))
        .condition_expression(condition)
        .set_expression_attribute_values(values)
        .build()
        .map_err(unbuilt)?;
    Ok(TransactWriteItem::builder().put(put).build())
}

/// The delete of the item under `key` in `table` under `condition`, as one write of a
/// transaction.
pub(crate) fn transact_delete(
    table: &str,
    key: ItemMap,
    condition: &str,
    values: Option<ItemMap>,
) -> Result<TransactWriteItem, StoreError> {
    let delete = Delete::builder()
        .table_name(table)
        .set_key(Some(key))
        .condition_expression(condition)
        .set_expression_attribute_values(values)
        .build()
        .map_err(unbuilt)?;
    Ok(TransactWriteItem::builder().delete(delete).build())
}

/// A write the SDK refused to build: a field it requires was left out.
fn unbuilt(error: aws_sdk_dynamodb::error::BuildError) -> StoreError {
    StoreError::Unavailable(format!("a transaction's write could not be built: {error}"))
}

/// Every item of `organization` whose sort key starts with `prefix`, read consistently, page
/// after page: how records and leases are listed.
pub(crate) async fn query_prefix(
    client: &Client,
    table: &str,
    organization: &OrgId,
    prefix: &str,
) -> Result<Vec<ItemMap>, StoreError> {
    let mut items = Vec::new();
    let mut start = None;
    loop {
        let page = client
            .query()
            .table_name(table)
            .key_condition_expression("pk = :pk AND begins_with(sk, :prefix)")
            .expression_attribute_values(":pk", AttributeValue::S(partition_key(organization)))
            .expression_attribute_values(":prefix", AttributeValue::S(prefix.to_owned()))
            .consistent_read(true)
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(unavailable)?;
        start = page.last_evaluated_key;
        items.extend(page.items.unwrap_or_default());
        if start.is_none() {
            return Ok(items);
        }
    }
}

impl DynamoRepository {
    /// The item under `key`, read consistently.
    async fn get_item(&self, key: &RecordKey) -> Result<Option<ItemMap>, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key_attributes(key)))
            .consistent_read(true)
            .send()
            .await
            .map_err(unavailable)?;
        Ok(output.item)
    }

    /// `write` and `event` in one transaction.
    async fn audited(
        &self,
        write: TransactWriteItem,
        event: &AuditEvent,
    ) -> Result<(), StoreError> {
        transact(
            &self.client,
            &self.table,
            write,
            event,
            self.audit_retention,
        )
        .await
    }

    /// Puts `item` if the record it replaces is what `expected` says.
    async fn put_item(&self, item: ItemMap, expected: Expected) -> Result<(), StoreError> {
        let (condition, values) = condition(expected);
        let request = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression(condition)
            .set_expression_attribute_values(values);
        conditional(
            request.send().await,
            PutItemError::is_conditional_check_failed_exception,
        )
    }
}

impl CredentialRepository for DynamoRepository {
    async fn get<A: Attributes>(
        &self,
        key: &RecordKey,
    ) -> Result<Option<CredentialRecord<A>>, StoreError> {
        self.get_item(key)
            .await?
            .map(|item| from_item(&key.organization, &item))
            .transpose()
    }

    async fn put<A: Attributes>(
        &self,
        record: &CredentialRecord<A>,
        expected: Expected,
    ) -> Result<(), StoreError> {
        self.put_item(to_item(A::KIND, record)?, expected).await
    }

    async fn get_any(&self, key: &RecordKey) -> Result<Option<AnyRecord>, StoreError> {
        let Some(item) = self.get_item(key).await? else {
            return Ok(None);
        };
        let (kind, record) = from_any_item(&key.organization, &item)?;
        Ok(Some(AnyRecord { kind, record }))
    }

    async fn put_any(&self, record: &AnyRecord, expected: Expected) -> Result<(), StoreError> {
        self.put_item(to_item(record.kind, &record.record)?, expected)
            .await
    }

    async fn delete(&self, key: &RecordKey, expected: Expected) -> Result<(), StoreError> {
        let (condition, values) = condition(expected);
        let request = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(key_attributes(key)))
            .condition_expression(condition)
            .set_expression_attribute_values(values);
        conditional(
            request.send().await,
            DeleteItemError::is_conditional_check_failed_exception,
        )
    }

    async fn put_audited<A: Attributes>(
        &self,
        record: &CredentialRecord<A>,
        expected: Expected,
        event: &AuditEvent,
    ) -> Result<(), StoreError> {
        let (condition, values) = condition(expected);
        let write = transact_put(&self.table, to_item(A::KIND, record)?, condition, values)?;
        self.audited(write, event).await
    }

    async fn put_any_audited(
        &self,
        record: &AnyRecord,
        expected: Expected,
        event: &AuditEvent,
    ) -> Result<(), StoreError> {
        let (condition, values) = condition(expected);
        let item = to_item(record.kind, &record.record)?;
        let write = transact_put(&self.table, item, condition, values)?;
        self.audited(write, event).await
    }

    async fn delete_audited(
        &self,
        key: &RecordKey,
        expected: Expected,
        event: &AuditEvent,
    ) -> Result<(), StoreError> {
        let (condition, values) = condition(expected);
        let write = transact_delete(&self.table, key_attributes(key), condition, values)?;
        self.audited(write, event).await
    }

    async fn list<A: Attributes>(
        &self,
        organization: &OrgId,
        slot_prefix: &str,
    ) -> Result<Vec<CredentialRecord<A>>, StoreError> {
        query_prefix(&self.client, &self.table, organization, slot_prefix)
            .await?
            .iter()
            .map(|item| from_item(organization, item))
            .collect()
    }

    async fn locate(
        &self,
        organization: &OrgId,
        id: CredentialId,
    ) -> Result<Option<RecordKey>, StoreError> {
        let output = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(BY_ID_INDEX)
            .key_condition_expression("pk = :pk AND id = :id")
            .expression_attribute_values(":pk", AttributeValue::S(partition_key(organization)))
            .expression_attribute_values(":id", AttributeValue::S(id.to_string()))
            .send()
            .await
            .map_err(unavailable)?;
        let Some(item) = output.items().first() else {
            return Ok(None);
        };
        let slot = item
            .get("sk")
            .and_then(|v| v.as_s().ok())
            .ok_or_else(|| corrupt(item, "the index entry has no sort key"))?;
        Ok(Some(RecordKey {
            organization: organization.clone(),
            slot: slot.clone(),
        }))
    }
}
