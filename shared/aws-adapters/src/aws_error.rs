//! What an AWS call that failed says in a log line: the SDK's account of the error and the HTTP
//! status behind it (a 403 from a missing IAM action reads as such, even where the service's
//! error body cannot be parsed). Never sent to clients.

use aws_sdk_dynamodb::config::http::HttpResponse;
use aws_sdk_dynamodb::error::{DisplayErrorContext, SdkError};

pub fn describe<E>(error: SdkError<E, HttpResponse>) -> String
where
    E: std::error::Error + Send + Sync + 'static,
{
    let status = error.raw_response().map(|raw| raw.status().as_u16());
    let text = DisplayErrorContext(error).to_string();
    match status {
        Some(status) => format!("{text} (HTTP {status})"),
        None => text,
    }
}

/// What came of a call: done, refused in a way the caller expects (which `expected` says: a
/// failed condition, a secret already deleted), or failed, as its log line says.
pub(crate) enum Outcome {
    Done,
    Expected,
    Failed(String),
}

pub(crate) fn outcome<O, E>(
    result: Result<O, SdkError<E, HttpResponse>>,
    expected: impl Fn(&E) -> bool,
) -> Outcome
where
    E: std::error::Error + Send + Sync + 'static,
{
    match result {
        Ok(_) => Outcome::Done,
        Err(error) if error.as_service_error().is_some_and(expected) => Outcome::Expected,
        Err(error) => Outcome::Failed(describe(error)),
    }
}

impl Outcome {
    /// What failed, when the call did: done and expected both mean what was asked is in place.
    pub(crate) fn failure(self) -> Option<String> {
        match self {
            Outcome::Failed(detail) => Some(detail),
            Outcome::Done | Outcome::Expected => None,
        }
    }
}
