//! Each function's IAM identity against moto enforcing IAM (`make test` starts it so): what the
//! template's policies allow a function is allowed, and what they do not allow is refused.
//! Outside `make test` these skip; in CI (`CI=true`) a moto that does not enforce IAM fails them.

use std::collections::BTreeMap;
use std::fmt::Debug;

use aws_credential_types::Credentials;
use aws_credential_types::provider::SharedCredentialsProvider;
use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::types::{AttributeValue, ProjectionType};
use aws_types::SdkConfig;
use strongroom_local_stack::testing::{self, unique_suffix};
use strongroom_local_stack::{LocalStack, Template, function_identities, template_path};

struct Stack {
    admin: SdkConfig,
    stack: LocalStack,
    /// Each function's configuration, by binary.
    identities: BTreeMap<String, SdkConfig>,
}

impl Stack {
    fn identity(&self, binary: &str) -> &SdkConfig {
        self.identities
            .get(binary)
            .unwrap_or_else(|| panic!("{binary} has an identity"))
    }
}

/// The environment's configuration: `make test` points it at moto's administrator.
async fn admin() -> SdkConfig {
    strongroom_aws::sdk_config().expect("the environment configures AWS")
}

/// A fresh stack and an identity per function, when moto enforces IAM.
async fn enforcing_stack() -> Option<Stack> {
    testing::moto_enforcing_iam()?;
    let admin = admin().await;
    let stack = testing::fresh_stack(&admin).await;
    let template = Template::load(&template_path()).expect("the template loads");
    let identities = function_identities(&admin, &template, &unique_suffix())
        .await
        .expect("every function gets an identity");
    Some(Stack {
        admin,
        stack,
        identities,
    })
}

fn s(value: &str) -> AttributeValue {
    AttributeValue::S(value.to_owned())
}

/// `what` succeeded.
fn allowed<T, E>(what: &str, result: Result<T, SdkError<E>>) -> T
where
    E: std::error::Error + Send + Sync + 'static,
{
    result.unwrap_or_else(|e| panic!("{what} must be allowed: {}", DisplayErrorContext(e)))
}

/// `what` was refused by IAM: 403, AccessDenied. moto answers JSON services' refusals in IAM's
/// XML shape, so the code may only be found in the body.
fn denied<T: Debug, E>(what: &str, result: Result<T, SdkError<E>>)
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let error = match result {
        Ok(answer) => panic!("{what} must be refused, but was answered: {answer:?}"),
        Err(error) => error,
    };
    let response = error.raw_response();
    let status = response.map(|r| r.status().as_u16());
    let body = response
        .and_then(|r| r.body().bytes())
        .map(|b| String::from_utf8_lossy(b).into_owned())
        .unwrap_or_default();
    let access_denied = error.code().is_some_and(|c| c.starts_with("AccessDenied"))
        || body.contains("<Code>AccessDenied</Code>");
    assert!(
        status == Some(403) && access_denied,
        "{what} must be refused with 403 AccessDenied, got {status:?}: {} {body}",
        DisplayErrorContext(&error)
    );
}

#[tokio::test]
async fn levered_get_connection_reads_metadata_and_cannot_write_it() {
    let Some(stack) = enforcing_stack().await else {
        return;
    };
    let table = &stack.stack.table;
    let admin = aws_sdk_dynamodb::Client::new(&stack.admin);
    allowed(
        "the administrator's PutItem",
        admin
            .put_item()
            .table_name(table)
            .item("pk", s("ORG#org_a"))
            .item("sk", s("warehouse-connection#active"))
            .item("id", s("conn_1"))
            .send()
            .await,
    );

    let get = aws_sdk_dynamodb::Client::new(stack.identity("levered-get-connection"));
    let item = allowed(
        "levered-get-connection's GetItem",
        get.get_item()
            .table_name(table)
            .key("pk", s("ORG#org_a"))
            .key("sk", s("warehouse-connection#active"))
            .consistent_read(true)
            .send()
            .await,
    );
    assert_eq!(item.item().and_then(|i| i.get("id")), Some(&s("conn_1")));
    let listed = allowed(
        "levered-get-connection's Query",
        get.query()
            .table_name(table)
            .key_condition_expression("pk = :pk")
            .expression_attribute_values(":pk", s("ORG#org_a"))
            .send()
            .await,
    );
    assert_eq!(listed.count(), 1);
    let by_id = allowed(
        "levered-get-connection's Query of the ById index",
        get.query()
            .table_name(table)
            .index_name("ById")
            .key_condition_expression("pk = :pk AND id = :id")
            .expression_attribute_values(":pk", s("ORG#org_a"))
            .expression_attribute_values(":id", s("conn_1"))
            .send()
            .await,
    );
    assert_eq!(by_id.count(), 1);

    denied(
        "levered-get-connection's PutItem",
        get.put_item()
            .table_name(table)
            .item("pk", s("ORG#org_a"))
            .item("sk", s("warehouse-connection#active"))
            .item("id", s("conn_2"))
            .send()
            .await,
    );
    denied(
        "levered-get-connection's DeleteItem",
        get.delete_item()
            .table_name(table)
            .key("pk", s("ORG#org_a"))
            .key("sk", s("warehouse-connection#active"))
            .send()
            .await,
    );
    let secrets = aws_sdk_secretsmanager::Client::new(stack.identity("levered-get-connection"));
    denied(
        "levered-get-connection's GetSecretValue",
        secrets
            .get_secret_value()
            .secret_id(&stack.stack.token_key_secret)
            .send()
            .await,
    );
}

#[tokio::test]
async fn mielto_update_credential_adds_secret_versions_and_cannot_create_secrets() {
    let Some(stack) = enforcing_stack().await else {
        return;
    };
    let name = format!(
        "{}/org_a/generic-credential/{}",
        stack.stack.secret_prefix,
        unique_suffix()
    );
    let created = allowed(
        "the administrator's CreateSecret",
        aws_sdk_secretsmanager::Client::new(&stack.admin)
            .create_secret()
            .name(&name)
            .kms_key_id(&stack.stack.kms_key_arn)
            .secret_string(r#"{"api_key":"first"}"#)
            .send()
            .await,
    );
    let arn = created.arn().expect("an ARN");

    let update = aws_sdk_secretsmanager::Client::new(stack.identity("mielto-update-credential"));
    allowed(
        "mielto-update-credential's GetSecretValue",
        update.get_secret_value().secret_id(arn).send().await,
    );
    let put = allowed(
        "mielto-update-credential's PutSecretValue",
        update
            .put_secret_value()
            .secret_id(arn)
            .secret_string(r#"{"api_key":"second"}"#)
            .version_stages("AWSPENDING")
            .send()
            .await,
    );
    let current = allowed(
        "mielto-update-credential's DescribeSecret",
        update.describe_secret().secret_id(arn).send().await,
    )
    .version_ids_to_stages()
    .and_then(|v| {
        v.iter()
            .find(|(_, stages)| stages.iter().any(|s| s == "AWSCURRENT"))
            .map(|(id, _)| id.clone())
    })
    .expect("a current version");
    allowed(
        "mielto-update-credential's UpdateSecretVersionStage",
        update
            .update_secret_version_stage()
            .secret_id(arn)
            .version_stage("AWSCURRENT")
            .move_to_version_id(put.version_id().expect("a version"))
            .remove_from_version_id(current)
            .send()
            .await,
    );

    denied(
        "mielto-update-credential's CreateSecret",
        update
            .create_secret()
            .name(format!("{name}-other"))
            .secret_string("{}")
            .send()
            .await,
    );
    denied(
        "mielto-update-credential's DeleteSecret",
        update.delete_secret().secret_id(arn).send().await,
    );
}

#[tokio::test]
async fn the_authorizer_reads_its_signing_key_and_api_tokens_and_may_only_check_macs() {
    let Some(stack) = enforcing_stack().await else {
        return;
    };
    let authorizer = stack.identity("authorizer");
    let key = allowed(
        "the authorizer's GetSecretValue",
        aws_sdk_secretsmanager::Client::new(authorizer)
            .get_secret_value()
            .secret_id(&stack.stack.token_key_secret)
            .send()
            .await,
    );
    assert!(key.secret_string().is_some_and(|k| !k.is_empty()));

    let dynamodb = aws_sdk_dynamodb::Client::new(authorizer);
    allowed(
        "the authorizer's GetItem (an API token by id)",
        dynamodb
            .get_item()
            .table_name(&stack.stack.table)
            .key("pk", s("API_TOKEN#0"))
            .key("sk", s("api-token"))
            .send()
            .await,
    );
    denied(
        "the authorizer's PutItem",
        dynamodb
            .put_item()
            .table_name(&stack.stack.table)
            .item("pk", s("ORG#org_a"))
            .item("sk", s("x"))
            .send()
            .await,
    );
    denied(
        "the authorizer's Query",
        dynamodb
            .query()
            .table_name(&stack.stack.table)
            .key_condition_expression("pk = :pk")
            .expression_attribute_values(":pk", s("ORG#org_a"))
            .send()
            .await,
    );
    let kms = aws_sdk_kms::Client::new(authorizer);
    let message = aws_sdk_kms::primitives::Blob::new("srk_x");
    denied(
        "the authorizer's GenerateMac (it never mints a token)",
        kms.generate_mac()
            .key_id(&stack.stack.token_mac_key_arn)
            .mac_algorithm(aws_sdk_kms::types::MacAlgorithmSpec::HmacSha256)
            .message(message)
            .send()
            .await,
    );
}

/// The enforcement is real: a key moto's IAM does not know is refused outright.
#[tokio::test]
async fn unknown_credentials_are_refused() {
    if testing::moto_enforcing_iam().is_none() {
        return;
    }
    let unknown = admin()
        .await
        .to_builder()
        .credentials_provider(SharedCredentialsProvider::new(Credentials::new(
            "testing", "testing", None, None, "test",
        )))
        .build();
    let error = aws_sdk_dynamodb::Client::new(&unknown)
        .list_tables()
        .send()
        .await
        .expect_err("moto must refuse a key it does not know");
    let status = error.raw_response().map(|r| r.status().as_u16());
    assert_eq!(status, Some(403), "{}", DisplayErrorContext(&error));
}

/// Provisioning creates the template's global secondary indexes (with or without enforcement).
#[tokio::test]
async fn provisioned_tables_have_the_template_indexes() {
    if testing::moto().is_none() {
        return;
    }
    let admin = admin().await;
    let stack = testing::fresh_stack(&admin).await;
    let table = allowed(
        "DescribeTable",
        aws_sdk_dynamodb::Client::new(&admin)
            .describe_table()
            .table_name(&stack.table)
            .send()
            .await,
    )
    .table
    .expect("a table");
    let indexes: Vec<_> = table
        .global_secondary_indexes()
        .iter()
        .map(|index| {
            let keys: Vec<_> = index
                .key_schema()
                .iter()
                .map(|k| {
                    (
                        k.attribute_name().to_owned(),
                        k.key_type().as_str().to_owned(),
                    )
                })
                .collect();
            let projection = index
                .projection()
                .and_then(|p| p.projection_type().cloned());
            (index.index_name().map(str::to_owned), keys, projection)
        })
        .collect();
    assert_eq!(
        indexes,
        [
            (
                Some("ById".to_owned()),
                vec![
                    ("pk".to_owned(), "HASH".to_owned()),
                    ("id".to_owned(), "RANGE".to_owned())
                ],
                Some(ProjectionType::KeysOnly)
            ),
            (
                Some("Due".to_owned()),
                vec![
                    ("due_shard".to_owned(), "HASH".to_owned()),
                    ("due_at".to_owned(), "RANGE".to_owned())
                ],
                Some(ProjectionType::KeysOnly)
            )
        ]
    );
}
