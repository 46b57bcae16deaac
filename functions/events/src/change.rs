//! What one change to the table means outside Strongroom: a pure function from an item's
//! images before and after a write to the events it publishes.
//!
//! Only allow-listed fields leave: id, organization, family, kind, provider, version, a time and
//! a failed rotation's reason. An item's settings, attributes, secret ARN and version, creator
//! and anything added to it later are never read into an event, so no secret material can reach
//! one even where a bug put it in an item.

use credential_model::rotation::{Rotation, RotationState, RotationStatus};
use credential_model::{CredentialId, CredentialKind};
use serde::{Deserialize, Serialize};
use serde_dynamo::{AttributeValue, Item};
use time::OffsetDateTime;

/// The kinds of event, as their `detail-type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, strum::IntoStaticStr, strum::Display)]
pub enum EventType {
    #[strum(serialize = "credential.created")]
    Created,
    #[strum(serialize = "credential.updated")]
    Updated,
    #[strum(serialize = "credential.deleted")]
    Deleted,
    #[strum(serialize = "credential.rotated")]
    Rotated,
    #[strum(serialize = "credential.rotation_failed")]
    RotationFailed,
}

impl EventType {
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    /// The `detail-type` without its `credential.` prefix.
    fn short(self) -> &'static str {
        let name = self.as_str();
        name.strip_prefix("credential.").unwrap_or(name)
    }
}

/// An event's `detail`: every field it has, and all it will ever carry.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Detail {
    pub id: CredentialId,
    pub organization: String,
    /// The API family the credential belongs to (`levered`, `lightdash`, `mielto`, `credible`,
    /// `nile`).
    pub family: &'static str,
    pub kind: CredentialKind,
    pub provider: String,
    /// The version the change wrote (a deletion: the last version).
    pub version: u64,
    /// When it happened: the write's own time where the item records one, else when the stream
    /// recorded the change (a deletion).
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// Why a rotation failed: what the database or Secrets Manager said.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// `{id}:{version}:{event}`: the same for every delivery of one event, so consumers can
    /// drop the duplicates at-least-once delivery brings.
    pub idempotency_key: String,
}

/// One event to publish.
#[derive(Debug, Clone, PartialEq)]
pub struct CredentialEvent {
    pub event_type: EventType,
    pub detail: Detail,
}

/// A credential item (its `kind` is a credential kind) that does not read as one.
#[derive(Debug, thiserror::Error)]
#[error("the credential item {slot:?} cannot be read: {problem}")]
pub struct UnreadableItem {
    slot: Option<String>,
    problem: String,
}

/// The fields of an item an event may use, and the rotation state that decides which event.
#[derive(Deserialize)]
struct Stored {
    pk: String,
    id: CredentialId,
    kind: CredentialKind,
    provider: String,
    version: u64,
    #[serde(with = "time::serde::rfc3339")]
    created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    updated_at: OffsetDateTime,
    #[serde(default)]
    rotation: Rotation,
}

struct Credential {
    organization: String,
    stored: Stored,
}

/// The credential `item` holds; `None` for an absent image and for items that are not
/// credential records (no `kind`, or a kind this build does not know).
fn read(item: &Item) -> Result<Option<Credential>, UnreadableItem> {
    let Some(AttributeValue::S(kind)) = item.get("kind") else {
        return Ok(None);
    };
    if CredentialKind::parse(kind).is_none() {
        return Ok(None);
    }
    let unreadable = |problem: String| UnreadableItem {
        slot: match item.get("sk") {
            Some(AttributeValue::S(slot)) => Some(slot.clone()),
            _ => None,
        },
        problem,
    };
    let stored: Stored =
        serde_dynamo::from_item(item.clone()).map_err(|e| unreadable(e.to_string()))?;
    let organization = stored
        .pk
        .strip_prefix("ORG#")
        .filter(|org| !org.is_empty())
        .ok_or_else(|| unreadable("its partition key is not ORG#{organization}".into()))?
        .to_owned();
    Ok(Some(Credential {
        organization,
        stored,
    }))
}

fn event(
    event_type: EventType,
    credential: &Credential,
    at: OffsetDateTime,
    reason: Option<String>,
) -> CredentialEvent {
    let stored = &credential.stored;
    CredentialEvent {
        event_type,
        detail: Detail {
            id: stored.id,
            organization: credential.organization.clone(),
            family: stored.kind.family(),
            kind: stored.kind,
            provider: stored.provider.clone(),
            version: stored.version,
            at,
            reason,
            idempotency_key: format!("{}:{}:{}", stored.id, stored.version, event_type.short()),
        },
    }
}

/// The events of one change: `old` and `new` are the item's images before and after it (empty
/// when absent), `recorded_at` when the stream recorded it.
///
/// - a credential appears: `created`; it goes: `deleted`;
/// - another credential under the same key (Levered's replace: a new id): `deleted` of the old
///   one, then `created` of the new one;
/// - a rotation succeeded (`last_rotated_at` moved): `rotated`;
/// - a rotation failed (the state changed, to `failed`): `rotation_failed`, with its reason;
/// - a rotation's own steps that change only its state (`in-progress`): nothing — consumers
///   hear of a rotation once, by its outcome;
/// - any other change: `updated`.
pub fn events(
    old: &Item,
    new: &Item,
    recorded_at: OffsetDateTime,
) -> Result<Vec<CredentialEvent>, UnreadableItem> {
    Ok(match (read(old)?, read(new)?) {
        (None, None) => Vec::new(),
        (None, Some(created)) => {
            let at = created.stored.created_at;
            vec![event(EventType::Created, &created, at, None)]
        }
        (Some(deleted), None) => vec![event(EventType::Deleted, &deleted, recorded_at, None)],
        (Some(before), Some(after)) if before.stored.id != after.stored.id => vec![
            event(EventType::Deleted, &before, recorded_at, None),
            event(EventType::Created, &after, after.stored.created_at, None),
        ],
        (Some(before), Some(after)) => modified(old, new, &before, &after).into_iter().collect(),
    })
}

fn modified(
    old: &Item,
    new: &Item,
    before: &Credential,
    after: &Credential,
) -> Option<CredentialEvent> {
    let was = before.stored.rotation.state.as_ref();
    let is = after.stored.rotation.state.as_ref();
    let last_rotated = |state: Option<&RotationState>| state.and_then(|s| s.last_rotated_at);
    if let Some(at) = last_rotated(is).filter(|at| Some(*at) != last_rotated(was)) {
        return Some(event(EventType::Rotated, after, at, None));
    }
    if let Some(failed) = is.filter(|s| s.status == RotationStatus::Failed && Some(*s) != was) {
        let reason = failed.reason.clone();
        return Some(event(EventType::RotationFailed, after, failed.at, reason));
    }
    if was != is && without_rotation_state(old) == without_rotation_state(new) {
        return None;
    }
    Some(event(
        EventType::Updated,
        after,
        after.stored.updated_at,
        None,
    ))
}

/// `item` without what every write changes (`version`, `updated_at`) and its rotation state:
/// equal for two images when a write changed nothing but the state.
fn without_rotation_state(item: &Item) -> Item {
    let mut item = item.clone();
    item.remove("version");
    item.remove("updated_at");
    if let Some(AttributeValue::M(rotation)) = item.get_mut("rotation") {
        rotation.remove("state");
        if rotation.is_empty() {
            item.remove("rotation");
        }
    }
    item
}

#[cfg(test)]
mod tests;
