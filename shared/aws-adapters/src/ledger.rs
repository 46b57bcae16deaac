//! The leases of generated logins in the credentials table, beside the records:
//!
//! | access pattern                       | operation | key                                                         |
//! |--------------------------------------|-----------|-------------------------------------------------------------|
//! | one lease                            | GetItem   | `pk = ORG#{org}`, `sk = generated-login#{database}#{login}` |
//! | a database's leases                  | Query     | `pk = ORG#{org}`, `begins_with(sk, generated-login#{database}#)` |
//! | leases due (the sweeper)             | Query `Due` | `due_shard = due#{0..7}`, `due_at <= now` (keys only)     |
//! | issue                                | PutItem   | condition `attribute_not_exists(pk)`                        |
//! | change, revoke                       | PutItem, DeleteItem | condition `version = :read_version`               |
//! | issue, shorten, revoke, audited      | TransactWriteItems | the write above and its audit event (`AUDIT#{org}`) |
//!
//! `Due` is sparse: only a lease the sweeper must act on has `due_shard` and `due_at`, so the
//! sweeper reads what is due and nothing else, never a scan. Its partition is spread over
//! [`DUE_SHARDS`] values so issuing thousands of logins a second never heats one partition of
//! the index. A lease has no `id` and no `kind`: the `ById` index and the event publisher,
//! which read credential records, never see one. No password is ever in an item.

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::types::{AttributeValue, TransactWriteItem};
use credential_model::audit::AuditEvent;
use credential_model::generated::{Lease, LeaseKey, LeaseScope, LeaseState, LoginLedger};
use credential_model::ports::StoreError;
use credential_model::{OrgId, UserId};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::dynamodb::{
    conditional, partition_key, query_prefix, transact, transact_delete, transact_put, unavailable,
};

/// The table's sparse index of leases by when the sweeper must act on them.
pub const DUE_INDEX: &str = "Due";
/// How many partitions the `Due` index spreads leases over.
pub const DUE_SHARDS: u32 = 8;

const SLOT_PREFIX: &str = "generated-login#";

type ItemMap = HashMap<String, AttributeValue>;

#[derive(Clone)]
pub struct DynamoLedger {
    client: Client,
    table: String,
    /// How long the audit events written with leases are kept.
    audit_retention: Duration,
}

impl DynamoLedger {
    /// The ledger in `table`, its audit events kept for the default retention.
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        DynamoLedger {
            client,
            table: table.into(),
            audit_retention: crate::config::DEFAULT_AUDIT_RETENTION,
        }
    }

    /// The same, its audit events kept for `retention`.
    pub fn with_audit_retention(self, retention: Duration) -> Self {
        DynamoLedger {
            audit_retention: retention,
            ..self
        }
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
}

#[derive(Serialize, Deserialize)]
struct Item {
    pk: String,
    sk: String,
    login: String,
    database: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    tenant: Option<String>,
    internal: bool,
    created_by: UserId,
    #[serde(with = "time::serde::rfc3339")]
    created_at: OffsetDateTime,
    /// Epoch seconds.
    expires_at: i64,
    state: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    due_shard: Option<String>,
    /// Epoch seconds; present only while the sweeper must act.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    due_at: Option<i64>,
    #[serde(default)]
    failures: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    last_failure: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    rotation_reason: Option<String>,
    version: u64,
}

fn database_prefix(database: &str) -> String {
    format!("{SLOT_PREFIX}{database}#")
}

fn slot(key: &LeaseKey) -> String {
    format!("{}{}", database_prefix(&key.database), key.login)
}

/// The `Due` partition of a login: a stable hash of its name.
fn shard(login: &str) -> String {
    let hash = login.bytes().fold(0u32, |hash, byte| {
        hash.wrapping_mul(31).wrapping_add(u32::from(byte))
    });
    shard_name(hash % DUE_SHARDS)
}

fn shard_name(shard: u32) -> String {
    format!("due#{shard}")
}

/// The values of the condition `version = :version`.
fn version_value(version: u64) -> ItemMap {
    HashMap::from([(
        ":version".to_owned(),
        AttributeValue::N(version.to_string()),
    )])
}

fn key_attributes(key: &LeaseKey) -> ItemMap {
    HashMap::from([
        (
            "pk".to_owned(),
            AttributeValue::S(partition_key(&key.organization)),
        ),
        ("sk".to_owned(), AttributeValue::S(slot(key))),
    ])
}

fn to_item(lease: &Lease) -> Result<ItemMap, StoreError> {
    let key = lease.key();
    let item = Item {
        pk: partition_key(&lease.organization),
        sk: slot(&key),
        login: lease.login.clone(),
        database: lease.database.clone(),
        tenant: lease.scope.tenant.clone(),
        internal: lease.scope.internal,
        created_by: lease.created_by.clone(),
        created_at: lease.created_at,
        expires_at: lease.expires_at.unix_timestamp(),
        state: lease.state.to_string(),
        due_shard: lease.due_at.map(|_| shard(&lease.login)),
        due_at: lease.due_at.map(OffsetDateTime::unix_timestamp),
        failures: lease.failures,
        last_failure: lease.last_failure.clone(),
        rotation_reason: lease.rotation_reason.clone(),
        version: lease.version,
    };
    serde_dynamo::to_item(item).map_err(|e| StoreError::Corrupt(format!("unwritable lease: {e}")))
}

fn corrupt(item: &ItemMap, problem: impl std::fmt::Display) -> StoreError {
    let sk = item.get("sk").and_then(|v| v.as_s().ok());
    StoreError::Corrupt(format!("lease {sk:?}: {problem}"))
}

fn from_item(organization: &OrgId, item: &ItemMap) -> Result<Lease, StoreError> {
    let read: Item = serde_dynamo::from_item(item.clone()).map_err(|e| corrupt(item, e))?;
    if read.pk != partition_key(organization) {
        return Err(corrupt(item, "it is filed under another organization"));
    }
    let at =
        |seconds: i64| OffsetDateTime::from_unix_timestamp(seconds).map_err(|e| corrupt(item, e));
    Ok(Lease {
        organization: organization.clone(),
        database: read.database,
        login: read.login,
        scope: LeaseScope {
            tenant: read.tenant,
            internal: read.internal,
        },
        created_by: read.created_by,
        created_at: read.created_at,
        expires_at: at(read.expires_at)?,
        state: read
            .state
            .parse::<LeaseState>()
            .map_err(|e| corrupt(item, e))?,
        due_at: read.due_at.map(at).transpose()?,
        failures: read.failures,
        last_failure: read.last_failure,
        rotation_reason: read.rotation_reason,
        version: read.version,
    })
}

impl LoginLedger for DynamoLedger {
    async fn put(
        &self,
        lease: &Lease,
        expected: Option<u64>,
        event: Option<&AuditEvent>,
    ) -> Result<(), StoreError> {
        let (condition, version) = match expected {
            None => ("attribute_not_exists(pk)", None),
            Some(version) => ("version = :version", Some(version_value(version))),
        };
        let item = to_item(lease)?;
        if let Some(event) = event {
            let write = transact_put(&self.table, item, condition, version)?;
            return self.audited(write, event).await;
        }
        let request = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression(condition)
            .set_expression_attribute_values(version);
        conditional(
            request.send().await,
            PutItemError::is_conditional_check_failed_exception,
        )
    }

    async fn get(&self, key: &LeaseKey) -> Result<Option<Lease>, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key_attributes(key)))
            .consistent_read(true)
            .send()
            .await
            .map_err(unavailable)?;
        output
            .item
            .map(|item| from_item(&key.organization, &item))
            .transpose()
    }

    async fn delete(&self, lease: &Lease, event: &AuditEvent) -> Result<(), StoreError> {
        let write = transact_delete(
            &self.table,
            key_attributes(&lease.key()),
            "version = :version",
            Some(version_value(lease.version)),
        )?;
        self.audited(write, event).await
    }

    async fn list(&self, organization: &OrgId, database: &str) -> Result<Vec<Lease>, StoreError> {
        query_prefix(
            &self.client,
            &self.table,
            organization,
            &database_prefix(database),
        )
        .await?
        .iter()
        .map(|item| from_item(organization, item))
        .collect()
    }

    async fn due(&self, now: OffsetDateTime, limit: usize) -> Result<Vec<LeaseKey>, StoreError> {
        let mut due: Vec<(i64, LeaseKey)> = Vec::new();
        for shard in 0..DUE_SHARDS {
            let mut start = None;
            loop {
                let page = self
                    .client
                    .query()
                    .table_name(&self.table)
                    .index_name(DUE_INDEX)
                    .key_condition_expression("due_shard = :shard AND due_at <= :now")
                    .expression_attribute_values(":shard", AttributeValue::S(shard_name(shard)))
                    .expression_attribute_values(
                        ":now",
                        AttributeValue::N(now.unix_timestamp().to_string()),
                    )
                    .limit(i32::try_from(limit).unwrap_or(i32::MAX).max(1))
                    .set_exclusive_start_key(start)
                    .send()
                    .await
                    .map_err(unavailable)?;
                for item in page.items() {
                    due.push(due_key(item)?);
                }
                start = page.last_evaluated_key;
                if start.is_none() || due.len() >= limit * DUE_SHARDS as usize {
                    break;
                }
            }
        }
        due.sort_by_key(|(at, _)| *at);
        Ok(due.into_iter().take(limit).map(|(_, key)| key).collect())
    }
}

/// A `Due` index entry: when it is due, and the lease it points at.
fn due_key(item: &ItemMap) -> Result<(i64, LeaseKey), StoreError> {
    let text = |name: &str| {
        item.get(name)
            .and_then(|v| v.as_s().ok())
            .ok_or_else(|| corrupt(item, format!("the index entry has no {name}")))
    };
    let organization = text("pk")?
        .strip_prefix("ORG#")
        .and_then(OrgId::parse)
        .ok_or_else(|| corrupt(item, "its partition key is not ORG#{organization}"))?;
    let (database, login) = text("sk")?
        .strip_prefix(SLOT_PREFIX)
        .and_then(|rest| rest.split_once('#'))
        .ok_or_else(|| corrupt(item, "its sort key is not a lease's"))?;
    let at = item
        .get("due_at")
        .and_then(|v| v.as_n().ok())
        .and_then(|n| n.parse().ok())
        .ok_or_else(|| corrupt(item, "the index entry has no due_at"))?;
    Ok((
        at,
        LeaseKey {
            organization,
            database: database.to_owned(),
            login: login.to_owned(),
        },
    ))
}
