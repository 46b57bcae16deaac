//! Creates the template's stateful resources in moto: the table (with the template's key
//! schema, global secondary indexes and stream), the KMS keys (the credentials' and the API
//! tokens' HMAC key), the secret holding the token signing key and the event bus.

use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType, SseSpecification, SseType, StreamSpecification,
    StreamViewType,
};
use aws_types::SdkConfig;
use secrecy::{ExposeSecret, SecretString};

use crate::template::{Template, TemplateError};

/// The logical id of the metadata table in the template.
pub const TABLE_RESOURCE: &str = "CredentialsTable";
/// The logical id of the API tokens' HMAC key in the template.
pub const TOKEN_MAC_KEY_RESOURCE: &str = "TokenMacKey";
/// The logical id of Strongroom's event bus in the template.
pub const EVENT_BUS_RESOURCE: &str = "StrongroomEvents";

/// What was created, by name.
#[derive(Debug, Clone)]
pub struct LocalStack {
    pub table: String,
    pub kms_key_arn: String,
    pub token_key_secret: String,
    /// The table's stream, when the template gives it one.
    pub stream_arn: Option<String>,
    /// The name of the event bus.
    pub event_bus: String,
    /// The KMS HMAC key of API tokens' digests.
    pub token_mac_key_arn: String,
    /// What the stack's credential secrets are named under (`strongroom-{suffix}`): a prefix of
    /// its own, so a sweep of one stack never sees another's secrets in a shared moto.
    pub secret_prefix: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ProvisionError {
    #[error(transparent)]
    Template(#[from] TemplateError),
    #[error("could not create {what} in the local AWS endpoint: {detail}")]
    Aws { what: &'static str, detail: String },
    #[error("IAM user name {name} is longer than IAM's {max} characters: use a shorter suffix")]
    UserNameTooLong { name: String, max: usize },
}

pub(crate) fn aws(what: &'static str) -> impl Fn(String) -> ProvisionError {
    move |detail| ProvisionError::Aws { what, detail }
}

pub(crate) fn sdk_detail<
    E: std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
>(
    error: aws_sdk_dynamodb::error::SdkError<E, R>,
) -> String {
    aws_sdk_dynamodb::error::DisplayErrorContext(error).to_string()
}

/// Creates the stack's resources under names ending in `suffix`.
pub async fn provision(
    sdk: &SdkConfig,
    template: &Template,
    suffix: &str,
    token_signing_key: &SecretString,
) -> Result<LocalStack, ProvisionError> {
    let kms = aws_sdk_kms::Client::new(sdk);
    let key = kms
        .create_key()
        .description(format!("strongroom-{suffix} credentials"))
        .send()
        .await
        .map_err(|e| aws("the KMS key")(sdk_detail(e)))?;
    let kms_key_arn = key
        .key_metadata
        .map(|m| m.arn.unwrap_or(m.key_id))
        .ok_or_else(|| aws("the KMS key")("no key metadata returned".into()))?;
    kms.enable_key_rotation()
        .key_id(&kms_key_arn)
        .send()
        .await
        .map_err(|e| aws("the KMS key rotation")(sdk_detail(e)))?;

    let spec = template.table(TABLE_RESOURCE)?;
    let table = format!("strongroom-{suffix}");
    let mut create = aws_sdk_dynamodb::Client::new(sdk)
        .create_table()
        .table_name(&table)
        .billing_mode(BillingMode::PayPerRequest)
        .sse_specification(
            SseSpecification::builder()
                .enabled(true)
                .sse_type(SseType::Kms)
                .kms_master_key_id(&kms_key_arn)
                .build(),
        );
    for element in key_schema(&spec.key_schema)? {
        create = create.key_schema(element);
    }
    for index in &spec.global_secondary_indexes {
        let projection = Projection::builder()
            .projection_type(ProjectionType::from(index.projection_type.as_str()))
            .set_non_key_attributes(
                (!index.non_key_attributes.is_empty()).then(|| index.non_key_attributes.clone()),
            )
            .build();
        create = create.global_secondary_indexes(
            GlobalSecondaryIndex::builder()
                .index_name(&index.name)
                .set_key_schema(Some(key_schema(&index.key_schema)?))
                .projection(projection)
                .build()
                .map_err(|e| aws("the table's indexes")(e.to_string()))?,
        );
    }
    if let Some(view) = &spec.stream_view_type {
        create = create.stream_specification(
            StreamSpecification::builder()
                .stream_enabled(true)
                .stream_view_type(StreamViewType::from(view.as_str()))
                .build()
                .map_err(|e| aws("the table's stream")(e.to_string()))?,
        );
    }
    for (name, scalar) in &spec.attribute_types {
        create = create.attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name(name)
                .attribute_type(ScalarAttributeType::from(scalar.as_str()))
                .build()
                .map_err(|e| aws("the table")(e.to_string()))?,
        );
    }
    let stream_arn = create
        .send()
        .await
        .map_err(|e| aws("the table")(sdk_detail(e)))?
        .table_description
        .and_then(|table| table.latest_stream_arn);
    if spec.stream_view_type.is_some() && stream_arn.is_none() {
        return Err(aws("the table's stream")("no stream ARN returned".into()));
    }

    template.expect_resource(TOKEN_MAC_KEY_RESOURCE, "AWS::KMS::Key")?;
    let token_mac_key_arn = kms
        .create_key()
        .description(format!("strongroom-{suffix} API token digests"))
        .key_spec(aws_sdk_kms::types::KeySpec::Hmac256)
        .key_usage(aws_sdk_kms::types::KeyUsageType::GenerateVerifyMac)
        .send()
        .await
        .map_err(|e| aws("the API token HMAC key")(sdk_detail(e)))?
        .key_metadata
        .map(|m| m.arn.unwrap_or(m.key_id))
        .ok_or_else(|| aws("the API token HMAC key")("no key metadata returned".into()))?;

    template.expect_resource(EVENT_BUS_RESOURCE, "AWS::Events::EventBus")?;
    let event_bus = format!("strongroom-{suffix}");
    aws_sdk_eventbridge::Client::new(sdk)
        .create_event_bus()
        .name(&event_bus)
        .send()
        .await
        .map_err(|e| aws("the event bus")(sdk_detail(e)))?;

    let token_key_secret = aws_sdk_secretsmanager::Client::new(sdk)
        .create_secret()
        // Outside the credential prefix, as the template's own token key is.
        .name(format!("strongroom-{suffix}-token-signing-key"))
        .kms_key_id(&kms_key_arn)
        .secret_string(token_signing_key.expose_secret())
        .send()
        .await
        .map_err(|e| aws("the token signing key secret")(sdk_detail(e)))?
        .arn
        .ok_or_else(|| aws("the token signing key secret")("no ARN returned".into()))?;

    Ok(LocalStack {
        table,
        kms_key_arn,
        token_key_secret,
        stream_arn,
        event_bus,
        token_mac_key_arn,
        secret_prefix: format!("strongroom-{suffix}"),
    })
}

fn key_schema(pairs: &[(String, String)]) -> Result<Vec<KeySchemaElement>, ProvisionError> {
    pairs
        .iter()
        .map(|(name, key_type)| {
            KeySchemaElement::builder()
                .attribute_name(name)
                .key_type(KeyType::from(key_type.as_str()))
                .build()
                .map_err(|e| aws("the table")(e.to_string()))
        })
        .collect()
}
