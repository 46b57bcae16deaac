//! The rotation function: one Lambda for every event that concerns rotation.
//!
//! - Secrets Manager's rotation steps (`{SecretId, ClientRequestToken, Step}`), unchanged:
//!   it is the `RotationLambdaARN` of Strongroom's secrets.
//! - Secrets Manager's rotation outcomes through EventBridge (`RotationSucceeded`,
//!   `RotationFailed`, `RotationAbandoned`): how rotations Strongroom did not drive (AWS's
//!   templates, the console) reach the credential's metadata.
//! - `strongroom.rotation.requested` (`{organization, credentialId}`): a rotation a platform
//!   team's rule asks for.
//! - `credential.created` (Strongroom's own): a connection that replaced a rotated one keeps
//!   its rotation settings, and its new secret is scheduled here.

use std::time::Duration;

use aws_lambda_events::eventbridge::EventBridgeEvent;
use aws_lambda_events::secretsmanager::SecretsManagerSecretRotationEvent;
use credential_model::ports::{Backend, CredentialRepository};
use credential_model::rotation::{
    DatabaseAccounts, PasswordPolicy, RotationControl, RotationVault,
};
use credential_model::{CredentialId, OrgId};
use serde_json::Value;
use strongroom_aws::config::ConfigError;
use strongroom_aws::{
    DynamoRepository, SdkConfig, SecretsManagerRotation, SecretsManagerVault, StoreSettings, init,
};
use strongroom_connectors::DatabaseAccountsDriver;
use strongroom_rotation::{Outcome, RotationError, Rotator, Step};

/// The `detail-type` of a rotation a rule requests.
pub const ROTATION_REQUESTED: &str = "strongroom.rotation.requested";
/// The `detail-type` of Strongroom's own event for a new credential (`strongroom-events`).
pub const CREDENTIAL_CREATED: &str = "credential.created";

/// The function's dependencies in Lambda.
pub type AwsDeps =
    Deps<DynamoRepository, SecretsManagerVault, DatabaseAccountsDriver, SecretsManagerRotation>;

/// The rotation use case as the function runs it.
pub type AwsRotator = Rotator<DynamoRepository, SecretsManagerVault, DatabaseAccountsDriver>;

/// The rotation use case on the clients of `sdk`, with the default password policy: what the
/// function builds, and what the local stack runs in-process.
pub fn rotator(sdk: &SdkConfig, settings: &StoreSettings) -> AwsRotator {
    Rotator::new(
        DynamoRepository::new(aws_sdk_dynamodb::Client::new(sdk), &settings.table),
        SecretsManagerVault::new(aws_sdk_secretsmanager::Client::new(sdk), settings),
        DatabaseAccountsDriver::new(DATABASE_TIMEOUT),
        &settings.secret_prefix,
    )
}

/// How long a rotation waits for a database to answer a login or a statement.
pub const DATABASE_TIMEOUT: Duration = Duration::from_secs(5);

const PASSWORD_LENGTH_ENV: &str = "STRONGROOM_PASSWORD_LENGTH";
const EVENT_SOURCE_ENV: &str = "STRONGROOM_EVENT_SOURCE";

/// Reads the configuration the template sets and builds the clients, once per sandbox.
pub async fn deps_from_env() -> Result<AwsDeps, ConfigError> {
    let settings = StoreSettings::from_env()?;
    let policy = match std::env::var(PASSWORD_LENGTH_ENV) {
        Err(_) => PasswordPolicy::default(),
        Ok(text) => match text.trim().parse::<usize>() {
            Ok(length) if (16..=128).contains(&length) => PasswordPolicy { length },
            _ => {
                return Err(ConfigError::Invalid {
                    name: PASSWORD_LENGTH_ENV,
                    reason: "must be a whole number from 16 to 128",
                });
            }
        },
    };
    let event_source = std::env::var(EVENT_SOURCE_ENV).unwrap_or_else(|_| "strongroom".into());
    init::phase("configuration");
    let (http, sdk) = strongroom_aws::sdk_from_env()?;
    let rotator = rotator(&sdk, &settings).with_policy(policy);
    // One Secrets Manager client for the steps and for the rotations rules request.
    let control = SecretsManagerRotation::from_env(rotator.vault().client().clone());
    init::phase("clients");
    strongroom_aws::preopen(&http, &sdk, &[Backend::Metadata, Backend::Secrets]).await;
    init::phase("connections");
    Ok(Deps {
        rotator,
        control,
        event_source,
    })
}

/// What the function needs, built once per sandbox.
pub struct Deps<R, V, D, C> {
    pub rotator: Rotator<R, V, D>,
    /// Starts rotations that rules request (Secrets Manager's RotateSecret).
    pub control: C,
    /// The `source` Strongroom's own events carry.
    pub event_source: String,
}

/// An event the function answers.
#[derive(Debug, PartialEq)]
pub enum Event {
    Step {
        step: Step,
        secret_id: String,
        token: String,
    },
    Outcome {
        secret_id: String,
        outcome: Outcome,
    },
    Requested {
        organization: OrgId,
        id: CredentialId,
    },
    /// A credential was created: one that replaced a rotated one keeps its schedule.
    Created {
        organization: OrgId,
        id: CredentialId,
    },
    /// Another Secrets Manager event the rule let through (`RotationStarted`): nothing to do.
    Ignored(String),
}

/// Reads `event`, or says why it cannot be handled (without echoing it: it names secrets).
pub fn parse(event: Value, event_source: &str) -> Result<Event, String> {
    if event.get("Step").is_some() {
        let event: SecretsManagerSecretRotationEvent =
            serde_json::from_value(event).map_err(|e| format!("not a rotation event: {e}"))?;
        let step = Step::parse(&event.step)
            .ok_or_else(|| format!("unknown rotation step `{}`", event.step))?;
        return Ok(Event::Step {
            step,
            secret_id: event.secret_id,
            token: event.client_request_token,
        });
    }
    let event: EventBridgeEvent<Value> =
        serde_json::from_value(event).map_err(|e| format!("not an EventBridge event: {e}"))?;
    match (event.source.as_str(), event.detail_type.as_str()) {
        ("aws.secretsmanager", _) => {
            let name = event.detail.get("eventName").and_then(Value::as_str);
            let outcome = match name {
                Some("RotationSucceeded") => Outcome::Succeeded,
                Some("RotationFailed" | "RotationAbandoned") => Outcome::Failed,
                other => return Ok(Event::Ignored(other.unwrap_or_default().to_owned())),
            };
            let secret_id = event
                .detail
                .pointer("/additionalEventData/SecretId")
                .and_then(Value::as_str)
                .ok_or("the Secrets Manager event names no secret")?;
            Ok(Event::Outcome {
                secret_id: secret_id.to_owned(),
                outcome,
            })
        }
        (source, ROTATION_REQUESTED) if source == event_source => {
            let (organization, id) = credential(&event.detail, "credentialId")?;
            Ok(Event::Requested { organization, id })
        }
        (source, CREDENTIAL_CREATED) if source == event_source => {
            let (organization, id) = credential(&event.detail, "id")?;
            Ok(Event::Created { organization, id })
        }
        (source, detail_type) => Err(format!("unexpected event `{detail_type}` from `{source}`")),
    }
}

/// The credential an event of Strongroom's names: its `organization` and its id at `id_field`.
fn credential(detail: &Value, id_field: &str) -> Result<(OrgId, CredentialId), String> {
    let text = |field: &str| detail.get(field).and_then(Value::as_str);
    let organization = text("organization")
        .and_then(OrgId::parse)
        .ok_or("the event's `organization` is not an organization id")?;
    let id = text(id_field)
        .and_then(CredentialId::parse)
        .ok_or_else(|| format!("the event's `{id_field}` is not a credential id"))?;
    Ok((organization, id))
}

/// Handles one event. An error fails the invocation: Secrets Manager then retries the
/// rotation with the same token, EventBridge retries the delivery.
pub async fn handle<R, V, D, C>(deps: &Deps<R, V, D, C>, event: Value) -> Result<Value, String>
where
    R: CredentialRepository,
    V: RotationVault,
    D: DatabaseAccounts,
    C: RotationControl,
{
    let result: Result<Value, RotationError> = match parse(event, &deps.event_source)? {
        Event::Step {
            step,
            secret_id,
            token,
        } => deps
            .rotator
            .run(step, &secret_id, &token)
            .await
            .map(|()| Value::Null),
        Event::Outcome { secret_id, outcome } => deps
            .rotator
            .follow_outcome(&secret_id, outcome)
            .await
            .map(|()| Value::Null),
        Event::Requested { organization, id } => deps
            .rotator
            .request(&organization, id, &deps.control)
            .await
            .map(|token| serde_json::json!({ "token": token })),
        Event::Created { organization, id } => deps
            .rotator
            .schedule_created(&organization, id, &deps.control)
            .await
            .map(|()| Value::Null),
        Event::Ignored(name) => {
            tracing::debug!(event = name, "nothing to do");
            Ok(Value::Null)
        }
    };
    result.map_err(|error| error.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(text: &str) -> Value {
        serde_json::from_str(text).expect("a JSON fixture")
    }

    #[test]
    fn the_sample_events_read_as_what_they_are() {
        let step = parse(
            fixture(include_str!("../../../events/rotation-create-secret.json")),
            "strongroom",
        );
        assert!(
            matches!(
                step,
                Ok(Event::Step {
                    step: Step::Create,
                    ..
                })
            ),
            "{step:?}"
        );
        let outcome = parse(
            fixture(include_str!("../../../events/rotation-succeeded.json")),
            "strongroom",
        );
        assert!(
            matches!(
                outcome,
                Ok(Event::Outcome {
                    outcome: Outcome::Succeeded,
                    ..
                })
            ),
            "{outcome:?}"
        );
        let requested = parse(
            fixture(include_str!("../../../events/rotation-requested.json")),
            "strongroom",
        );
        assert!(
            matches!(requested, Ok(Event::Requested { .. })),
            "{requested:?}"
        );
    }

    #[test]
    fn unknown_steps_and_sources_are_refused_without_echoing_the_event() {
        let error = parse(
            serde_json::json!({"Step": "dropSecret", "SecretId": "s", "ClientRequestToken": "t"}),
            "strongroom",
        )
        .expect_err("refused");
        assert!(error.contains("dropSecret"), "{error}");
        let mut requested = fixture(include_str!("../../../events/rotation-requested.json"));
        requested["source"] = "someone.else".into();
        let error = parse(requested, "strongroom").expect_err("refused");
        assert!(error.contains("someone.else"), "{error}");
        let mut started = fixture(include_str!("../../../events/rotation-succeeded.json"));
        started["detail"]["eventName"] = "RotationStarted".into();
        assert_eq!(
            parse(started, "strongroom"),
            Ok(Event::Ignored("RotationStarted".into()))
        );
    }
}
