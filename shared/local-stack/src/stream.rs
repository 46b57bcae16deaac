//! The local stand-in for Lambda's DynamoDB event source mapping: reads the table's stream from
//! moto (`GetShardIterator`, `GetRecords`) and hands its records over as the Lambda event the
//! publishing function receives, so `make dev` and the tests run that function's real handler.
//! A failure the handler reports is retried as Lambda retries it: from that record on.
//!
//! moto keeps one shard per table, so one shard is read.

use std::collections::HashMap;

use aws_lambda_events::dynamodb::{Event, EventRecord, StreamRecord, StreamViewType};
use aws_sdk_dynamodbstreams::types::{
    AttributeValue, OperationType, Record, ShardIteratorType, StreamViewType as SdkViewType,
};
use aws_types::SdkConfig;

use crate::provision::{ProvisionError, aws, sdk_detail};

/// The records a [`ChangeStream`] reads per `GetRecords`, as a mapping's `BatchSize`.
pub const BATCH_SIZE: i32 = 100;

pub struct ChangeStream {
    client: aws_sdk_dynamodbstreams::Client,
    stream_arn: String,
    shard: String,
    region: String,
    /// Where the next read starts.
    iterator: Option<String>,
}

impl ChangeStream {
    /// The stream `stream_arn`, read from its oldest record (the template's `TRIM_HORIZON`) with
    /// `sdk`'s identity.
    pub async fn open(sdk: &SdkConfig, stream_arn: &str) -> Result<Self, ProvisionError> {
        let client = aws_sdk_dynamodbstreams::Client::new(sdk);
        let shard = client
            .describe_stream()
            .stream_arn(stream_arn)
            .send()
            .await
            .map_err(|e| aws("the table's stream")(sdk_detail(e)))?
            .stream_description
            .and_then(|d| d.shards.and_then(|s| s.into_iter().next()))
            .and_then(|shard| shard.shard_id)
            .ok_or_else(|| aws("the table's stream")("it has no shard".into()))?;
        let mut stream = ChangeStream {
            client,
            stream_arn: stream_arn.to_owned(),
            shard,
            region: sdk.region().map(ToString::to_string).unwrap_or_default(),
            iterator: None,
        };
        stream.iterator = Some(
            stream
                .iterator(ShardIteratorType::TrimHorizon, None)
                .await?,
        );
        Ok(stream)
    }

    async fn iterator(
        &self,
        kind: ShardIteratorType,
        sequence_number: Option<&str>,
    ) -> Result<String, ProvisionError> {
        self.client
            .get_shard_iterator()
            .stream_arn(&self.stream_arn)
            .shard_id(&self.shard)
            .shard_iterator_type(kind)
            .set_sequence_number(sequence_number.map(str::to_owned))
            .send()
            .await
            .map_err(|e| aws("a shard iterator")(sdk_detail(e)))?
            .shard_iterator
            .ok_or_else(|| aws("a shard iterator")("none returned".into()))
    }

    /// The records written since the last read (at most [`BATCH_SIZE`]), as Lambda delivers
    /// them; no records when nothing was written.
    pub async fn next_batch(&mut self) -> Result<Event, ProvisionError> {
        let Some(iterator) = self.iterator.take() else {
            return Ok(Event::default());
        };
        let output = self
            .client
            .get_records()
            .shard_iterator(iterator)
            .limit(BATCH_SIZE)
            .send()
            .await
            .map_err(|e| aws("the stream's records")(sdk_detail(e)))?;
        self.iterator = output.next_shard_iterator;
        let mut event = Event::default();
        event.records = output
            .records
            .unwrap_or_default()
            .into_iter()
            .map(|record| self.lambda_record(record))
            .collect();
        Ok(event)
    }

    /// Reads again from the record `sequence_number` on: Lambda's retry of a reported failure.
    pub async fn rewind(&mut self, sequence_number: &str) -> Result<(), ProvisionError> {
        let iterator = self
            .iterator(ShardIteratorType::AtSequenceNumber, Some(sequence_number))
            .await?;
        self.iterator = Some(iterator);
        Ok(())
    }

    fn lambda_record(&self, record: Record) -> EventRecord {
        let mut lambda = EventRecord::default();
        lambda.aws_region = record.aws_region.unwrap_or_else(|| self.region.clone());
        lambda.event_id = record.event_id.unwrap_or_default();
        lambda.event_name = record
            .event_name
            .as_ref()
            .map(OperationType::as_str)
            .unwrap_or_default()
            .to_owned();
        lambda.event_source = record.event_source;
        lambda.event_version = record.event_version;
        lambda.event_source_arn = Some(self.stream_arn.clone());
        if let Some(change) = record.dynamodb {
            let mut stream = StreamRecord::default();
            if let Some(at) = change.approximate_creation_date_time {
                stream.approximate_creation_date_time =
                    chrono::DateTime::from_timestamp(at.secs(), at.subsec_nanos())
                        .unwrap_or_default();
            }
            stream.keys = item(change.keys);
            stream.new_image = item(change.new_image);
            stream.old_image = item(change.old_image);
            stream.sequence_number = change.sequence_number;
            stream.size_bytes = change.size_bytes.unwrap_or_default();
            stream.stream_view_type = change.stream_view_type.and_then(|view| match view {
                SdkViewType::NewAndOldImages => Some(StreamViewType::NewAndOldImages),
                SdkViewType::NewImage => Some(StreamViewType::NewImage),
                SdkViewType::OldImage => Some(StreamViewType::OldImage),
                SdkViewType::KeysOnly => Some(StreamViewType::KeysOnly),
                _ => None,
            });
            lambda.change = stream;
        }
        lambda
    }
}

fn item(image: Option<HashMap<String, AttributeValue>>) -> serde_dynamo::Item {
    image.map(serde_dynamo::Item::from).unwrap_or_default()
}
