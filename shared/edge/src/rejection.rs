//! Every way a request can be refused, with its HTTP status and a message safe for clients.
//! Families choose the shape; the status and words are the same everywhere.

use std::fmt;

use credential_model::tenancy::authorizer_context::Unauthenticated;
use credential_model::validation::FieldErrors;
use credential_model::{Error, Scope};
use lambda_http::http::StatusCode;

#[derive(Debug)]
pub enum Rejection {
    Unauthenticated(Unauthenticated),
    Forbidden {
        needed: Scope,
    },
    UnsupportedMediaType,
    PayloadTooLarge {
        limit: usize,
    },
    MalformedJson {
        line: usize,
        column: usize,
        problem: &'static str,
    },
    /// The request names a tenant other than the caller's (Mielto's `X-Workspace-Id`, Nile's
    /// workspace): for this caller it does not exist.
    OtherTenant,
    Domain(Error),
}

impl Rejection {
    pub fn status(&self) -> StatusCode {
        match self {
            Rejection::Unauthenticated(_) => StatusCode::UNAUTHORIZED,
            Rejection::Forbidden { .. } => StatusCode::FORBIDDEN,
            Rejection::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Rejection::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Rejection::MalformedJson { .. } => StatusCode::BAD_REQUEST,
            Rejection::OtherTenant => StatusCode::NOT_FOUND,
            Rejection::Domain(error) => match error {
                Error::Invalid(_) | Error::Refused(_) => StatusCode::BAD_REQUEST,
                Error::NotFound => StatusCode::NOT_FOUND,
                Error::Conflict(_) => StatusCode::CONFLICT,
                Error::Unavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
                Error::Corrupt { .. } => StatusCode::INTERNAL_SERVER_ERROR,
            },
        }
    }

    /// A machine-readable code for families whose shape carries one.
    pub fn code(&self) -> &'static str {
        match self {
            Rejection::Unauthenticated(_) => "unauthenticated",
            Rejection::Forbidden { .. } => "forbidden",
            Rejection::UnsupportedMediaType => "unsupported_media_type",
            Rejection::PayloadTooLarge { .. } => "payload_too_large",
            Rejection::MalformedJson { .. } => "malformed_json",
            Rejection::OtherTenant => "not_found",
            Rejection::Domain(error) => match error {
                Error::Invalid(_) => "invalid_request",
                Error::Refused(_) => "refused",
                Error::NotFound => "not_found",
                Error::Conflict(_) => "conflict",
                Error::Unavailable { .. } => "service_unavailable",
                Error::Corrupt { .. } => "internal_error",
            },
        }
    }

    /// The field errors, when the rejection is about fields.
    pub fn field_errors(&self) -> Option<&FieldErrors> {
        match self {
            Rejection::Domain(Error::Invalid(errors)) => Some(errors),
            _ => None,
        }
    }

    /// Logs what a client is not told: the cause of a server-side failure.
    pub fn log(&self) {
        match self {
            Rejection::Domain(error @ (Error::Unavailable { .. } | Error::Corrupt { .. })) => {
                tracing::error!(%error, "request failed");
            }
            Rejection::Domain(Error::Conflict(_)) => {
                tracing::warn!("concurrent write lost the race");
            }
            _ => {}
        }
    }
}

/// The client-facing message: never a secret, never an internal detail.
impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Rejection::Unauthenticated(reason) => write!(f, "Unauthorized: {reason}"),
            Rejection::Forbidden { needed } => {
                write!(f, "Forbidden: this operation needs the {needed} scope")
            }
            Rejection::UnsupportedMediaType => f.write_str("Content-Type must be application/json"),
            Rejection::PayloadTooLarge { limit } => {
                write!(f, "the request body is larger than {limit} bytes")
            }
            Rejection::MalformedJson {
                line,
                column,
                problem,
            } => write!(f, "{problem} (line {line}, column {column})"),
            Rejection::OtherTenant => f.write_str("not found"),
            Rejection::Domain(error) => match error {
                Error::Invalid(errors) => write!(f, "{errors}"),
                Error::NotFound => f.write_str("not found"),
                Error::Conflict(why) => f.write_str(why),
                Error::Refused(reason) => f.write_str(reason),
                Error::Unavailable { dependency, .. } => {
                    write!(f, "{dependency} is temporarily unavailable; retry shortly")
                }
                Error::Corrupt { .. } => f.write_str("internal error"),
            },
        }
    }
}

impl From<Error> for Rejection {
    fn from(error: Error) -> Self {
        Rejection::Domain(error)
    }
}

impl From<FieldErrors> for Rejection {
    fn from(errors: FieldErrors) -> Self {
        Rejection::Domain(Error::Invalid(errors))
    }
}
