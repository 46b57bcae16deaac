//! How the AWS adapters classify what DynamoDB and Secrets Manager answer.
//!
//! The clients are real `aws_sdk_dynamodb` / `aws_sdk_secretsmanager` clients whose transport is
//! `aws-smithy-mocks`. Error answers are given on the wire, as AWS sends them (an HTTP status
//! and a JSON body whose `__type` names the error, or the XML an IAM-enforcing emulator sends),
//! so the SDK parses them exactly as in production and the adapters see what they would see.
//! A few tests also feed the SDK's modeled errors directly (`then_error`).
//!
//! Retries: every client is built with `RetryConfig::disabled()` (one attempt), so a throttled
//! or 5xx answer comes back at once instead of being retried with back-off, and each rule is
//! asserted to have been called exactly once. The production policy (standard retries,
//! 3 attempts, as `sdk_config` sets) is exercised on its own, with a sleeper that returns at
//! once and as many mocked answers as attempts. No network and no sleeps: milliseconds.

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_dynamodb::Client as Dynamo;
use aws_sdk_dynamodb::config::http::HttpResponse;
use aws_sdk_dynamodb::config::retry::RetryConfig;
use aws_sdk_dynamodb::config::{AsyncSleep, SharedAsyncSleep, Sleep};
use aws_sdk_dynamodb::error::ProvideErrorMetadata;
use aws_sdk_dynamodb::operation::delete_item::DeleteItemError;
use aws_sdk_dynamodb::operation::get_item::{GetItemError, GetItemOutput};
use aws_sdk_dynamodb::operation::put_item::{PutItemError, PutItemOutput};
use aws_sdk_dynamodb::operation::query::QueryOutput;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_dynamodb::types::CancellationReason;
use aws_sdk_dynamodb::types::error::TransactionCanceledException;
use aws_sdk_dynamodb::types::error::{
    ConditionalCheckFailedException, ProvisionedThroughputExceededException, RequestLimitExceeded,
    ThrottlingException,
};
use aws_sdk_secretsmanager::Client as Secrets;
use aws_sdk_secretsmanager::operation::create_secret::CreateSecretOutput;
use aws_sdk_secretsmanager::operation::delete_secret::DeleteSecretOutput;
use aws_sdk_secretsmanager::operation::update_secret_version_stage::UpdateSecretVersionStageError;
use aws_sdk_secretsmanager::types::error::InvalidParameterException;
use aws_smithy_mocks::{Rule, RuleMode, mock, mock_client};
use credential_model::credential::now;
use credential_model::document::SecretValue;
use credential_model::ports::{
    CredentialRepository, Expected, NewSecret, SecretVault, StoreError, VaultError,
};
use credential_model::tenancy::Scopes;
use credential_model::{
    Attributes, Caller, CredentialId, CredentialKind, CredentialRecord, CredentialService,
    Dependency, Document, Error, NewCredential, OrgId, Provider, RecordKey, SecretRef, UserId,
};
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use serde_json::json;
use strongroom_aws::{DynamoRepository, SecretsManagerVault, StoreSettings};

const TABLE: &str = "strongroom-credentials";
const KMS_KEY: &str = "alias/strongroom";
const SECRET_ARN: &str = "arn:aws:secretsmanager:us-east-1:123456789012:secret:strongroom/org_a/generic-credential/1-AbCdEf";
/// Values of the requests: none may appear in an error text that goes to the logs.
const LABEL: &str = "label-never-in-logs";
const HOST: &str = "db.never-in-logs.example";
const PASSWORD: &str = "password-never-in-logs";

// ---------------------------------------------------------------------------------------------
// Fixtures
// ---------------------------------------------------------------------------------------------

/// A family's typed attributes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Labelled {
    label: String,
}

impl Attributes for Labelled {
    const KIND: CredentialKind = CredentialKind::GenericCredential;
}

/// Another family's attributes, to read an item as the wrong kind.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Owned {}

impl Attributes for Owned {
    const KIND: CredentialKind = CredentialKind::UserWarehouseCredential;
}

fn org() -> OrgId {
    OrgId::parse("org_a").expect("an organization")
}

fn record(id: CredentialId) -> CredentialRecord<Labelled> {
    CredentialRecord {
        key: RecordKey::item(org(), CredentialKind::GenericCredential, id),
        id,
        provider: Provider::Postgres,
        settings: json!({"host": HOST})
            .as_object()
            .cloned()
            .expect("an object"),
        attributes: Labelled {
            label: LABEL.into(),
        },
        secret: SecretRef(SECRET_ARN.into()),
        secret_version: "v1".into(),
        expires_at: None,
        rotation: Default::default(),
        created_by: UserId::parse("user_a").expect("a user"),
        created_at: now(),
        updated_at: now(),
        version: 3,
    }
}

/// The item `DynamoRepository` stores for a generic credential `id` of `org_a`, by hand.
fn stored_item(id: CredentialId) -> HashMap<String, AttributeValue> {
    let s = |value: &str| AttributeValue::S(value.to_owned());
    HashMap::from([
        ("pk".to_owned(), s("ORG#org_a")),
        ("sk".to_owned(), s(&format!("generic-credential#{id}"))),
        ("id".to_owned(), s(&id.to_string())),
        ("kind".to_owned(), s("generic-credential")),
        ("provider".to_owned(), s("postgres")),
        (
            "settings".to_owned(),
            AttributeValue::M(HashMap::from([
                ("host".to_owned(), s(HOST)),
                ("port".to_owned(), AttributeValue::N("5432".into())),
            ])),
        ),
        (
            "attributes".to_owned(),
            AttributeValue::M(HashMap::from([("label".to_owned(), s(LABEL))])),
        ),
        ("secret_arn".to_owned(), s(SECRET_ARN)),
        ("secret_version".to_owned(), s("v1")),
        ("created_by".to_owned(), s("user_a")),
        ("created_at".to_owned(), s("2026-03-28T14:00:00Z")),
        ("updated_at".to_owned(), s("2026-03-28T14:00:00Z")),
        ("version".to_owned(), AttributeValue::N("3".into())),
    ])
}

fn item_key(id: CredentialId) -> RecordKey {
    RecordKey::item(org(), CredentialKind::GenericCredential, id)
}

/// An error text that goes to the logs: it names no value of the request.
fn assert_names_no_request_value(text: &str) {
    for value in [LABEL, HOST, PASSWORD] {
        assert!(!text.contains(value), "{value:?} leaked into {text:?}");
    }
}

/// An answer on the wire.
type Respond = fn() -> HttpResponse;

/// An AWS JSON-protocol error, as the service sends it: the status, and the error's type in the
/// body's `__type` (the SDK strips the namespace before `#`).
fn json_error(
    status: u16,
    content_type: &'static str,
    error_type: &str,
    message: &str,
) -> HttpResponse {
    let body = json!({"__type": error_type, "message": message}).to_string();
    let mut response = HttpResponse::new(status.try_into().expect("an HTTP status"), body.into());
    response.headers_mut().insert("content-type", content_type);
    response
        .headers_mut()
        .insert("x-amzn-requestid", "0123456789ABCDEF0123456789ABCDEF");
    response
}

fn dynamodb_error(status: u16, error: &str, message: &str) -> HttpResponse {
    json_error(
        status,
        "application/x-amz-json-1.0",
        &format!("com.amazonaws.dynamodb.v20120810#{error}"),
        message,
    )
}

fn secrets_manager_error(status: u16, error: &str, message: &str) -> HttpResponse {
    json_error(status, "application/x-amz-json-1.1", error, message)
}

fn conditional_check_failed() -> HttpResponse {
    dynamodb_error(
        400,
        "ConditionalCheckFailedException",
        "The conditional request failed",
    )
}

fn provisioned_throughput_exceeded() -> HttpResponse {
    dynamodb_error(
        400,
        "ProvisionedThroughputExceededException",
        "The level of configured provisioned throughput for the table was exceeded. \
         Consider increasing your provisioning level with the UpdateTable API.",
    )
}

fn dynamodb_throttling() -> HttpResponse {
    dynamodb_error(
        400,
        "ThrottlingException",
        "Throughput exceeds the current capacity of your table or index.",
    )
}

fn request_limit_exceeded() -> HttpResponse {
    dynamodb_error(
        400,
        "RequestLimitExceeded",
        "Throughput exceeds the current throughput limit for your account.",
    )
}

fn dynamodb_internal_error() -> HttpResponse {
    dynamodb_error(500, "InternalServerError", "Internal server error")
}

/// A 503 from in front of the service: no JSON at all.
fn bare_503() -> HttpResponse {
    let mut response = HttpResponse::new(
        503.try_into().expect("an HTTP status"),
        "Service Unavailable".into(),
    );
    response.headers_mut().insert("content-type", "text/plain");
    response
}

/// A 403 whose body no JSON protocol can parse: what an IAM-enforcing emulator sends for a
/// missing action.
fn access_denied_xml() -> HttpResponse {
    let body = "<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code>\
                <Message>User: arn:aws:sts::123456789012:assumed-role/strongroom/fn is not \
                authorized to perform this action</Message></Error>\
                <RequestId>0123456789ABCDEF</RequestId></ErrorResponse>";
    let mut response = HttpResponse::new(403.try_into().expect("an HTTP status"), body.into());
    response.headers_mut().insert("content-type", "text/xml");
    response
}

fn secret_not_found() -> HttpResponse {
    secrets_manager_error(
        400,
        "ResourceNotFoundException",
        "Secrets Manager can't find the specified secret.",
    )
}

fn secret_scheduled_for_deletion() -> HttpResponse {
    secrets_manager_error(
        400,
        "InvalidRequestException",
        "You can't perform this operation on the secret because it was marked for deletion.",
    )
}

/// `UpdateSecretVersionStage` whose `RemoveFromVersionId` no longer holds the label.
fn awscurrent_not_on_version() -> HttpResponse {
    secrets_manager_error(
        400,
        "InvalidParameterException",
        "The parameter RemoveFromVersionId doesn't match the version that has the staging \
         label AWSCURRENT.",
    )
}

fn secrets_manager_throttling() -> HttpResponse {
    secrets_manager_error(400, "ThrottlingException", "Rate exceeded")
}

fn secrets_manager_internal_error() -> HttpResponse {
    secrets_manager_error(
        500,
        "InternalServiceError",
        "An error occurred on the server side.",
    )
}

/// A repository whose client answers from `rules`, in order, one attempt per call.
fn repository(rules: &[&Rule]) -> DynamoRepository {
    let client = mock_client!(aws_sdk_dynamodb, RuleMode::Sequential, rules, |config| {
        config.retry_config(RetryConfig::disabled())
    });
    DynamoRepository::new(client, TABLE)
}

/// A vault whose client answers from `rules`, in order, one attempt per call.
fn vault(rules: &[&Rule]) -> SecretsManagerVault {
    let client = mock_client!(
        aws_sdk_secretsmanager,
        RuleMode::Sequential,
        rules,
        |config| { config.retry_config(RetryConfig::disabled()) }
    );
    SecretsManagerVault::new(
        client,
        &StoreSettings::new(TABLE, KMS_KEY, StoreSettings::DEFAULT_SECRET_PREFIX),
    )
}

/// A sleeper whose back-off is over at once: the production retry policy without the wait.
#[derive(Debug)]
struct NoBackOff;

impl AsyncSleep for NoBackOff {
    fn sleep(&self, _duration: Duration) -> Sleep {
        Sleep::new(std::future::ready(()))
    }
}

/// A repository whose client retries as `sdk_config` does (standard, 3 attempts).
fn repository_with_production_retries(rules: &[&Rule]) -> DynamoRepository {
    let client = mock_client!(aws_sdk_dynamodb, RuleMode::Sequential, rules, |config| {
        config
            .retry_config(RetryConfig::standard().with_max_attempts(3))
            .sleep_impl(SharedAsyncSleep::new(NoBackOff))
    });
    DynamoRepository::new(client, TABLE)
}

/// One repository call, and the DynamoDB operation behind it.
#[derive(Debug, Clone, Copy)]
enum StoreCall {
    Create,
    Replace,
    Delete,
    Get,
    List,
    Locate,
}

impl StoreCall {
    const ALL: [StoreCall; 6] = [
        StoreCall::Create,
        StoreCall::Replace,
        StoreCall::Delete,
        StoreCall::Get,
        StoreCall::List,
        StoreCall::Locate,
    ];

    fn answering(self, respond: Respond) -> Rule {
        match self {
            StoreCall::Create | StoreCall::Replace => {
                mock!(Dynamo::put_item).then_http_response(respond)
            }
            StoreCall::Delete => mock!(Dynamo::delete_item).then_http_response(respond),
            StoreCall::Get => mock!(Dynamo::get_item).then_http_response(respond),
            StoreCall::List | StoreCall::Locate => mock!(Dynamo::query).then_http_response(respond),
        }
    }

    async fn run(self, repository: &DynamoRepository) -> Result<String, StoreError> {
        let record = record(CredentialId::generate());
        let done = |()| "done".to_owned();
        match self {
            StoreCall::Create => repository.put(&record, Expected::Absent).await.map(done),
            StoreCall::Replace => {
                let read = Expected::Current {
                    id: record.id,
                    version: record.version - 1,
                };
                repository.put(&record, read).await.map(done)
            }
            StoreCall::Delete => repository
                .delete(&record.key, Expected::record(&record))
                .await
                .map(done),
            StoreCall::Get => repository
                .get::<Labelled>(&record.key)
                .await
                .map(|read| format!("{read:?}")),
            StoreCall::List => repository
                .list::<Labelled>(&org(), "generic-credential#")
                .await
                .map(|read| format!("{} records", read.len())),
            StoreCall::Locate => repository
                .locate(&org(), record.id)
                .await
                .map(|key| format!("{key:?}")),
        }
    }
}

/// What the repository makes of `call` answered with `respond`, in exactly one attempt.
async fn store_answering(call: StoreCall, respond: Respond) -> Result<String, StoreError> {
    let rule = call.answering(respond);
    let result = call.run(&repository(&[&rule])).await;
    assert_eq!(rule.num_calls(), 1, "{call:?}: one attempt");
    result
}

/// Asserts `call` answered with `respond` is `Unavailable`, naming `status` and no request value.
async fn assert_store_unavailable(call: StoreCall, respond: Respond, status: u16) {
    match store_answering(call, respond).await {
        Err(StoreError::Unavailable(text)) => {
            assert!(
                text.contains(&format!("(HTTP {status})")),
                "{call:?}: {text}"
            );
            assert_names_no_request_value(&text);
        }
        other => {
            panic!("{call:?} answered with HTTP {status}: expected Unavailable, got {other:?}")
        }
    }
}

/// One vault call, and the Secrets Manager operation behind it.
#[derive(Debug, Clone, Copy)]
enum VaultCall {
    Create,
    ReadCurrent,
    ReadVersion,
    Stage,
    CurrentVersion,
    MoveCurrent,
    Tag,
    Retire,
    Discard,
}

impl VaultCall {
    const ALL: [VaultCall; 9] = [
        VaultCall::Create,
        VaultCall::ReadCurrent,
        VaultCall::ReadVersion,
        VaultCall::Stage,
        VaultCall::CurrentVersion,
        VaultCall::MoveCurrent,
        VaultCall::Tag,
        VaultCall::Retire,
        VaultCall::Discard,
    ];

    fn answering(self, respond: Respond) -> Rule {
        match self {
            VaultCall::Create => mock!(Secrets::create_secret).then_http_response(respond),
            VaultCall::ReadCurrent => mock!(Secrets::get_secret_value)
                .match_requests(|r| r.version_stage() == Some("AWSCURRENT"))
                .then_http_response(respond),
            VaultCall::ReadVersion => mock!(Secrets::get_secret_value)
                .match_requests(|r| r.version_id() == Some("v1"))
                .then_http_response(respond),
            VaultCall::Stage => mock!(Secrets::put_secret_value).then_http_response(respond),
            VaultCall::CurrentVersion => {
                mock!(Secrets::describe_secret).then_http_response(respond)
            }
            VaultCall::MoveCurrent => {
                mock!(Secrets::update_secret_version_stage).then_http_response(respond)
            }
            VaultCall::Tag => mock!(Secrets::tag_resource).then_http_response(respond),
            VaultCall::Retire => mock!(Secrets::delete_secret)
                .match_requests(|r| {
                    r.recovery_window_in_days() == Some(7)
                        && r.force_delete_without_recovery().is_none()
                })
                .then_http_response(respond),
            VaultCall::Discard => mock!(Secrets::delete_secret)
                .match_requests(|r| r.force_delete_without_recovery() == Some(true))
                .then_http_response(respond),
        }
    }

    async fn run(self, vault: &SecretsManagerVault) -> Result<String, VaultError> {
        let secret = SecretRef(SECRET_ARN.into());
        let document = SecretString::from(format!("{{\"password\":\"{PASSWORD}\"}}"));
        let done = |()| "done".to_owned();
        match self {
            VaultCall::Create => vault
                .create(NewSecret {
                    name: "org_a/generic-credential/1".into(),
                    description: "Strongroom generic-credential 1 (postgres)".into(),
                    document: &document,
                    tags: vec![("strongroom:organization".into(), "org_a".into())],
                    idempotency_token: "00000000-0000-4000-8000-000000000001".into(),
                })
                .await
                .map(|created| created.secret.0),
            VaultCall::ReadCurrent => vault.read_current(&secret).await.map(|v| v.version_id),
            VaultCall::ReadVersion => vault
                .read_version(&secret, "v1")
                .await
                .map(|v| v.version_id),
            VaultCall::Stage => vault.stage(&secret, &document, "token").await,
            VaultCall::CurrentVersion => vault.current_version(&secret).await,
            VaultCall::MoveCurrent => vault
                .move_current(&secret, "v2", "v1")
                .await
                .map(|moved| format!("moved: {moved}")),
            VaultCall::Tag => vault
                .tag(&secret, &[("strongroom:provider".into(), "mysql".into())])
                .await
                .map(done),
            VaultCall::Retire => vault.retire(&secret).await.map(done),
            VaultCall::Discard => vault.discard(&secret).await.map(done),
        }
    }
}

/// What the vault makes of `call` answered with `respond`, in exactly one attempt.
async fn vault_answering(call: VaultCall, respond: Respond) -> Result<String, VaultError> {
    let rule = call.answering(respond);
    let result = call.run(&vault(&[&rule])).await;
    assert_eq!(rule.num_calls(), 1, "{call:?}: one attempt");
    result
}

/// Asserts that a secret that does not exist, and one scheduled for deletion, are both
/// `NotFound` to `call`.
async fn assert_gone_is_not_found(call: VaultCall) {
    for (answer, respond) in [
        ("ResourceNotFoundException", secret_not_found as Respond),
        ("InvalidRequestException", secret_scheduled_for_deletion),
    ] {
        let result = vault_answering(call, respond).await;
        assert!(
            matches!(result, Err(VaultError::NotFound)),
            "{call:?} answered {answer}: {result:?}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// The fixtures are what the SDK itself makes of AWS's answers
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn the_mocked_wire_answers_parse_as_the_sdks_own_modeled_errors() {
    let put = |respond: Respond| {
        let rule = mock!(Dynamo::put_item).then_http_response(respond);
        let client = mock_client!(aws_sdk_dynamodb, RuleMode::Sequential, [&rule], |c| c
            .retry_config(RetryConfig::disabled()));
        async move {
            client
                .put_item()
                .table_name(TABLE)
                .send()
                .await
                .expect_err("an error answer")
                .into_service_error()
        }
    };
    assert!(
        put(conditional_check_failed)
            .await
            .is_conditional_check_failed_exception()
    );
    assert!(
        put(provisioned_throughput_exceeded)
            .await
            .is_provisioned_throughput_exceeded_exception()
    );
    assert!(put(dynamodb_throttling).await.is_throttling_exception());
    assert!(
        put(request_limit_exceeded)
            .await
            .is_request_limit_exceeded()
    );
    assert!(
        put(dynamodb_internal_error)
            .await
            .is_internal_server_error()
    );
    // The XML denial is no modeled error: the SDK cannot even read its code.
    let denied = put(access_denied_xml).await;
    assert_eq!(denied.code(), None, "{denied:?}");

    let rule =
        mock!(Secrets::update_secret_version_stage).then_http_response(awscurrent_not_on_version);
    let client = mock_client!(aws_sdk_secretsmanager, RuleMode::Sequential, [&rule], |c| c
        .retry_config(RetryConfig::disabled()));
    let error = client
        .update_secret_version_stage()
        .secret_id(SECRET_ARN)
        .send()
        .await
        .expect_err("an error answer")
        .into_service_error();
    assert!(error.is_invalid_parameter_exception(), "{error:?}");
}

// ---------------------------------------------------------------------------------------------
// DynamoDB: a failed condition is a lost race (409)
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn given_a_taken_key_when_creating_then_the_failed_condition_is_condition_failed() {
    let rule = mock!(Dynamo::put_item)
        .match_requests(|r| {
            r.table_name() == Some(TABLE)
                && r.condition_expression() == Some("attribute_not_exists(pk)")
        })
        .then_http_response(conditional_check_failed);
    let repository = repository(&[&rule]);
    let result = repository
        .put(&record(CredentialId::generate()), Expected::Absent)
        .await;
    assert!(
        matches!(result, Err(StoreError::ConditionFailed)),
        "{result:?}"
    );
    assert_eq!(rule.num_calls(), 1);
}

#[tokio::test]
async fn given_a_record_changed_since_it_was_read_when_replacing_then_condition_failed() {
    let record = record(CredentialId::generate());
    let (id, read_version) = (record.id.to_string(), (record.version - 1).to_string());
    let rule = mock!(Dynamo::put_item)
        .match_requests(move |r| {
            let values = r.expression_attribute_values().expect("values");
            r.condition_expression() == Some("id = :expected_id AND version = :expected_version")
                && values.get(":expected_id") == Some(&AttributeValue::S(id.clone()))
                && values.get(":expected_version") == Some(&AttributeValue::N(read_version.clone()))
        })
        .then_http_response(conditional_check_failed);
    let read = Expected::Current {
        id: record.id,
        version: record.version - 1,
    };
    let result = repository(&[&rule]).put(&record, read).await;
    assert!(
        matches!(result, Err(StoreError::ConditionFailed)),
        "{result:?}"
    );
    assert_eq!(rule.num_calls(), 1);
}

#[tokio::test]
async fn given_a_record_changed_since_it_was_read_when_deleting_then_condition_failed() {
    let record = record(CredentialId::generate());
    let rule = mock!(Dynamo::delete_item)
        .match_requests(|r| {
            r.condition_expression() == Some("id = :expected_id AND version = :expected_version")
        })
        .then_http_response(conditional_check_failed);
    let result = repository(&[&rule])
        .delete(&record.key, Expected::record(&record))
        .await;
    assert!(
        matches!(result, Err(StoreError::ConditionFailed)),
        "{result:?}"
    );
    assert_eq!(rule.num_calls(), 1);
}

#[tokio::test]
async fn given_the_modeled_conditional_check_failure_then_put_and_delete_are_condition_failed() {
    let failed = || {
        ConditionalCheckFailedException::builder()
            .message("The conditional request failed")
            .build()
    };
    let put = mock!(Dynamo::put_item)
        .then_error(move || PutItemError::ConditionalCheckFailedException(failed()));
    let delete = mock!(Dynamo::delete_item)
        .then_error(move || DeleteItemError::ConditionalCheckFailedException(failed()));
    let repository = repository(&[&put, &delete]);
    let record = record(CredentialId::generate());
    let put = repository.put(&record, Expected::Absent).await;
    assert!(matches!(put, Err(StoreError::ConditionFailed)), "{put:?}");
    let delete = repository
        .delete(&record.key, Expected::record(&record))
        .await;
    assert!(
        matches!(delete, Err(StoreError::ConditionFailed)),
        "{delete:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// DynamoDB: throttling, 5xx and denials are an outage (503), never a lost race nor corruption
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn given_provisioned_throughput_exceeded_then_every_call_is_unavailable_naming_http_400() {
    for call in StoreCall::ALL {
        assert_store_unavailable(call, provisioned_throughput_exceeded, 400).await;
    }
}

#[tokio::test]
async fn given_a_throttling_exception_then_every_call_is_unavailable_naming_http_400() {
    for call in StoreCall::ALL {
        assert_store_unavailable(call, dynamodb_throttling, 400).await;
    }
}

#[tokio::test]
async fn given_request_limit_exceeded_then_every_call_is_unavailable_naming_http_400() {
    for call in StoreCall::ALL {
        assert_store_unavailable(call, request_limit_exceeded, 400).await;
    }
}

#[tokio::test]
async fn given_an_http_500_then_every_call_is_unavailable_naming_http_500() {
    for call in StoreCall::ALL {
        assert_store_unavailable(call, dynamodb_internal_error, 500).await;
    }
}

#[tokio::test]
async fn given_a_bare_http_503_then_every_call_is_unavailable_naming_http_503() {
    for call in StoreCall::ALL {
        assert_store_unavailable(call, bare_503, 503).await;
    }
}

#[tokio::test]
async fn given_an_unparseable_iam_denial_then_every_call_is_unavailable_naming_http_403() {
    for call in StoreCall::ALL {
        assert_store_unavailable(call, access_denied_xml, 403).await;
    }
}

#[tokio::test]
async fn given_modeled_throttling_errors_then_writes_and_reads_are_unavailable() {
    let throughput = || {
        ProvisionedThroughputExceededException::builder()
            .message("exceeded")
            .build()
    };
    let throttled = || ThrottlingException::builder().message("throttled").build();
    let limited = || RequestLimitExceeded::builder().message("limited").build();
    let rules = [
        mock!(Dynamo::put_item)
            .then_error(move || PutItemError::ProvisionedThroughputExceededException(throughput())),
        mock!(Dynamo::put_item).then_error(move || PutItemError::ThrottlingException(throttled())),
        mock!(Dynamo::put_item).then_error(move || PutItemError::RequestLimitExceeded(limited())),
        mock!(Dynamo::delete_item)
            .then_error(move || DeleteItemError::ThrottlingException(throttled())),
        mock!(Dynamo::get_item)
            .then_error(move || GetItemError::ProvisionedThroughputExceededException(throughput())),
    ];
    let repository = repository(&rules.iter().collect::<Vec<_>>());
    let record = record(CredentialId::generate());
    for _ in 0..3 {
        let put = repository.put(&record, Expected::Absent).await;
        assert!(matches!(put, Err(StoreError::Unavailable(_))), "{put:?}");
    }
    let delete = repository
        .delete(&record.key, Expected::record(&record))
        .await;
    assert!(
        matches!(delete, Err(StoreError::Unavailable(_))),
        "{delete:?}"
    );
    let get = repository.get::<Labelled>(&record.key).await;
    assert!(matches!(get, Err(StoreError::Unavailable(_))), "{get:?}");
    assert!(rules.iter().all(|rule| rule.num_calls() == 1));
}

// ---------------------------------------------------------------------------------------------
// DynamoDB: the production retry policy (standard, 3 attempts)
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn given_production_retries_when_every_attempt_is_throttled_then_three_calls_and_unavailable()
{
    let rule = mock!(Dynamo::put_item)
        .sequence()
        .http_response(provisioned_throughput_exceeded)
        .times(3)
        .build();
    let repository = repository_with_production_retries(&[&rule]);
    let result = repository
        .put(&record(CredentialId::generate()), Expected::Absent)
        .await;
    assert!(
        matches!(&result, Err(StoreError::Unavailable(text)) if text.contains("(HTTP 400)")),
        "{result:?}"
    );
    assert_eq!(rule.num_calls(), 3, "the SDK tried 3 times");
}

#[tokio::test]
async fn given_production_retries_when_a_5xx_blip_passes_then_the_write_succeeds() {
    let rule = mock!(Dynamo::put_item)
        .sequence()
        .http_response(dynamodb_internal_error)
        .http_response(bare_503)
        .output(|| PutItemOutput::builder().build())
        .build();
    let repository = repository_with_production_retries(&[&rule]);
    repository
        .put(&record(CredentialId::generate()), Expected::Absent)
        .await
        .expect("absorbed by the retries");
    assert_eq!(rule.num_calls(), 3);
}

#[tokio::test]
async fn given_production_retries_when_the_condition_fails_then_it_is_not_retried() {
    let rule = mock!(Dynamo::put_item)
        .sequence()
        .http_response(conditional_check_failed)
        .times(3)
        .build();
    let repository = repository_with_production_retries(&[&rule]);
    let result = repository
        .put(&record(CredentialId::generate()), Expected::Absent)
        .await;
    assert!(
        matches!(result, Err(StoreError::ConditionFailed)),
        "{result:?}"
    );
    assert_eq!(rule.num_calls(), 1, "a lost race is final");
}

// ---------------------------------------------------------------------------------------------
// DynamoDB: an item that does not read back as the record asked for is corrupt, not a panic
// ---------------------------------------------------------------------------------------------

/// What `get` makes of `item` stored under the key of credential `id`.
async fn get_answering<A: Attributes>(
    id: CredentialId,
    item: HashMap<String, AttributeValue>,
) -> Result<Option<CredentialRecord<A>>, StoreError> {
    let rule = mock!(Dynamo::get_item)
        .match_requests(|r| r.consistent_read() == Some(true))
        .then_output(move || {
            GetItemOutput::builder()
                .set_item(Some(item.clone()))
                .build()
        });
    let result = repository(&[&rule]).get::<A>(&item_key(id)).await;
    assert_eq!(rule.num_calls(), 1);
    result
}

#[tokio::test]
async fn given_a_well_formed_item_then_get_reads_the_record_it_holds() {
    let id = CredentialId::generate();
    let read = get_answering::<Labelled>(id, stored_item(id))
        .await
        .expect("readable")
        .expect("found");
    assert_eq!((read.id, read.version), (id, 3));
    assert_eq!(read.key, item_key(id));
    assert_eq!(read.attributes.label, LABEL);
    assert_eq!(read.secret, SecretRef(SECRET_ARN.into()));
    assert_eq!(read.provider, Provider::Postgres);
}

#[tokio::test]
async fn given_no_item_then_get_is_none_not_an_error() {
    let rule = mock!(Dynamo::get_item).then_output(|| GetItemOutput::builder().build());
    let read = repository(&[&rule])
        .get::<Labelled>(&item_key(CredentialId::generate()))
        .await;
    assert!(matches!(read, Ok(None)), "{read:?}");
}

#[tokio::test]
async fn given_an_item_whose_version_is_a_string_then_get_is_corrupt() {
    let id = CredentialId::generate();
    let mut item = stored_item(id);
    item.insert("version".into(), AttributeValue::S("3".into()));
    let read = get_answering::<Labelled>(id, item).await;
    assert!(matches!(read, Err(StoreError::Corrupt(_))), "{read:?}");
}

#[tokio::test]
async fn given_an_item_of_another_family_then_get_is_corrupt() {
    let id = CredentialId::generate();
    let mut item = stored_item(id);
    item.insert(
        "kind".into(),
        AttributeValue::S("user-warehouse-credential".into()),
    );
    let read = get_answering::<Labelled>(id, item).await;
    assert!(
        matches!(&read, Err(StoreError::Corrupt(text)) if text.contains("user-warehouse-credential")),
        "{read:?}"
    );
    // And a well-formed generic credential read by another family.
    let read = get_answering::<Owned>(id, stored_item(id)).await;
    assert!(matches!(read, Err(StoreError::Corrupt(_))), "{read:?}");
}

#[tokio::test]
async fn given_an_item_filed_under_another_organization_then_get_is_corrupt() {
    let id = CredentialId::generate();
    let mut item = stored_item(id);
    item.insert("pk".into(), AttributeValue::S("ORG#org_b".into()));
    let read = get_answering::<Labelled>(id, item).await;
    assert!(
        matches!(&read, Err(StoreError::Corrupt(text)) if text.contains("another organization")),
        "{read:?}"
    );
}

#[tokio::test]
async fn given_an_item_with_any_unreadable_attribute_then_get_is_corrupt() {
    let id = CredentialId::generate();
    let s = |value: &str| AttributeValue::S(value.to_owned());
    let n = |value: &str| AttributeValue::N(value.to_owned());
    let damage: [(&str, Option<AttributeValue>); 12] = [
        ("id", Some(s("not-a-uuid"))),
        ("id", None),
        ("kind", Some(s("oracle"))),
        ("provider", Some(s("oracle"))),
        ("attributes", Some(s(LABEL))),
        ("attributes", None),
        ("settings", Some(s("host=db"))),
        ("created_at", Some(s("yesterday"))),
        ("created_by", Some(n("7"))),
        ("version", Some(n("-1"))),
        ("version", Some(n("1.5"))),
        ("expires_at", Some(n("99999999999999999"))),
    ];
    for (attribute, value) in damage {
        let mut item = stored_item(id);
        match &value {
            Some(value) => item.insert(attribute.into(), value.clone()),
            None => item.remove(attribute),
        };
        let read = get_answering::<Labelled>(id, item).await;
        assert!(
            matches!(read, Err(StoreError::Corrupt(_))),
            "{attribute} = {value:?}: {read:?}"
        );
    }
}

#[tokio::test]
async fn given_a_listed_page_holding_one_malformed_item_then_list_is_corrupt() {
    let good = stored_item(CredentialId::generate());
    let mut bad = stored_item(CredentialId::generate());
    bad.insert("version".into(), AttributeValue::S("three".into()));
    let rule = mock!(Dynamo::query).then_output(move || {
        QueryOutput::builder()
            .items(good.clone())
            .items(bad.clone())
            .build()
    });
    let listed = repository(&[&rule])
        .list::<Labelled>(&org(), "generic-credential#")
        .await;
    assert!(matches!(listed, Err(StoreError::Corrupt(_))), "{listed:?}");
}

#[tokio::test]
async fn given_an_index_entry_without_a_sort_key_then_locate_is_corrupt() {
    let rule = mock!(Dynamo::query)
        .match_requests(|r| r.index_name() == Some("ById"))
        .then_output(|| {
            QueryOutput::builder()
                .items(HashMap::from([(
                    "pk".to_owned(),
                    AttributeValue::S("ORG#org_a".into()),
                )]))
                .build()
        });
    let located = repository(&[&rule])
        .locate(&org(), CredentialId::generate())
        .await;
    assert!(
        matches!(located, Err(StoreError::Corrupt(_))),
        "{located:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// Secrets Manager: the compare-and-swap of AWSCURRENT
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn given_another_change_moved_awscurrent_first_then_move_current_is_false() {
    let rule = mock!(Secrets::update_secret_version_stage)
        .match_requests(|r| {
            r.secret_id() == Some(SECRET_ARN)
                && r.version_stage() == Some("AWSCURRENT")
                && r.move_to_version_id() == Some("v2")
                && r.remove_from_version_id() == Some("v1")
        })
        .then_http_response(awscurrent_not_on_version);
    let moved = vault(&[&rule])
        .move_current(&SecretRef(SECRET_ARN.into()), "v2", "v1")
        .await;
    assert!(matches!(moved, Ok(false)), "{moved:?}");
    assert_eq!(rule.num_calls(), 1);
}

#[tokio::test]
async fn given_the_modeled_invalid_parameter_error_then_move_current_is_false() {
    let rule = mock!(Secrets::update_secret_version_stage).then_error(|| {
        UpdateSecretVersionStageError::InvalidParameterException(
            InvalidParameterException::builder()
                .message("RemoveFromVersionId does not hold AWSCURRENT")
                .build(),
        )
    });
    let moved = vault(&[&rule])
        .move_current(&SecretRef(SECRET_ARN.into()), "v2", "v1")
        .await;
    assert!(matches!(moved, Ok(false)), "{moved:?}");
}

#[tokio::test]
async fn given_a_swap_that_succeeds_then_move_current_is_true() {
    let rule = mock!(Secrets::update_secret_version_stage).then_output(|| {
        aws_sdk_secretsmanager::operation::update_secret_version_stage::UpdateSecretVersionStageOutput::builder()
            .arn(SECRET_ARN)
            .build()
    });
    let moved = vault(&[&rule])
        .move_current(&SecretRef(SECRET_ARN.into()), "v2", "v1")
        .await;
    assert!(matches!(moved, Ok(true)), "{moved:?}");
}

// ---------------------------------------------------------------------------------------------
// Secrets Manager: a secret that does not exist or is scheduled for deletion is gone
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn given_a_secret_gone_or_scheduled_for_deletion_then_read_current_is_not_found() {
    assert_gone_is_not_found(VaultCall::ReadCurrent).await;
}

#[tokio::test]
async fn given_a_secret_gone_or_scheduled_for_deletion_then_read_version_is_not_found() {
    assert_gone_is_not_found(VaultCall::ReadVersion).await;
}

#[tokio::test]
async fn given_a_secret_gone_or_scheduled_for_deletion_then_stage_is_not_found() {
    assert_gone_is_not_found(VaultCall::Stage).await;
}

#[tokio::test]
async fn given_a_secret_gone_or_scheduled_for_deletion_then_move_current_is_not_found_not_a_lost_swap()
 {
    assert_gone_is_not_found(VaultCall::MoveCurrent).await;
}

#[tokio::test]
async fn given_a_secret_gone_or_scheduled_for_deletion_then_tag_is_not_found() {
    assert_gone_is_not_found(VaultCall::Tag).await;
}

#[tokio::test]
async fn given_a_missing_secret_then_current_version_is_not_found() {
    let result = vault_answering(VaultCall::CurrentVersion, secret_not_found).await;
    assert!(matches!(result, Err(VaultError::NotFound)), "{result:?}");
}

// ---------------------------------------------------------------------------------------------
// Secrets Manager: retiring and discarding are idempotent
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn given_a_secret_already_gone_or_scheduled_for_deletion_then_retire_succeeds() {
    for (answer, respond) in [
        ("ResourceNotFoundException", secret_not_found as Respond),
        ("InvalidRequestException", secret_scheduled_for_deletion),
    ] {
        let result = vault_answering(VaultCall::Retire, respond).await;
        assert!(result.is_ok(), "retire answered {answer}: {result:?}");
    }
}

#[tokio::test]
async fn given_a_secret_already_gone_then_discard_succeeds() {
    let result = vault_answering(VaultCall::Discard, secret_not_found).await;
    assert!(result.is_ok(), "{result:?}");
}

#[tokio::test]
async fn given_a_deletion_that_is_refused_for_another_reason_then_retire_and_discard_report_it() {
    for call in [VaultCall::Retire, VaultCall::Discard] {
        for respond in [secrets_manager_throttling as Respond, access_denied_xml] {
            let result = vault_answering(call, respond).await;
            assert!(
                matches!(result, Err(VaultError::Unavailable(_))),
                "{call:?}: {result:?}"
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Secrets Manager: throttling, 5xx and denials are an outage (503)
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn given_secrets_manager_throttles_fails_or_denies_then_every_call_is_unavailable_naming_the_status()
 {
    let answers = [
        (
            "ThrottlingException",
            secrets_manager_throttling as Respond,
            400,
        ),
        ("InternalServiceError", secrets_manager_internal_error, 500),
        ("bare 503", bare_503, 503),
        ("XML AccessDenied", access_denied_xml, 403),
    ];
    for call in VaultCall::ALL {
        for (answer, respond, status) in answers {
            match vault_answering(call, respond).await {
                Err(VaultError::Unavailable(text)) => {
                    assert!(
                        text.contains(&format!("(HTTP {status})")),
                        "{call:?} answered {answer}: {text}"
                    );
                    assert_names_no_request_value(&text);
                }
                other => panic!("{call:?} answered {answer}: expected Unavailable, got {other:?}"),
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Through the use case
// ---------------------------------------------------------------------------------------------

fn caller() -> Caller {
    Caller {
        organization: org(),
        user: UserId::parse("user_a").expect("a user"),
        scopes: Scopes::all(),
        expires_at: i64::MAX,
        origin: Default::default(),
    }
}

fn new_credential() -> NewCredential<Labelled> {
    let mut document = Document::new(Provider::Postgres);
    document
        .setting("host", HOST)
        .secret("password", SecretValue::text(PASSWORD));
    NewCredential {
        document,
        attributes: Labelled {
            label: LABEL.into(),
        },
        expires_at: None,
    }
}

/// A vault that creates one secret and expects it discarded: the create rule and the discard
/// rule, in that order.
fn created_then_discarded() -> (Rule, Rule) {
    let create = mock!(Secrets::create_secret)
        .match_requests(|r| r.kms_key_id() == Some(KMS_KEY))
        .then_output(|| {
            CreateSecretOutput::builder()
                .arn(SECRET_ARN)
                .version_id("v1")
                .build()
        });
    let discard = mock!(Secrets::delete_secret)
        .match_requests(|r| {
            r.secret_id() == Some(SECRET_ARN) && r.force_delete_without_recovery() == Some(true)
        })
        .then_output(|| DeleteSecretOutput::builder().arn(SECRET_ARN).build());
    (create, discard)
}

#[tokio::test]
async fn given_a_lost_create_race_in_dynamodb_then_conflict_and_the_new_secret_is_discarded() {
    // The record's put is refused by its condition; the audit event's put was not the reason.
    let put = mock!(Dynamo::transact_write_items)
        .match_requests(|r| {
            r.transact_items()
                .first()
                .and_then(|item| item.put())
                .and_then(|put| put.condition_expression())
                == Some("attribute_not_exists(pk)")
        })
        .then_error(|| {
            let reason = |code: &str| CancellationReason::builder().code(code).build();
            TransactWriteItemsError::TransactionCanceledException(
                TransactionCanceledException::builder()
                    .cancellation_reasons(reason("ConditionalCheckFailed"))
                    .cancellation_reasons(reason("None"))
                    .build(),
            )
        });
    let (create, discard) = created_then_discarded();
    let service = CredentialService::new(repository(&[&put]), vault(&[&create, &discard]));
    let id = CredentialId::generate();
    let result = service
        .create(&caller(), item_key(id), id, new_credential())
        .await;
    assert!(matches!(result, Err(Error::Conflict(_))), "{result:?}");
    assert_eq!(
        (create.num_calls(), put.num_calls(), discard.num_calls()),
        (1, 1, 1),
        "created, refused, discarded"
    );
}

#[tokio::test]
async fn given_dynamodb_down_during_a_create_then_503_naming_the_status_and_the_new_secret_is_discarded()
 {
    let put = mock!(Dynamo::transact_write_items).then_http_response(bare_503);
    let (create, discard) = created_then_discarded();
    let service = CredentialService::new(repository(&[&put]), vault(&[&create, &discard]));
    let id = CredentialId::generate();
    let result = service
        .create(&caller(), item_key(id), id, new_credential())
        .await;
    match result {
        Err(Error::Unavailable {
            dependency: Dependency::MetadataStore,
            detail,
        }) => {
            assert!(detail.contains("(HTTP 503)"), "{detail}");
            assert_names_no_request_value(&detail);
        }
        other => panic!("expected the metadata store unavailable, got {other:?}"),
    }
    assert_eq!(discard.num_calls(), 1, "the new secret was discarded");
}
