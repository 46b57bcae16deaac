//! Strongroom's events in `make dev`: the table's stream read as the Lambda event source
//! mapping reads it, handed to `strongroom-publish-events`' own handler under that function's
//! IAM identity, so writes through the local API are published on the local bus.

use std::time::Duration;

use strongroom_aws::SdkConfig;
use strongroom_events::{EventBridgePublisher, EventSettings, handle};
use strongroom_local_stack::{ChangeStream, LocalStack, ProvisionError};

/// How often an idle stream is read again.
const POLL: Duration = Duration::from_millis(500);
/// How long a failed read or a reported failure waits before its retry.
const RETRY: Duration = Duration::from_secs(2);

pub struct EventPump {
    stream: ChangeStream,
    publisher: EventBridgePublisher,
}

impl EventPump {
    /// Reads `stack`'s stream and publishes on its bus as `identity` (the publishing function's).
    pub async fn new(
        identity: &SdkConfig,
        stack: &LocalStack,
        source: &str,
    ) -> Result<Self, ProvisionError> {
        let arn = stack.stream_arn.as_deref().ok_or(ProvisionError::Aws {
            what: "the table's stream",
            detail: "the template's table has no StreamSpecification".into(),
        })?;
        let settings = EventSettings {
            bus: stack.event_bus.clone(),
            source: source.to_owned(),
        };
        Ok(EventPump {
            stream: ChangeStream::open(identity, arn).await?,
            publisher: EventBridgePublisher::new(identity, settings),
        })
    }

    /// Publishes every change, in order, until the process ends; a reported failure is retried
    /// from its record, as Lambda retries it.
    pub async fn run(mut self) {
        loop {
            let batch = match self.stream.next_batch().await {
                Ok(batch) if batch.records.is_empty() => {
                    tokio::time::sleep(POLL).await;
                    continue;
                }
                Ok(batch) => batch,
                Err(error) => {
                    tracing::error!(%error, "could not read the table's stream");
                    tokio::time::sleep(RETRY).await;
                    continue;
                }
            };
            let failed = match handle(&self.publisher, batch).await {
                Ok(response) => response
                    .batch_item_failures
                    .into_iter()
                    .find_map(|failure| failure.item_identifier),
                Err(error) => {
                    tracing::error!(%error, "a stream batch failed");
                    None
                }
            };
            if let Some(sequence_number) = failed {
                tokio::time::sleep(RETRY).await;
                if let Err(error) = self.stream.rewind(&sequence_number).await {
                    tracing::error!(%error, "could not read the stream again from a failed record");
                }
            }
        }
    }
}
