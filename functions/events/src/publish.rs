//! Where events go: EventBridge's `PutEvents` on Strongroom's own bus, behind a port so the
//! handler's batching and failure reporting are tested against any publisher.

use std::future::Future;

use aws_sdk_eventbridge::error::DisplayErrorContext;
use aws_sdk_eventbridge::types::PutEventsRequestEntry;
use aws_smithy_types::DateTime;
use strongroom_aws::SdkConfig;
use strongroom_aws::config::{ConfigError, required_env};

use crate::change::CredentialEvent;

/// The most entries one `PutEvents` request takes.
pub const MAX_ENTRIES: usize = 10;

pub const BUS_ENV: &str = "STRONGROOM_EVENT_BUS";
pub const SOURCE_ENV: &str = "STRONGROOM_EVENT_SOURCE";
pub const DEFAULT_SOURCE: &str = "strongroom";

/// A request that was not answered, or answered in a way that says nothing of its entries.
#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    #[error("the event bus did not answer: {0}")]
    Unavailable(String),
    #[error("the event bus answered for {answered} of {sent} entries")]
    Mismatched { sent: usize, answered: usize },
    #[error("an event could not be written as JSON: {0}")]
    Unwritable(#[from] serde_json::Error),
}

/// Publishes events.
pub trait EventPublisher: Send + Sync {
    /// Publishes `events` (at most [`MAX_ENTRIES`]) in one request and answers, in their order,
    /// whether each was accepted (`Err` with the bus's reason when refused).
    fn publish(
        &self,
        events: &[CredentialEvent],
    ) -> impl Future<Output = Result<Vec<Result<(), String>>, PublishError>> + Send;
}

/// Which bus, and the `source` every event carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventSettings {
    /// The bus's name or ARN.
    pub bus: String,
    pub source: String,
}

impl EventSettings {
    pub fn from_env() -> Result<Self, ConfigError> {
        Ok(EventSettings {
            bus: required_env(BUS_ENV)?,
            source: std::env::var(SOURCE_ENV)
                .ok()
                .filter(|s| !s.trim().is_empty())
                .unwrap_or_else(|| DEFAULT_SOURCE.to_owned()),
        })
    }
}

pub struct EventBridgePublisher {
    client: aws_sdk_eventbridge::Client,
    settings: EventSettings,
}

impl EventBridgePublisher {
    pub fn new(sdk: &SdkConfig, settings: EventSettings) -> Self {
        EventBridgePublisher {
            client: aws_sdk_eventbridge::Client::new(sdk),
            settings,
        }
    }

    /// Reads the configuration the template sets and builds the client on the sandbox's one
    /// HTTP client. No connection is opened during init: no caller waits on this function.
    pub fn from_env() -> Result<Self, ConfigError> {
        let settings = EventSettings::from_env()?;
        strongroom_aws::init::phase("configuration");
        let (_, sdk) = strongroom_aws::sdk_from_env()?;
        let publisher = EventBridgePublisher::new(&sdk, settings);
        strongroom_aws::init::phase("clients");
        Ok(publisher)
    }
}

impl EventPublisher for EventBridgePublisher {
    async fn publish(
        &self,
        events: &[CredentialEvent],
    ) -> Result<Vec<Result<(), String>>, PublishError> {
        let entries = events
            .iter()
            .map(|event| {
                Ok(PutEventsRequestEntry::builder()
                    .event_bus_name(&self.settings.bus)
                    .source(&self.settings.source)
                    .detail_type(event.event_type.as_str())
                    .detail(serde_json::to_string(&event.detail)?)
                    .time(DateTime::from_secs(event.detail.at.unix_timestamp()))
                    .build())
            })
            .collect::<Result<Vec<_>, PublishError>>()?;
        let output = self
            .client
            .put_events()
            .set_entries(Some(entries))
            .send()
            .await
            .map_err(|e| PublishError::Unavailable(DisplayErrorContext(e).to_string()))?;
        let answers = output.entries();
        if answers.len() != events.len() {
            return Err(PublishError::Mismatched {
                sent: events.len(),
                answered: answers.len(),
            });
        }
        Ok(answers
            .iter()
            .map(|answer| match answer.error_code() {
                None => Ok(()),
                Some(code) => Err(format!("{code}: {}", answer.error_message().unwrap_or(""))),
            })
            .collect())
    }
}
