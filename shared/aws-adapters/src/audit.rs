//! The audit log in the credentials table.
//!
//! | access pattern              | operation | key                                                   |
//! |-----------------------------|-----------|-------------------------------------------------------|
//! | record an event             | PutItem   | `pk = AUDIT#{org}`, `sk = {epoch µs, 16 digits}#{event id}`, new only |
//! | an organization's events    | Query, newest first | `pk = AUDIT#{org}`, `sk` between the time bounds; other filters as a FilterExpression |
//!
//! Each item carries `expires_at_ttl` (epoch seconds, its time plus the retention period): the
//! table's TTL deletes it then. No item has an `id` or a `kind`, so the `ById` index and the
//! event publisher never see one. The cursor is the last key read, base64url: it is only ever
//! read back under the caller's own organization's partition.

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::types::AttributeValue;
use aws_smithy_types::base64;
use credential_model::audit::{
    Actor, AuditAction, AuditEvent, AuditLog, AuditPage, AuditQuery, AuditQueryError, Service,
};
use credential_model::ports::StoreError;
use credential_model::{CredentialId, OrgId, UserId};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::dynamodb::{conditional, unavailable};

type ItemMap = HashMap<String, AttributeValue>;

/// The attribute the table's TTL reads.
pub const TTL_ATTRIBUTE: &str = "expires_at_ttl";

#[derive(Clone)]
pub struct DynamoAuditLog {
    client: Client,
    table: String,
    retention: Duration,
}

impl DynamoAuditLog {
    /// The log in `table`, each event kept for `retention`.
    pub fn new(client: Client, table: impl Into<String>, retention: Duration) -> Self {
        DynamoAuditLog {
            client,
            table: table.into(),
            retention,
        }
    }
}

#[derive(Serialize, Deserialize)]
struct Item {
    pk: String,
    sk: String,
    event_id: String,
    #[serde(with = "time::serde::rfc3339")]
    at: OffsetDateTime,
    action: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    actor: Option<UserId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    actor_token: Option<String>,
    /// Set instead of `actor` when Strongroom itself acted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    actor_service: Option<String>,
    /// The user or the token: what the `actor` filter matches.
    actors: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    credential_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    subject: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    request_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    source_ip: Option<String>,
    expires_at_ttl: i64,
}

fn partition(organization: &OrgId) -> String {
    format!("AUDIT#{organization}")
}

/// The sort key's time part: microseconds, zero-padded so text order is time order.
fn micros(at: OffsetDateTime) -> String {
    format!("{:016}", at.unix_timestamp_nanos().max(0) / 1_000)
}

fn corrupt(problem: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(format!("audit event: {problem}"))
}

fn from_item(organization: &OrgId, item: ItemMap) -> Result<AuditEvent, StoreError> {
    let read: Item = serde_dynamo::from_item(item).map_err(corrupt)?;
    Ok(AuditEvent {
        id: uuid::Uuid::try_parse(&read.event_id).map_err(corrupt)?,
        organization: organization.clone(),
        at: read.at,
        action: AuditAction::parse(&read.action).ok_or_else(|| corrupt("an unknown action"))?,
        actor: match (read.actor, read.actor_service) {
            (Some(user), None) => Actor::User {
                user,
                token: read.actor_token,
            },
            (None, Some(service)) => Actor::Service(
                service
                    .parse::<Service>()
                    .map_err(|_| corrupt("an unknown service"))?,
            ),
            _ => return Err(corrupt("no single actor")),
        },
        credential: read
            .credential_id
            .map(|id| CredentialId::parse(&id).ok_or_else(|| corrupt("a bad credential id")))
            .transpose()?,
        subject: read.subject,
        request_id: read.request_id,
        source_ip: read.source_ip,
    })
}

/// The cursor of the last key a page read: its sort key, base64url.
fn cursor(last: &ItemMap) -> Option<String> {
    let sk = last.get("sk")?.as_s().ok()?;
    Some(
        base64::encode(sk.as_bytes())
            .replace('+', "-")
            .replace('/', "_"),
    )
}

/// The sort key a cursor names, if it is shaped like one of ours.
fn cursor_key(cursor: &str) -> Option<String> {
    let bytes = base64::decode(cursor.replace('-', "+").replace('_', "/")).ok()?;
    let sk = String::from_utf8(bytes).ok()?;
    let (time, id) = sk.split_once('#')?;
    let well_formed = time.len() == 16
        && time.bytes().all(|b| b.is_ascii_digit())
        && uuid::Uuid::try_parse(id).is_ok();
    well_formed.then_some(sk)
}

/// The item of `event`, deleted by the table's TTL after `retention`.
pub(crate) fn event_item(event: &AuditEvent, retention: Duration) -> Result<ItemMap, StoreError> {
    let retention = i64::try_from(retention.as_secs()).unwrap_or(i64::MAX);
    let (user, token, service) = match &event.actor {
        Actor::User { user, token } => (Some(user.clone()), token.clone(), None),
        Actor::Service(service) => (None, None, Some(<&str>::from(*service).to_owned())),
    };
    let item = Item {
        pk: partition(&event.organization),
        sk: format!("{}#{}", micros(event.at), event.id),
        event_id: event.id.to_string(),
        at: event.at,
        action: event.action.as_str().to_owned(),
        actor: user,
        actor_token: token,
        actor_service: service,
        actors: event.actor.names(),
        credential_id: event.credential.map(|id| id.to_string()),
        subject: event.subject.clone(),
        request_id: event.request_id.clone(),
        source_ip: event.source_ip.clone(),
        expires_at_ttl: event.at.unix_timestamp().saturating_add(retention),
    };
    serde_dynamo::to_item(item).map_err(corrupt)
}

impl AuditLog for DynamoAuditLog {
    async fn record(&self, event: &AuditEvent) -> Result<(), StoreError> {
        let item = event_item(event, self.retention)?;
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await;
        match conditional(result, PutItemError::is_conditional_check_failed_exception) {
            // The event id is new: what is there is this event, written by an attempt whose
            // answer was lost before the SDK retried.
            Err(StoreError::ConditionFailed) => Ok(()),
            other => other,
        }
    }

    async fn query(
        &self,
        organization: &OrgId,
        query: &AuditQuery,
    ) -> Result<AuditPage, AuditQueryError> {
        let start = match &query.cursor {
            None => None,
            Some(cursor) => {
                let sk = cursor_key(cursor).ok_or(AuditQueryError::BadCursor)?;
                Some(HashMap::from([
                    ("pk".to_owned(), AttributeValue::S(partition(organization))),
                    ("sk".to_owned(), AttributeValue::S(sk)),
                ]))
            }
        };
        let low = query.from.map_or_else(|| "0".to_owned(), micros);
        // `~` sorts after every digit and `#`: the whole last microsecond is inside.
        let high = query.to.map_or_else(|| "9".repeat(16), micros) + "~";
        let mut filters = Vec::new();
        let mut values: ItemMap = HashMap::from([
            (":pk".to_owned(), AttributeValue::S(partition(organization))),
            (":low".to_owned(), AttributeValue::S(low)),
            (":high".to_owned(), AttributeValue::S(high)),
        ]);
        if let Some(credential) = query.credential {
            filters.push("credential_id = :credential");
            values.insert(
                ":credential".into(),
                AttributeValue::S(credential.to_string()),
            );
        }
        if let Some(actor) = &query.actor {
            filters.push("contains(actors, :actor)");
            values.insert(":actor".into(), AttributeValue::S(actor.clone()));
        }
        if let Some(action) = query.action {
            filters.push("#action = :action");
            values.insert(":action".into(), AttributeValue::S(action.as_str().into()));
        }
        // A filtered page may come back short: read on until it is full or the log ends.
        let mut events = Vec::new();
        let mut start = start;
        loop {
            let page = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("pk = :pk AND sk BETWEEN :low AND :high")
                .set_filter_expression((!filters.is_empty()).then(|| filters.join(" AND ")))
                .set_expression_attribute_names(
                    query
                        .action
                        .map(|_| HashMap::from([("#action".to_owned(), "action".to_owned())])),
                )
                .set_expression_attribute_values(Some(values.clone()))
                .scan_index_forward(false)
                .limit(
                    i32::try_from(query.limit.saturating_sub(events.len()))
                        .unwrap_or(i32::MAX)
                        .max(1),
                )
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|e| AuditQueryError::Store(unavailable(e)))?;
            for item in page.items.unwrap_or_default() {
                events.push(from_item(organization, item)?);
            }
            start = page.last_evaluated_key;
            if start.is_none() || events.len() >= query.limit {
                let next = start.as_ref().and_then(cursor);
                return Ok(AuditPage { events, next });
            }
        }
    }
}
