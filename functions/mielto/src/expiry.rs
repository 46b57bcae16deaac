//! When a credential expires, and the status it reads as. Expiry is computed when a credential
//! is read, so nothing has to run for an active credential to read as `expired` on time.

use credential_model::credential::parse_rfc3339;
use serde_json::{Map, Value};
use time::{Duration, OffsetDateTime, UtcOffset};

/// The status a client may store.
pub(crate) const ACTIVE: &str = "active";
/// The status an active credential past its `expires_at` reads as. Never stored.
pub(crate) const EXPIRED: &str = "expired";

/// An RFC 3339 timestamp, in UTC to the second as every stored timestamp is.
pub(crate) fn parse_timestamp(text: &str) -> Option<OffsetDateTime> {
    parse_rfc3339(text).map(in_utc_seconds)
}

fn in_utc_seconds(at: OffsetDateTime) -> OffsetDateTime {
    let at = at.to_offset(UtcOffset::UTC);
    at.replace_nanosecond(0).unwrap_or(at)
}

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
    credentials: &Map<String, Value>,
    now: OffsetDateTime,
) -> Option<OffsetDateTime> {
    let expires_at = credentials.get("expires_at").and_then(|value| match value {
        Value::String(text) => parse_timestamp(text),
        number => seconds(number)
            .and_then(|s| OffsetDateTime::from_unix_timestamp(s).ok())
            .map(in_utc_seconds),
    });
    expires_at.or_else(|| {
        let lifetime = seconds(credentials.get("expires_in")?)?;
        now.checked_add(Duration::seconds(lifetime))
            .map(in_utc_seconds)
    })
}

/// The status a credential reads as at `now`. Only an active credential expires: `inactive`
/// and `revoked` were set on purpose and say more than `expired` would.
pub(crate) fn effective_status(
    stored: &str,
    expires_at: Option<OffsetDateTime>,
    now: OffsetDateTime,
) -> &str {
    match expires_at {
        Some(at) if stored == ACTIVE && at <= now => EXPIRED,
        _ => stored,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2026-03-28 14:00:00 UTC);

    fn expiry(credentials: Value) -> Option<OffsetDateTime> {
        from_credentials(credentials.as_object().expect("an object"), NOW)
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
        assert_eq!(effective_status(ACTIVE, past, NOW), EXPIRED);
        assert_eq!(effective_status(ACTIVE, Some(NOW), NOW), EXPIRED);
        assert_eq!(effective_status(ACTIVE, future, NOW), ACTIVE);
        assert_eq!(effective_status(ACTIVE, None, NOW), ACTIVE);
        assert_eq!(effective_status("revoked", past, NOW), "revoked");
        assert_eq!(effective_status("inactive", past, NOW), "inactive");
    }
}
