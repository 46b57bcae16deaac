use serde_json::{Value, json};
use time::macros::datetime;

use super::*;

const ID: &str = "0b6f7a8e-61a4-4f7e-9a59-1f0c1d2e3f40";
const OTHER_ID: &str = "5d1e2f3a-4b5c-4d6e-8f70-8192a3b4c5d6";
const CANARY: &str = "canary-Pa55w0rd-never-published";
const RECORDED: OffsetDateTime = datetime!(2026-11-24 10:00:00 UTC);

/// An item as the repository writes it, with a canary wherever a careless write could put a
/// secret: settings, attributes, the secret reference, the creator.
fn stored(id: &str, version: u64) -> Value {
    json!({
        "pk": "ORG#org_a",
        "sk": "warehouse-connection#active",
        "id": id,
        "kind": "warehouse-connection",
        "provider": "postgres",
        "settings": {"host": "db.example.com", "password": CANARY, "nested": {"token": CANARY}},
        "attributes": {"dataset_id": "public", "api_key": CANARY},
        "secret_arn": format!("arn:aws:secretsmanager:us-east-1:000000000000:secret:{CANARY}"),
        "secret_version": CANARY,
        "created_by": "user_a",
        "created_at": "2026-11-24T09:00:00Z",
        "updated_at": "2026-11-24T09:30:00Z",
        "version": version,
        CANARY: CANARY,
    })
}

fn item(value: &Value) -> Item {
    serde_dynamo::to_item(value).expect("a DynamoDB item")
}

fn none() -> Item {
    Item::default()
}

fn edited(mut value: Value, edit: impl FnOnce(&mut Value)) -> Value {
    edit(&mut value);
    value
}

fn with_state(value: Value, state: Value) -> Value {
    edited(value, |v| v["rotation"] = json!({"state": state}))
}

fn kinds(events: &[CredentialEvent]) -> Vec<(EventType, String, u64)> {
    events
        .iter()
        .map(|e| (e.event_type, e.detail.id.to_string(), e.detail.version))
        .collect()
}

fn one(old: &Value, new: &Value) -> Vec<CredentialEvent> {
    events(&item(old), &item(new), RECORDED).expect("readable")
}

#[test]
fn a_new_item_is_created_and_a_removed_one_deleted() {
    let created = events(&none(), &item(&stored(ID, 1)), RECORDED).expect("readable");
    assert_eq!(kinds(&created), [(EventType::Created, ID.into(), 1)]);
    assert_eq!(created[0].detail.at, datetime!(2026-11-24 09:00:00 UTC));

    let deleted = events(&item(&stored(ID, 4)), &none(), RECORDED).expect("readable");
    assert_eq!(kinds(&deleted), [(EventType::Deleted, ID.into(), 4)]);
    assert_eq!(deleted[0].detail.at, RECORDED, "when the stream saw it");
}

#[test]
fn the_detail_holds_the_allow_listed_fields_only() {
    let created = events(&none(), &item(&stored(ID, 1)), RECORDED).expect("readable");
    let detail = serde_json::to_value(&created[0].detail).expect("JSON");
    assert_eq!(
        detail,
        json!({
            "id": ID,
            "organization": "org_a",
            "family": "levered",
            "kind": "warehouse-connection",
            "provider": "postgres",
            "version": 1,
            "at": "2026-11-24T09:00:00Z",
            "idempotency_key": format!("{ID}:1:created"),
        })
    );
}

#[test]
fn a_canary_anywhere_in_an_item_never_reaches_an_event() {
    let failed = with_state(
        stored(ID, 3),
        json!({"status": "failed", "at": "2026-11-24T10:00:00Z", "reason": "connection refused",
               "token": CANARY}),
    );
    let replaced = stored(OTHER_ID, 1);
    let changes = [
        (none(), item(&stored(ID, 1))),
        (
            item(&stored(ID, 1)),
            item(&edited(stored(ID, 2), |v| {
                v["settings"]["host"] = json!("x")
            })),
        ),
        (item(&stored(ID, 2)), item(&failed)),
        (item(&stored(ID, 3)), item(&replaced)),
        (item(&stored(ID, 3)), none()),
    ];
    for (old, new) in changes {
        for event in events(&old, &new, RECORDED).expect("readable") {
            let published = serde_json::to_string(&event.detail).expect("JSON");
            assert!(!published.contains(CANARY), "{published}");
        }
    }
}

#[test]
fn a_replacement_under_the_same_key_deletes_the_old_id_and_creates_the_new_one() {
    let replaced = edited(stored(OTHER_ID, 1), |v| {
        v["created_at"] = json!("2026-11-24T10:00:00Z");
    });
    let changes = one(&stored(ID, 3), &replaced);
    assert_eq!(
        kinds(&changes),
        [
            (EventType::Deleted, ID.into(), 3),
            (EventType::Created, OTHER_ID.into(), 1)
        ]
    );
    assert_eq!(changes[1].detail.at, datetime!(2026-11-24 10:00:00 UTC));
    assert_eq!(changes[0].detail.idempotency_key, format!("{ID}:3:deleted"));
}

#[test]
fn a_change_of_fields_is_an_update() {
    let updated = edited(stored(ID, 2), |v| {
        v["attributes"]["dataset_id"] = json!("analytics");
        v["updated_at"] = json!("2026-11-24T09:45:00Z");
    });
    let changes = one(&stored(ID, 1), &updated);
    assert_eq!(kinds(&changes), [(EventType::Updated, ID.into(), 2)]);
    assert_eq!(changes[0].detail.at, datetime!(2026-11-24 09:45:00 UTC));
    // Rotation settings are the credential's own fields: changing them is an update too.
    let scheduled = edited(stored(ID, 2), |v| {
        v["rotation"] =
            json!({"settings": {"schedule": "rate(30 days)", "strategy": "single-user"}});
    });
    assert_eq!(
        kinds(&one(&stored(ID, 1), &scheduled)),
        [(EventType::Updated, ID.into(), 2)]
    );
}

#[test]
fn rotation_outcomes_are_published_and_its_steps_are_not() {
    let in_progress = with_state(
        stored(ID, 2),
        json!({"status": "in-progress", "token": "t1", "at": "2026-11-24T10:00:00Z"}),
    );
    assert!(one(&stored(ID, 1), &in_progress).is_empty());

    let rotated = with_state(
        edited(stored(ID, 3), |v| v["secret_version"] = json!("t1")),
        json!({"status": "succeeded", "token": "t1", "at": "2026-11-24T10:01:00Z",
               "last_rotated_at": "2026-11-24T10:01:00Z"}),
    );
    let changes = one(&in_progress, &rotated);
    assert_eq!(kinds(&changes), [(EventType::Rotated, ID.into(), 3)]);
    assert_eq!(changes[0].detail.at, datetime!(2026-11-24 10:01:00 UTC));

    let next = with_state(
        edited(rotated.clone(), |v| v["version"] = json!(4)),
        json!({"status": "in-progress", "token": "t2", "at": "2026-11-25T10:00:00Z",
               "last_rotated_at": "2026-11-24T10:01:00Z"}),
    );
    assert!(one(&rotated, &next).is_empty(), "last_rotated_at kept");
    let failed = with_state(
        edited(next.clone(), |v| v["version"] = json!(5)),
        json!({"status": "failed", "token": "t2", "at": "2026-11-25T10:00:05Z",
               "last_rotated_at": "2026-11-24T10:01:00Z", "reason": "password authentication failed"}),
    );
    let changes = one(&next, &failed);
    assert_eq!(kinds(&changes), [(EventType::RotationFailed, ID.into(), 5)]);
    assert_eq!(
        changes[0].detail.reason.as_deref(),
        Some("password authentication failed")
    );
    assert_eq!(changes[0].detail.at, datetime!(2026-11-25 10:00:05 UTC));
    let detail = serde_json::to_value(&changes[0].detail).expect("JSON");
    assert_eq!(detail["reason"], "password authentication failed");

    // An update of a credential whose last rotation failed is an update, not another failure.
    let renamed = edited(failed.clone(), |v| {
        v["version"] = json!(6);
        v["attributes"]["dataset_id"] = json!("renamed");
    });
    assert_eq!(
        kinds(&one(&failed, &renamed)),
        [(EventType::Updated, ID.into(), 6)]
    );
    // A rotation step that also changes other fields is an update.
    let moved = with_state(
        edited(stored(ID, 2), |v| v["provider"] = json!("redshift")),
        json!({"status": "in-progress", "token": "t1", "at": "2026-11-24T10:00:00Z"}),
    );
    assert_eq!(
        kinds(&one(&stored(ID, 1), &moved)),
        [(EventType::Updated, ID.into(), 2)]
    );
}

#[test]
fn items_that_are_not_credentials_are_skipped_and_broken_credentials_refused() {
    let unknown = edited(stored(ID, 1), |v| v["kind"] = json!("api-token"));
    assert!(
        events(&none(), &item(&unknown), RECORDED)
            .expect("skipped")
            .is_empty()
    );
    let no_kind = json!({"pk": "ORG#org_a", "sk": "audit#1", "what": CANARY});
    assert!(
        events(&item(&no_kind), &none(), RECORDED)
            .expect("skipped")
            .is_empty()
    );
    assert!(
        events(&none(), &none(), RECORDED)
            .expect("nothing")
            .is_empty()
    );

    for broken in [
        edited(stored(ID, 1), |v| v["id"] = json!("not-a-uuid")),
        edited(stored(ID, 1), |v| v["pk"] = json!("org_a")),
        edited(stored(ID, 1), |v| {
            v.as_object_mut().map(|o| o.remove("version"));
        }),
    ] {
        let error = events(&none(), &item(&broken), RECORDED).expect_err("unreadable");
        assert!(
            error.to_string().contains("warehouse-connection#active"),
            "{error}"
        );
        assert!(!error.to_string().contains(CANARY), "{error}");
    }
}

#[test]
fn every_kind_names_its_family() {
    use strum::VariantArray;
    let families: Vec<_> = CredentialKind::VARIANTS
        .iter()
        .map(|k| k.family())
        .collect();
    assert_eq!(
        families,
        ["levered", "lightdash", "mielto", "credible", "nile"]
    );
}
