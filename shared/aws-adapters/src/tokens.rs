//! API tokens in the credentials table, and their digests from KMS.
//!
//! | access pattern                | operation          | key                                              |
//! |-------------------------------|--------------------|--------------------------------------------------|
//! | a token by id (the authorizer)| GetItem            | `pk = API_TOKEN#{id}`, `sk = api-token`          |
//! | an organization's tokens      | Query + BatchGetItem | `pk = ORG#{org}`, `begins_with(sk, api-token#)` |
//! | issue                         | PutItem ×2         | the entry, then the token if new                 |
//! | revoke                        | DeleteItem ×2      | the token, then the entry                        |
//! | record a use                  | UpdateItem         | condition: no use recorded since the period began |
//!
//! The token's own partition lets the authorizer find it from the token alone; the entry under
//! the organization (keys and `token_id` only) lets the organization list its tokens. The two
//! are written in an order that never leaves a token unlisted: a crash can leave only an entry
//! whose token is gone, which lists nothing. (No transaction: the entry's id is new, so no
//! writer can race it.) Neither
//! has an `id` or a `kind`, so the `ById` index and the event publisher never see them. The
//! token itself is never stored: only its HMAC, which KMS computes with a key that never
//! leaves it.

use std::collections::HashMap;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::{AttributeValue, KeysAndAttributes};
use aws_sdk_kms::types::MacAlgorithmSpec;
use credential_model::api_tokens::{ApiToken, ApiTokenId, TokenMac, TokenStore};
use credential_model::ports::StoreError;
use credential_model::{OrgId, Scopes, UserId};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::dynamodb::{conditional, partition_key, query_prefix, unavailable};

const TOKEN_SORT_KEY: &str = "api-token";
const ENTRY_PREFIX: &str = "api-token#";
/// BatchGetItem reads at most this many keys per call.
const BATCH_GET: usize = 100;

type ItemMap = HashMap<String, AttributeValue>;

#[derive(Clone)]
pub struct DynamoTokenStore {
    client: Client,
    table: String,
}

impl DynamoTokenStore {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        DynamoTokenStore {
            client,
            table: table.into(),
        }
    }
}

#[derive(Serialize, Deserialize)]
struct Item {
    pk: String,
    sk: String,
    token_id: ApiTokenId,
    organization: OrgId,
    user: UserId,
    name: String,
    scopes: String,
    #[serde(with = "time::serde::rfc3339")]
    created_at: OffsetDateTime,
    /// Epoch seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    expires_at: Option<i64>,
    /// Epoch seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    last_used_at: Option<i64>,
}

/// The attribute holding the digest, a DynamoDB binary.
const DIGEST: &str = "digest";

fn token_partition(id: ApiTokenId) -> String {
    format!("API_TOKEN#{id}")
}

fn token_key(id: ApiTokenId) -> ItemMap {
    HashMap::from([
        ("pk".to_owned(), AttributeValue::S(token_partition(id))),
        (
            "sk".to_owned(),
            AttributeValue::S(TOKEN_SORT_KEY.to_owned()),
        ),
    ])
}

fn entry_key(organization: &OrgId, id: ApiTokenId) -> ItemMap {
    HashMap::from([
        (
            "pk".to_owned(),
            AttributeValue::S(partition_key(organization)),
        ),
        (
            "sk".to_owned(),
            AttributeValue::S(format!("{ENTRY_PREFIX}{id}")),
        ),
    ])
}

fn to_item(token: &ApiToken) -> Result<ItemMap, StoreError> {
    let item = Item {
        pk: token_partition(token.id),
        sk: TOKEN_SORT_KEY.to_owned(),
        token_id: token.id,
        organization: token.organization.clone(),
        user: token.user.clone(),
        name: token.name.clone(),
        scopes: token.scopes.to_list(),
        created_at: token.created_at,
        expires_at: token.expires_at.map(OffsetDateTime::unix_timestamp),
        last_used_at: token.last_used_at.map(OffsetDateTime::unix_timestamp),
    };
    let mut item: ItemMap = serde_dynamo::to_item(item)
        .map_err(|e| StoreError::Corrupt(format!("unwritable token: {e}")))?;
    item.insert(
        DIGEST.to_owned(),
        AttributeValue::B(Blob::new(token.digest.clone())),
    );
    Ok(item)
}

fn from_item(mut item: ItemMap) -> Result<ApiToken, StoreError> {
    let corrupt = |problem: String| StoreError::Corrupt(format!("API token item: {problem}"));
    let digest = match item.remove(DIGEST) {
        Some(AttributeValue::B(digest)) => digest.into_inner(),
        _ => return Err(corrupt("no binary digest".into())),
    };
    let read: Item = serde_dynamo::from_item(item).map_err(|e| corrupt(e.to_string()))?;
    let at = |seconds: i64| {
        OffsetDateTime::from_unix_timestamp(seconds).map_err(|e| corrupt(e.to_string()))
    };
    Ok(ApiToken {
        id: read.token_id,
        organization: read.organization,
        user: read.user,
        name: read.name,
        scopes: Scopes::parse_list(&read.scopes),
        created_at: read.created_at,
        expires_at: read.expires_at.map(at).transpose()?,
        last_used_at: read.last_used_at.map(at).transpose()?,
        digest,
    })
}

impl DynamoTokenStore {
    /// The tokens under `keys`, read consistently, in as many batches as it takes.
    async fn get_many(&self, mut keys: Vec<ItemMap>) -> Result<Vec<ApiToken>, StoreError> {
        let mut tokens = Vec::new();
        while !keys.is_empty() {
            let rest = keys.split_off(keys.len().min(BATCH_GET));
            let batch = KeysAndAttributes::builder()
                .set_keys(Some(keys))
                .consistent_read(true)
                .build()
                .map_err(|e| StoreError::Unavailable(e.to_string()))?;
            let output = self
                .client
                .batch_get_item()
                .request_items(&self.table, batch)
                .send()
                .await
                .map_err(unavailable)?;
            let mut found = output.responses.unwrap_or_default();
            for item in found.remove(&self.table).unwrap_or_default() {
                tokens.push(from_item(item)?);
            }
            // What DynamoDB did not get to this time goes round again.
            keys = output
                .unprocessed_keys
                .unwrap_or_default()
                .remove(&self.table)
                .map(|k| k.keys)
                .unwrap_or_default();
            keys.extend(rest);
        }
        Ok(tokens)
    }
}

impl TokenStore for DynamoTokenStore {
    /// The organization's entry first, then the token: a token that exists is always listed
    /// (so it can be revoked), and an entry whose token was never written lists nothing.
    async fn create(&self, token: &ApiToken) -> Result<(), StoreError> {
        let mut entry = entry_key(&token.organization, token.id);
        entry.insert(
            "token_id".to_owned(),
            AttributeValue::S(token.id.to_string()),
        );
        let written = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(entry))
            .send()
            .await;
        written.map_err(unavailable)?;
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(to_item(token)?))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await;
        conditional(result, PutItemError::is_conditional_check_failed_exception)
    }

    async fn get(&self, id: ApiTokenId) -> Result<Option<ApiToken>, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(token_key(id)))
            .consistent_read(true)
            .send()
            .await
            .map_err(unavailable)?;
        output.item.map(from_item).transpose()
    }

    async fn list(&self, organization: &OrgId) -> Result<Vec<ApiToken>, StoreError> {
        let entries = query_prefix(&self.client, &self.table, organization, ENTRY_PREFIX).await?;
        let keys = entries
            .iter()
            .map(|entry| {
                entry
                    .get("token_id")
                    .and_then(|v| v.as_s().ok())
                    .and_then(|id| ApiTokenId::parse(id))
                    .map(token_key)
                    .ok_or_else(|| StoreError::Corrupt("an API token entry without its id".into()))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let tokens = self.get_many(keys).await?;
        // An entry whose token is gone was half of a revocation; the token decides.
        Ok(tokens
            .into_iter()
            .filter(|t| &t.organization == organization)
            .collect())
    }

    /// The token first — from then on it authenticates nobody — then its entry.
    async fn delete(&self, organization: &OrgId, id: ApiTokenId) -> Result<(), StoreError> {
        for key in [token_key(id), entry_key(organization, id)] {
            self.client
                .delete_item()
                .table_name(&self.table)
                .set_key(Some(key))
                .send()
                .await
                .map_err(unavailable)?;
        }
        Ok(())
    }

    async fn record_use(
        &self,
        id: ApiTokenId,
        at: OffsetDateTime,
        unless_since: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(token_key(id)))
            .update_expression("SET last_used_at = :at")
            .condition_expression(
                "attribute_exists(pk) AND (attribute_not_exists(last_used_at) OR last_used_at < :since)",
            )
            .expression_attribute_values(":at", AttributeValue::N(at.unix_timestamp().to_string()))
            .expression_attribute_values(
                ":since",
                AttributeValue::N(unless_since.unix_timestamp().to_string()),
            )
            .send()
            .await;
        match conditional(
            result,
            UpdateItemError::is_conditional_check_failed_exception,
        ) {
            // Another request recorded it first, or the token was just revoked: nothing to do.
            Err(StoreError::ConditionFailed) => Ok(()),
            other => other,
        }
    }
}

/// API tokens' digests: HMAC-SHA-256 under a KMS HMAC key.
#[derive(Clone)]
pub struct KmsTokenMac {
    client: aws_sdk_kms::Client,
    key_id: String,
}

impl KmsTokenMac {
    pub fn new(client: aws_sdk_kms::Client, key_id: impl Into<String>) -> Self {
        KmsTokenMac {
            client,
            key_id: key_id.into(),
        }
    }
}

impl TokenMac for KmsTokenMac {
    async fn digest(&self, message: &[u8]) -> Result<Vec<u8>, String> {
        let output = self
            .client
            .generate_mac()
            .key_id(&self.key_id)
            .mac_algorithm(MacAlgorithmSpec::HmacSha256)
            .message(aws_sdk_kms::primitives::Blob::new(message))
            .send()
            .await
            .map_err(crate::aws_error::describe)?;
        output
            .mac
            .map(aws_sdk_kms::primitives::Blob::into_inner)
            .ok_or_else(|| "KMS returned no MAC".to_owned())
    }

    async fn verify(&self, message: &[u8], digest: &[u8]) -> Result<bool, String> {
        let result = self
            .client
            .verify_mac()
            .key_id(&self.key_id)
            .mac_algorithm(MacAlgorithmSpec::HmacSha256)
            .message(aws_sdk_kms::primitives::Blob::new(message))
            .mac(aws_sdk_kms::primitives::Blob::new(digest))
            .send()
            .await;
        match result {
            Ok(output) => Ok(output.mac_valid),
            // KMS answers a MAC that does not match with an error of its own.
            Err(error)
                if error
                    .as_service_error()
                    .is_some_and(|e| e.is_kms_invalid_mac_exception()) =>
            {
                Ok(false)
            }
            Err(error) => Err(crate::aws_error::describe(error)),
        }
    }
}
