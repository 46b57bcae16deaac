//! The stream handler with `events/credential-stream.json` and a publisher that records what it
//! is given and refuses what a test tells it to: order, batches of at most ten, and the record
//! Lambda is told to retry from.

use std::sync::Mutex;

use serde_json::{Value, json};
use strongroom_events::{
    CredentialEvent, EventPublisher, EventType, MAX_ENTRIES, PublishError, StreamEvent, handle,
};

const FIXTURE: &str = include_str!("../../../events/credential-stream.json");

/// Refuses the `refuse`-th event it is given (counting from 0, over every call), or fails the
/// whole call containing it when `unavailable`.
#[derive(Default)]
struct Recorder {
    calls: Mutex<Vec<Vec<CredentialEvent>>>,
    refuse: Option<usize>,
    unavailable: bool,
}

impl Recorder {
    fn published(&self) -> Vec<(EventType, String)> {
        let calls = self.calls.lock().expect("not poisoned");
        calls
            .iter()
            .flatten()
            .map(|e| (e.event_type, e.detail.id.to_string()))
            .collect()
    }

    fn call_sizes(&self) -> Vec<usize> {
        let calls = self.calls.lock().expect("not poisoned");
        calls.iter().map(Vec::len).collect()
    }
}

impl EventPublisher for Recorder {
    async fn publish(
        &self,
        events: &[CredentialEvent],
    ) -> Result<Vec<Result<(), String>>, PublishError> {
        assert!(events.len() <= MAX_ENTRIES, "a PutEvents takes at most 10");
        let mut calls = self.calls.lock().expect("not poisoned");
        let before: usize = calls.iter().map(Vec::len).sum();
        calls.push(events.to_vec());
        let refused = self
            .refuse
            .filter(|r| (before..before + events.len()).contains(r));
        if refused.is_some() && self.unavailable {
            return Err(PublishError::Unavailable("timed out".into()));
        }
        Ok((before..before + events.len())
            .map(|n| match Some(n) == refused {
                true => Err("InternalFailure: try again".to_owned()),
                false => Ok(()),
            })
            .collect())
    }
}

fn fixture() -> StreamEvent {
    serde_json::from_str(FIXTURE).expect("a DynamoDB stream event")
}

fn failures(response: &strongroom_events::DynamoDbEventResponse) -> Vec<Option<String>> {
    response
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.clone())
        .collect()
}

const A: &str = "3f2b8c1e-5a4d-4e6f-9b7a-1c2d3e4f5a6b";
const B: &str = "7e6d5c4b-3a29-4817-a6b5-c4d3e2f1a0b9";

#[tokio::test]
async fn the_fixture_publishes_its_changes_in_order() {
    let recorder = Recorder::default();
    let response = handle(&recorder, fixture()).await.expect("handled");
    assert!(failures(&response).is_empty());
    assert_eq!(
        recorder.published(),
        [
            (EventType::Created, A.to_owned()),
            (EventType::Updated, A.to_owned()),
            (EventType::Deleted, A.to_owned()),
            (EventType::Created, B.to_owned()),
            (EventType::Deleted, B.to_owned()),
        ]
    );
    let calls = recorder.calls.lock().expect("not poisoned");
    let deleted = serde_json::to_value(&calls[0][4].detail).expect("JSON");
    assert_eq!(
        deleted["at"], "2026-11-24T09:30:00Z",
        "when the stream saw it"
    );
    assert_eq!(deleted["organization"], "org_fixture");
}

/// The fixture's records repeated: 24 records, 30 events.
fn many() -> StreamEvent {
    let mut event: Value = serde_json::from_str(FIXTURE).expect("JSON");
    let records = event["Records"].as_array().cloned().expect("records");
    let mut repeated = Vec::new();
    for round in 0..6 {
        for (n, record) in records.iter().enumerate() {
            let mut record = record.clone();
            record["dynamodb"]["SequenceNumber"] = json!(format!("{}", 100 + round * 4 + n));
            repeated.push(record);
        }
    }
    event["Records"] = Value::Array(repeated);
    serde_json::from_value(event).expect("a stream event")
}

#[tokio::test]
async fn events_go_in_batches_of_at_most_ten() {
    let recorder = Recorder::default();
    let response = handle(&recorder, many()).await.expect("handled");
    assert!(failures(&response).is_empty());
    assert_eq!(recorder.call_sizes(), [10, 10, 10]);
}

#[tokio::test]
async fn a_refused_event_stops_the_batch_and_names_its_record() {
    // The 13th event (index 12) is the first of the 11th record's (a replacement's deleted).
    let recorder = Recorder {
        refuse: Some(12),
        ..Recorder::default()
    };
    let response = handle(&recorder, many()).await.expect("handled");
    assert_eq!(failures(&response), [Some("110".to_owned())]);
    assert_eq!(
        recorder.call_sizes(),
        [10, 10],
        "nothing after the failed batch"
    );

    let unavailable = Recorder {
        refuse: Some(12),
        unavailable: true,
        ..Recorder::default()
    };
    let response = handle(&unavailable, many()).await.expect("handled");
    // The whole second call failed: retry from the record of its first event (the 9th).
    assert_eq!(failures(&response), [Some("108".to_owned())]);
}

#[tokio::test]
async fn an_unreadable_record_is_reported_after_the_ones_before_it_are_published() {
    let mut event: Value = serde_json::from_str(FIXTURE).expect("JSON");
    event["Records"][2]["dynamodb"]["NewImage"]["version"] = json!({"S": "three"});
    let recorder = Recorder::default();
    let stream: StreamEvent = serde_json::from_value(event).expect("a stream event");
    let response = handle(&recorder, stream).await.expect("handled");
    assert_eq!(
        failures(&response),
        [Some("100000000000000000003".to_owned())]
    );
    assert_eq!(
        recorder.published(),
        [
            (EventType::Created, A.to_owned()),
            (EventType::Updated, A.to_owned())
        ]
    );
}
