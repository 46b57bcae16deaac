//! Credential metadata in DynamoDB.
//!
//! One table, every item under its tenant:
//!
//! | access pattern                          | operation | key                                   |
//! |-----------------------------------------|-----------|---------------------------------------|
//! | an organization's active connection     | GetItem   | `pk = ORG#{org}`, `sk = {kind}#active` |
//! | one credential                          | GetItem   | `pk = ORG#{org}`, `sk = {kind}#…#{id}` |
//! | a user's or an organization's credentials | Query   | `pk = ORG#{org}`, `begins_with(sk, {kind}#…)` |
//! | create                                  | PutItem   | condition `attribute_not_exists(pk)`  |
//! | replace                                 | PutItem   | condition `version = :read_version`   |
//! | delete                                  | DeleteItem| condition `version = :read_version`   |
//!
//! No `Scan` anywhere. Items hold no secret material: only the secret's ARN.

use std::collections::HashMap;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::{DisplayErrorContext, SdkError};
use aws_sdk_dynamodb::operation::delete_item::DeleteItemError;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::types::AttributeValue;
use credential_model::credential::{parse_rfc3339, rfc3339};
use credential_model::ports::{CredentialRepository, Expected, StoreError};
use credential_model::{
    CredentialId, CredentialKind, CredentialRecord, OrgId, Provider, RecordKey, SecretRef,
    SettingValue, Settings, UserId,
};
use time::OffsetDateTime;

type Item = HashMap<String, AttributeValue>;

#[derive(Clone)]
pub struct DynamoRepository {
    client: Client,
    table: String,
}

impl DynamoRepository {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        DynamoRepository {
            client,
            table: table.into(),
        }
    }
}

fn partition_key(organization: &OrgId) -> AttributeValue {
    AttributeValue::S(format!("ORG#{organization}"))
}

fn key_attributes(key: &RecordKey) -> Item {
    HashMap::from([
        ("pk".to_owned(), partition_key(&key.organization)),
        ("sk".to_owned(), AttributeValue::S(key.slot.clone())),
    ])
}

fn unavailable<E, R>(error: SdkError<E, R>) -> StoreError
where
    E: std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    StoreError::Unavailable(DisplayErrorContext(error).to_string())
}

/// The outcome of a conditional write: a failed condition is its own answer, not an outage.
fn conditional<O, E, R>(
    result: Result<O, SdkError<E, R>>,
    condition_failed: impl Fn(&E) -> bool,
) -> Result<(), StoreError>
where
    E: std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    match result {
        Ok(_) => Ok(()),
        Err(error) if error.as_service_error().is_some_and(&condition_failed) => {
            Err(StoreError::ConditionFailed)
        }
        Err(error) => Err(unavailable(error)),
    }
}

fn settings_attribute(settings: &Settings) -> AttributeValue {
    AttributeValue::M(
        settings
            .iter()
            .map(|(name, value)| {
                let value = match value {
                    SettingValue::Text(s) => AttributeValue::S(s.clone()),
                    SettingValue::Integer(n) => AttributeValue::N(n.to_string()),
                    SettingValue::Flag(b) => AttributeValue::Bool(*b),
                };
                (name.clone(), value)
            })
            .collect(),
    )
}

fn to_item(record: &CredentialRecord) -> Item {
    let mut item = key_attributes(&record.key);
    let text = |s: String| AttributeValue::S(s);
    item.extend([
        ("id".to_owned(), text(record.id.to_string())),
        ("kind".to_owned(), text(record.kind.to_string())),
        ("provider".to_owned(), text(record.provider.to_string())),
        ("settings".to_owned(), settings_attribute(&record.settings)),
        (
            "attributes".to_owned(),
            settings_attribute(&record.attributes),
        ),
        ("secret_arn".to_owned(), text(record.secret.0.clone())),
        (
            "secret_version".to_owned(),
            text(record.secret_version.clone()),
        ),
        ("created_by".to_owned(), text(record.created_by.to_string())),
        ("created_at".to_owned(), text(rfc3339(record.created_at))),
        ("updated_at".to_owned(), text(rfc3339(record.updated_at))),
        (
            "version".to_owned(),
            AttributeValue::N(record.version.to_string()),
        ),
    ]);
    item
}

/// Reads an item back, refusing anything malformed rather than guessing.
struct ItemReader<'a> {
    item: &'a Item,
}

impl ItemReader<'_> {
    fn corrupt(&self, field: &str, problem: &str) -> StoreError {
        let sk = self.item.get("sk").and_then(|v| v.as_s().ok());
        StoreError::Corrupt(format!("item {sk:?}: {field} {problem}"))
    }

    fn text(&self, field: &str) -> Result<&str, StoreError> {
        self.item
            .get(field)
            .and_then(|v| v.as_s().ok())
            .map(String::as_str)
            .ok_or_else(|| self.corrupt(field, "is missing or not a string"))
    }

    fn parsed<T>(&self, field: &str, parse: impl Fn(&str) -> Option<T>) -> Result<T, StoreError> {
        parse(self.text(field)?).ok_or_else(|| self.corrupt(field, "has an unknown value"))
    }

    fn timestamp(&self, field: &str) -> Result<OffsetDateTime, StoreError> {
        self.parsed(field, parse_rfc3339)
    }

    fn settings(&self, field: &str) -> Result<Settings, StoreError> {
        let Some(map) = self.item.get(field).and_then(|v| v.as_m().ok()) else {
            return Ok(Settings::new());
        };
        map.iter()
            .map(|(name, value)| {
                let value = match value {
                    AttributeValue::S(s) => SettingValue::Text(s.clone()),
                    AttributeValue::Bool(b) => SettingValue::Flag(*b),
                    AttributeValue::N(n) => SettingValue::Integer(
                        n.parse()
                            .map_err(|_| self.corrupt(field, "holds a non-integer number"))?,
                    ),
                    _ => return Err(self.corrupt(field, "holds an unsupported value")),
                };
                Ok((name.clone(), value))
            })
            .collect()
    }

    fn version(&self) -> Result<u64, StoreError> {
        self.item
            .get("version")
            .and_then(|v| v.as_n().ok())
            .and_then(|n| n.parse().ok())
            .ok_or_else(|| self.corrupt("version", "is missing or not a number"))
    }
}

fn from_listed_item(organization: &OrgId, item: &Item) -> Result<CredentialRecord, StoreError> {
    let reader = ItemReader { item };
    let key = RecordKey {
        organization: organization.clone(),
        slot: reader.text("sk")?.to_owned(),
    };
    from_item(&key, item)
}

fn from_item(key: &RecordKey, item: &Item) -> Result<CredentialRecord, StoreError> {
    let reader = ItemReader { item };
    Ok(CredentialRecord {
        key: key.clone(),
        id: reader.parsed("id", CredentialId::parse)?,
        kind: reader.parsed("kind", CredentialKind::parse)?,
        provider: reader.parsed("provider", Provider::parse)?,
        settings: reader.settings("settings")?,
        attributes: reader.settings("attributes")?,
        secret: SecretRef(reader.text("secret_arn")?.to_owned()),
        secret_version: reader.text("secret_version")?.to_owned(),
        created_by: reader.parsed("created_by", UserId::parse)?,
        created_at: reader.timestamp("created_at")?,
        updated_at: reader.timestamp("updated_at")?,
        version: reader.version()?,
    })
}

impl CredentialRepository for DynamoRepository {
    async fn get(&self, key: &RecordKey) -> Result<Option<CredentialRecord>, StoreError> {
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
            .as_ref()
            .map(|item| from_item(key, item))
            .transpose()
    }

    async fn put(&self, record: &CredentialRecord, expected: Expected) -> Result<(), StoreError> {
        let request = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(to_item(record)));
        let request = match expected {
            Expected::Absent => request.condition_expression("attribute_not_exists(pk)"),
            Expected::Version(version) => request
                .condition_expression("version = :expected")
                .expression_attribute_values(":expected", AttributeValue::N(version.to_string())),
        };
        conditional(
            request.send().await,
            PutItemError::is_conditional_check_failed_exception,
        )
    }

    async fn list(
        &self,
        organization: &OrgId,
        slot_prefix: &str,
    ) -> Result<Vec<CredentialRecord>, StoreError> {
        let mut records = Vec::new();
        let mut start = None;
        loop {
            let page = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("pk = :pk AND begins_with(sk, :prefix)")
                .expression_attribute_values(":pk", partition_key(organization))
                .expression_attribute_values(":prefix", AttributeValue::S(slot_prefix.to_owned()))
                .consistent_read(true)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(unavailable)?;
            for item in page.items() {
                records.push(from_listed_item(organization, item)?);
            }
            start = page.last_evaluated_key;
            if start.is_none() {
                return Ok(records);
            }
        }
    }

    async fn delete(&self, key: &RecordKey, version: u64) -> Result<(), StoreError> {
        let result = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(key_attributes(key)))
            .condition_expression("version = :expected")
            .expression_attribute_values(":expected", AttributeValue::N(version.to_string()))
            .send()
            .await;
        conditional(
            result,
            DeleteItemError::is_conditional_check_failed_exception,
        )
    }
}
