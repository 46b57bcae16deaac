//! When a credential expires, and the status it reads as. Expiry is computed when a credential
//! is read, so nothing has to run for an active credential to read as `expired` on time.

use credential_model::credential::{in_utc_seconds, parse_timestamp};
use credential_model::json;
use serde_json::Value;
use serde_json::value::RawValue;
use time::{Duration, OffsetDateTime};

use crate::Status;

/// The status an active credential past its `expires_at` reads as. Never stored.
pub(crate) const EXPIRED: &str = "expired";

/// Whole seconds of a JSON number, integer or not.
fn seconds(value: &Value) -> Option<i64> {
    value.as_i64().or_else(|| {
        value
            .as_f64()
            .filter(|s| s.is_finite())
            .map(|s| s.trunc() as i64)
    })
}

/// When the raw credentials say they expire: their `expires_at` (RFC 3339, or Unix seconds),
/// else their `expires_in` (seconds from `now`), as OAuth token responses carry it. A value
/// that is neither is not an expiry Strongroom can know, so it is ignored: the object is the
/// client's own and may hold anything.
pub(crate) fn from_credentials(
    credentials: &RawValue,
    now: OffsetDateTime,
) -> Option<OffsetDateTime> {
    let fields = json::object(credentials)?;
    let value = |name: &str| {
        json::field(&fields, name).and_then(|raw| serde_json::from_str::<Value>(raw.get()).ok())
    };
    let expires_at = value("expires_at").and_then(|value| match value {
        Value::String(text) => parse_timestamp(&text),
        number => seconds(&number)
            .and_then(|s| OffsetDateTime::from_unix_timestamp(s).ok())
            .map(in_utc_seconds),
    });
    expires_at.or_else(|| {
        let lifetime = seconds(&value("expires_in")?)?;
        now.checked_add(Duration::seconds(lifetime))
            .map(in_utc_seconds)
    })
}

/// The status a credential reads as at `now`. Only an active credential expires: `inactive`
/// and `revoked` were set on purpose and say more than `expired` would.
pub(crate) fn effective_status(
    stored: Status,
    expires_at: Option<OffsetDateTime>,
    now: OffsetDateTime,
) -> &'static str {
    match expires_at {
        Some(at) if stored == Status::Active && at <= now => EXPIRED,
        _ => stored.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2026-03-28 14:00:00 UTC);

    fn expiry(credentials: Value) -> Option<OffsetDateTime> {
        let text = credentials.to_string();
        from_credentials(json::parse(&text).expect("JSON"), NOW)
    }

    #[test]
    fn expires_at_as_rfc3339_is_normalised_to_utc_seconds() {
        assert_eq!(
            expiry(json!({"access_token": "t", "expires_at": "2026-03-28T16:30:00.75+02:00"})),
            Some(datetime!(2026-03-28 14:30:00 UTC))
        );
    }

    #[test]
    fn expires_at_as_unix_seconds() {
        assert_eq!(
            expiry(json!({"expires_at": 1_774_706_400})),
            Some(datetime!(2026-03-28 14:00:00 UTC))
        );
        assert_eq!(
            expiry(json!({"expires_at": 1_774_706_400.9})),
            Some(datetime!(2026-03-28 14:00:00 UTC))
        );
    }

    #[test]
    fn expires_in_counts_from_now() {
        assert_eq!(
            expiry(json!({"access_token": "t", "expires_in": 3600})),
            Some(datetime!(2026-03-28 15:00:00 UTC))
        );
        assert_eq!(
            expiry(json!({"expires_in": -60})),
            Some(datetime!(2026-03-28 13:59:00 UTC))
        );
    }

    #[test]
    fn expires_at_wins_over_expires_in() {
        assert_eq!(
            expiry(json!({"expires_at": "2027-01-01T00:00:00Z", "expires_in": 60})),
            Some(datetime!(2027-01-01 00:00:00 UTC))
        );
    }

    #[test]
    fn values_that_are_not_an_expiry_are_ignored() {
        for credentials in [
            json!({"api_key": "k"}),
            json!({"expires_at": "tomorrow"}),
            json!({"expires_at": true}),
            json!({"expires_at": 1e300}),
            json!({"expires_in": "3600"}),
            json!({"expires_in": i64::MAX}),
            json!({"expires_at": null, "expires_in": null}),
        ] {
            assert_eq!(expiry(credentials.clone()), None, "{credentials}");
        }
    }

    #[test]
    fn only_an_active_credential_past_its_expiry_reads_as_expired() {
        let past = Some(datetime!(2026-03-28 13:59:59 UTC));
        let future = Some(datetime!(2026-03-28 14:00:01 UTC));
        assert_eq!(effective_status(Status::Active, past, NOW), EXPIRED);
        assert_eq!(effective_status(Status::Active, Some(NOW), NOW), EXPIRED);
        assert_eq!(effective_status(Status::Active, future, NOW), "active");
        assert_eq!(effective_status(Status::Active, None, NOW), "active");
        assert_eq!(effective_status(Status::Revoked, past, NOW), "revoked");
        assert_eq!(effective_status(Status::Inactive, past, NOW), "inactive");
    }
}
