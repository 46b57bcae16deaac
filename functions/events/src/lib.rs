//! Strongroom's own events: `credential.created`, `updated`, `deleted`, `rotated` and
//! `rotation_failed`, published on its EventBridge bus from the metadata table's DynamoDB
//! stream. The stream is the outbox: every write is in it, so no request pays for publishing
//! and no write goes unpublished.
//!
//! Delivery is at least once. Records are published in stream order, at most ten events per
//! `PutEvents`; at the first record that cannot be read or published the handler stops and
//! reports that record's sequence number as the batch's failure, and Lambda retries the shard
//! from there (after its retries, the batch goes to the dead-letter queue). Events of that
//! retried stretch that had been accepted are published again: consumers drop them by the
//! detail's `idempotency_key`.

pub mod change;
mod publish;

pub use aws_lambda_events::dynamodb::Event as StreamEvent;
pub use aws_lambda_events::streams::DynamoDbEventResponse;
pub use change::{CredentialEvent, Detail, EventType, events};
pub use publish::{
    BUS_ENV, DEFAULT_SOURCE, EventBridgePublisher, EventPublisher, EventSettings, MAX_ENTRIES,
    PublishError, SOURCE_ENV,
};

use aws_lambda_events::dynamodb::EventRecord;
use aws_lambda_events::streams::DynamoDbBatchItemFailure;
use time::OffsetDateTime;

/// The Lambda binary, as the template names it.
pub const BINARY: &str = "strongroom-publish-events";

/// A record to report that has no sequence number, so only failing the whole batch retries it.
#[derive(Debug, thiserror::Error)]
#[error("stream record {event_id} failed and has no sequence number to report")]
pub struct Unreportable {
    event_id: String,
}

/// When the stream recorded `record`.
fn recorded_at(record: &EventRecord) -> OffsetDateTime {
    let at = record.change.approximate_creation_date_time;
    OffsetDateTime::from_unix_timestamp(at.timestamp())
        .map(|t| t + time::Duration::nanoseconds(i64::from(at.timestamp_subsec_nanos())))
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// Publishes the events of `stream`'s records, in order; answers the first record that failed
/// (none when all were published) for Lambda to retry from.
pub async fn handle<P: EventPublisher>(
    publisher: &P,
    stream: StreamEvent,
) -> Result<DynamoDbEventResponse, Unreportable> {
    let records = stream.records;
    let mut failed = None;
    let mut pending: Vec<(usize, CredentialEvent)> = Vec::new();
    for (index, record) in records.iter().enumerate() {
        let change = &record.change;
        match events(&change.old_image, &change.new_image, recorded_at(record)) {
            Ok(made) => pending.extend(made.into_iter().map(|event| (index, event))),
            Err(error) => {
                tracing::error!(event_id = %record.event_id, %error,
                    "a stream record cannot be published; it is retried, then dead-lettered");
                failed = Some(index);
                break;
            }
        }
    }
    // Everything pending precedes the unreadable record, so a failure here is the earlier one.
    for chunk in pending.chunks(MAX_ENTRIES) {
        let batch: Vec<CredentialEvent> = chunk.iter().map(|(_, event)| event.clone()).collect();
        let refused = match publisher.publish(&batch).await {
            Ok(answers) => answers
                .iter()
                .enumerate()
                .find_map(|(position, answer)| answer.as_ref().err().map(|r| (position, r)))
                .map(|(position, reason)| {
                    tracing::error!(%reason, "the event bus refused an event");
                    position
                }),
            Err(error) => {
                tracing::error!(%error, "could not publish events");
                Some(0)
            }
        };
        if let Some(position) = refused {
            failed = Some(chunk[position].0);
            break;
        }
    }
    let mut response = DynamoDbEventResponse::default();
    if let Some(record) = failed.and_then(|index| records.get(index)) {
        let mut failure = DynamoDbBatchItemFailure::default();
        failure.item_identifier =
            Some(
                record
                    .change
                    .sequence_number
                    .clone()
                    .ok_or_else(|| Unreportable {
                        event_id: record.event_id.clone(),
                    })?,
            );
        response.batch_item_failures.push(failure);
    }
    tracing::info!(
        records = records.len(),
        failed = response.batch_item_failures.len(),
        "stream batch handled"
    );
    Ok(response)
}
