//! End to end against moto enforcing IAM: real writes through the credential service (as the
//! Levered functions' IAM users), their records read from the table's stream as the
//! publishing function's user (the event source mapping's role), the handler publishing them
//! on the stack's bus as that user, and the events read back from an SQS queue that a rule on
//! the bus targets. Outside `make test` these skip; in CI they fail without moto.

use std::collections::BTreeSet;

use aws_sdk_dynamodb::types::AttributeValue;
use credential_model::credential::now;
use credential_model::ports::{CredentialRepository, Expected};
use credential_model::rotation::{RotationState, RotationStatus};
use credential_model::{
    Caller, CredentialChange, CredentialKind, Document, NewCredential, OrgId, Provider, RecordKey,
    Scopes, SecretValue, UserId,
};
use serde_json::Value;
use strongroom_aws::{SdkConfig, StoreSettings};
use strongroom_events::{EventBridgePublisher, EventSettings, StreamEvent, handle};
use strongroom_local_stack::testing::{self, unique_suffix};
use strongroom_local_stack::{ChangeStream, LocalStack, Template, template_path};

const CANARY: &str = "canary-s3cret-Pa55word";
const PUBLISHER: &str = "strongroom-publish-events";

struct Stack {
    admin: SdkConfig,
    stack: LocalStack,
    identities: std::collections::BTreeMap<String, SdkConfig>,
    queue_url: String,
    organization: OrgId,
}

impl Stack {
    fn identity(&self, binary: &str) -> &SdkConfig {
        self.identities
            .get(binary)
            .unwrap_or_else(|| panic!("{binary} has an identity"))
    }

    fn service(&self, binary: &str) -> strongroom_aws::Store {
        let settings = StoreSettings::new(
            &self.stack.table,
            &self.stack.kms_key_arn,
            &self.stack.secret_prefix,
        );
        strongroom_aws::store(self.identity(binary), &settings)
    }

    fn publisher(&self, binary: &str) -> EventBridgePublisher {
        let settings = EventSettings {
            bus: self.stack.event_bus.clone(),
            source: "strongroom".into(),
        };
        EventBridgePublisher::new(self.identity(binary), settings)
    }

    async fn stream(&self) -> ChangeStream {
        let arn = self
            .stack
            .stream_arn
            .as_deref()
            .expect("the table has a stream");
        ChangeStream::open(self.identity(PUBLISHER), arn)
            .await
            .expect("the publisher reads the stream")
    }

    fn key(&self) -> RecordKey {
        RecordKey::singleton(
            self.organization.clone(),
            CredentialKind::WarehouseConnection,
        )
    }

    fn caller(&self) -> Caller {
        Caller {
            organization: self.organization.clone(),
            user: UserId::parse("user_a").expect("a user"),
            scopes: Scopes::all(),
            expires_at: i64::MAX,
            origin: Default::default(),
        }
    }

    /// Every message on the queue, parsed, in the order they arrived.
    async fn received(&self) -> Vec<Value> {
        let sqs = aws_sdk_sqs::Client::new(&self.admin);
        let mut messages = Vec::new();
        loop {
            let batch = sqs
                .receive_message()
                .queue_url(&self.queue_url)
                .max_number_of_messages(10)
                .send()
                .await
                .expect("the queue answers");
            let bodies = batch.messages.unwrap_or_default();
            if bodies.is_empty() {
                return messages;
            }
            for message in bodies {
                let body = message.body.expect("a body");
                assert!(!body.contains(CANARY), "a secret was published: {body}");
                messages.push(serde_json::from_str(&body).expect("an event as JSON"));
                sqs.delete_message()
                    .queue_url(&self.queue_url)
                    .set_receipt_handle(message.receipt_handle)
                    .send()
                    .await
                    .expect("deleted");
            }
        }
    }
}

/// A fresh stack, an identity per function, and a rule on the bus sending every Strongroom
/// event to a queue of the test's own.
async fn stack() -> Option<Stack> {
    testing::moto_enforcing_iam()?;
    let admin = strongroom_aws::sdk_config().expect("the environment configures AWS");
    let stack = testing::fresh_stack(&admin).await;
    let template = Template::load(&template_path()).expect("the template loads");
    let identities =
        strongroom_local_stack::function_identities(&admin, &template, &unique_suffix())
            .await
            .expect("every function gets an identity");
    let sqs = aws_sdk_sqs::Client::new(&admin);
    let queue_url = sqs
        .create_queue()
        .queue_name(format!("events-{}", unique_suffix()))
        .send()
        .await
        .expect("a queue")
        .queue_url
        .expect("its URL");
    let queue_arn = sqs
        .get_queue_attributes()
        .queue_url(&queue_url)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
        .send()
        .await
        .expect("its attributes")
        .attributes
        .and_then(|mut a| a.remove(&aws_sdk_sqs::types::QueueAttributeName::QueueArn))
        .expect("its ARN");
    let events = aws_sdk_eventbridge::Client::new(&admin);
    events
        .put_rule()
        .name("all-credential-events")
        .event_bus_name(&stack.event_bus)
        .event_pattern(r#"{"source":["strongroom"]}"#)
        .send()
        .await
        .expect("a rule");
    events
        .put_targets()
        .rule("all-credential-events")
        .event_bus_name(&stack.event_bus)
        .targets(
            aws_sdk_eventbridge::types::Target::builder()
                .id("queue")
                .arn(queue_arn)
                .build()
                .expect("a target"),
        )
        .send()
        .await
        .expect("the queue is the rule's target");
    Some(Stack {
        admin,
        stack,
        identities,
        queue_url,
        organization: OrgId::parse(&format!("org_{}", unique_suffix())).expect("an org"),
    })
}

fn connection(dataset: &str) -> NewCredential<levered::Connection> {
    let mut document = Document::new(Provider::Postgres);
    document
        .setting("host", "db.example.com")
        .setting("port", 5432)
        .setting("database", "analytics")
        .setting("username", "reporter")
        .secret("password", SecretValue::text(CANARY));
    NewCredential {
        document,
        attributes: levered::Connection {
            project_id: None,
            dataset_id: Some(dataset.to_owned()),
        },
        expires_at: None,
    }
}

/// Every record the stream holds from where `stream` stands.
async fn drain(stream: &mut ChangeStream) -> StreamEvent {
    let mut all = StreamEvent::default();
    loop {
        let batch = stream.next_batch().await.expect("the stream's records");
        if batch.records.is_empty() {
            return all;
        }
        all.records.extend(batch.records);
    }
}

/// `(detail-type, id, version)` of each event, and checks what every event holds.
fn summary(stack: &Stack, events: &[Value]) -> Vec<(String, String, u64)> {
    let allowed: BTreeSet<&str> = [
        "id",
        "organization",
        "family",
        "kind",
        "provider",
        "version",
        "at",
        "reason",
        "idempotency_key",
    ]
    .into();
    events
        .iter()
        .map(|event| {
            assert_eq!(event["source"], "strongroom");
            let detail = &event["detail"];
            let fields = detail.as_object().expect("a detail object");
            assert!(
                fields.keys().all(|k| allowed.contains(k.as_str())),
                "{detail}"
            );
            assert_eq!(detail["organization"], stack.organization.to_string());
            assert_eq!(detail["family"], "levered");
            assert_eq!(detail["kind"], "warehouse-connection");
            assert_eq!(detail["provider"], "postgres");
            (
                event["detail-type"]
                    .as_str()
                    .expect("a detail-type")
                    .to_owned(),
                detail["id"].as_str().expect("an id").to_owned(),
                detail["version"].as_u64().expect("a version"),
            )
        })
        .collect()
}

/// The record under `key` with a new rotation state, as a rotation writes it (`put_any`).
async fn rotation_step(service: &strongroom_aws::Store, key: &RecordKey, state: RotationState) {
    let repository = service.repository();
    let mut any = repository
        .get_any(key)
        .await
        .expect("read")
        .expect("the credential");
    let expected = Expected::Current {
        id: any.record.id,
        version: any.record.version,
    };
    any.record.rotation.state = Some(state);
    any.record.version += 1;
    any.record.updated_at = now();
    repository.put_any(&any, expected).await.expect("written");
}

fn state(status: RotationStatus, last_rotated: bool, reason: Option<&str>) -> RotationState {
    RotationState {
        status,
        token: Some(unique_suffix()),
        at: now(),
        last_rotated_at: last_rotated.then(now),
        reason: reason.map(str::to_owned),
    }
}

#[tokio::test]
async fn every_write_is_published_once_in_order_without_secrets() {
    let Some(stack) = stack().await else {
        return;
    };
    let key = stack.key();
    let create = stack.service("levered-create-connection");
    let first = create
        .replace(&stack.caller(), key.clone(), connection("public"))
        .await
        .expect("created");
    let change = CredentialChange {
        document: None,
        attributes: levered::Connection {
            project_id: None,
            dataset_id: Some("analytics".into()),
        },
        expires_at: None,
    };
    create
        .update(&stack.caller(), &first, change)
        .await
        .expect("updated");
    rotation_step(
        &create,
        &key,
        state(RotationStatus::InProgress, false, None),
    )
    .await;
    rotation_step(&create, &key, state(RotationStatus::Succeeded, true, None)).await;
    rotation_step(&create, &key, state(RotationStatus::InProgress, true, None)).await;
    let reason = "password authentication failed for user \"reporter\"";
    rotation_step(
        &create,
        &key,
        state(RotationStatus::Failed, true, Some(reason)),
    )
    .await;
    let second = create
        .replace(&stack.caller(), key.clone(), connection("public"))
        .await
        .expect("replaced");
    // Not a credential: skipped.
    aws_sdk_dynamodb::Client::new(&stack.admin)
        .put_item()
        .table_name(&stack.stack.table)
        .item(
            "pk",
            AttributeValue::S(format!("ORG#{}", stack.organization)),
        )
        .item("sk", AttributeValue::S("audit#1".into()))
        .item("kind", AttributeValue::S("audit-entry".into()))
        .item("note", AttributeValue::S(CANARY.into()))
        .send()
        .await
        .expect("an item of another kind");
    stack
        .service("levered-delete-connection")
        .delete::<levered::Connection>(&stack.caller(), &key)
        .await
        .expect("deleted");

    let mut stream = stack.stream().await;
    let records = drain(&mut stream).await;
    // Nine writes, four of them (the replacements, the update, the delete) with their audit
    // events: items the publisher skips, as it does the other non-credential one.
    assert_eq!(records.records.len(), 13, "every write is in the stream");
    let response = handle(&stack.publisher(PUBLISHER), records)
        .await
        .expect("handled");
    assert!(response.batch_item_failures.is_empty());

    let events = stack.received().await;
    let (a, b) = (first.id.to_string(), second.id.to_string());
    let expected = [
        ("credential.created", &a, 1),
        ("credential.updated", &a, 2),
        ("credential.rotated", &a, 4),
        ("credential.rotation_failed", &a, 6),
        ("credential.deleted", &a, 6),
        // A replacement carries the key's version on.
        ("credential.created", &b, 7),
        ("credential.deleted", &b, 7),
    ]
    .map(|(t, id, v)| (t.to_owned(), id.clone(), v));
    assert_eq!(summary(&stack, &events), expected);
    assert_eq!(events[3]["detail"]["reason"], reason);
    let keys: BTreeSet<&str> = events
        .iter()
        .filter_map(|e| e["detail"]["idempotency_key"].as_str())
        .collect();
    assert_eq!(keys.len(), expected.len(), "one key per event");
}

#[tokio::test]
async fn a_refused_publish_is_retried_from_its_record_and_nothing_is_lost() {
    let Some(stack) = stack().await else {
        return;
    };
    let key = stack.key();
    let created = stack
        .service("levered-create-connection")
        .replace(&stack.caller(), key.clone(), connection("public"))
        .await
        .expect("created");
    stack
        .service("levered-delete-connection")
        .delete::<levered::Connection>(&stack.caller(), &key)
        .await
        .expect("deleted");

    let mut stream = stack.stream().await;
    let records = drain(&mut stream).await;
    let first = records.records[0].change.sequence_number.clone();
    // A function whose policies do not allow events:PutEvents: moto refuses it.
    let response = handle(&stack.publisher("levered-get-connection"), records)
        .await
        .expect("handled");
    let failed: Vec<_> = response
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.clone())
        .collect();
    assert_eq!(
        failed,
        std::slice::from_ref(&first),
        "retry from the first record"
    );
    assert!(stack.received().await.is_empty());

    // Lambda's retry: the same records from the reported one on.
    stream
        .rewind(first.as_deref().expect("a sequence number"))
        .await
        .expect("rewound");
    let retried = drain(&mut stream).await;
    // The two changes, each with its audit event.
    assert_eq!(retried.records.len(), 4);
    let response = handle(&stack.publisher(PUBLISHER), retried)
        .await
        .expect("handled");
    assert!(response.batch_item_failures.is_empty());
    let id = created.id.to_string();
    assert_eq!(
        summary(&stack, &stack.received().await),
        [
            ("credential.created".to_owned(), id.clone(), 1),
            ("credential.deleted".to_owned(), id, 1)
        ]
    );
}
