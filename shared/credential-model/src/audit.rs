//! The audit log: who did what to which credential, when, from where — never secret material.
//! Events live under their organization, newest first, and are kept for the deployment's
//! retention period.

use std::fmt;
use std::future::Future;

use time::OffsetDateTime;

use crate::credential::CredentialId;
use crate::ports::StoreError;
use crate::tenancy::{OrgId, UserId};

/// What happened.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    strum::EnumString,
    strum::IntoStaticStr,
    strum::VariantArray,
)]
#[strum(serialize_all = "kebab-case")]
pub enum AuditAction {
    /// A credential's secret was read back through the API.
    CredentialRevealed,
    ApiTokenIssued,
    ApiTokenRevoked,
}

impl AuditAction {
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    pub fn parse(text: &str) -> Option<Self> {
        text.parse().ok()
    }
}

impl fmt::Display for AuditAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Who did it: a user, directly or through one of their API tokens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub user: UserId,
    /// The API token the request carried, if it carried one (its id, never the token).
    pub token: Option<String>,
}

/// One event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEvent {
    pub id: uuid::Uuid,
    pub organization: OrgId,
    pub at: OffsetDateTime,
    pub action: AuditAction,
    pub actor: Actor,
    pub credential: Option<CredentialId>,
    /// What else identifies the subject: a secret version id, an API token id. Never secret.
    pub subject: Option<String>,
    pub request_id: Option<String>,
    pub source_ip: Option<String>,
}

/// What a reader of the log asks for. Every filter is optional; `from`/`to` bound `at`
/// (inclusive).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditQuery {
    pub credential: Option<CredentialId>,
    /// A user id, or an API token id.
    pub actor: Option<String>,
    pub action: Option<AuditAction>,
    pub from: Option<OffsetDateTime>,
    pub to: Option<OffsetDateTime>,
    /// Where the previous page ended, as the log gave it.
    pub cursor: Option<String>,
    pub limit: usize,
}

/// A page of events, newest first, and where the next one starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditPage {
    pub events: Vec<AuditEvent>,
    pub next: Option<String>,
}

/// The log's store.
pub trait AuditLog: Send + Sync {
    /// Records `event`; an event is never overwritten.
    fn record(&self, event: &AuditEvent) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Events of `organization` matching `query`, newest first. A cursor that this log did not
    /// give is refused, never read as another page.
    fn query(
        &self,
        organization: &OrgId,
        query: &AuditQuery,
    ) -> impl Future<Output = Result<AuditPage, AuditQueryError>> + Send;
}

#[derive(Debug, thiserror::Error)]
pub enum AuditQueryError {
    #[error("the cursor is not one this API gave")]
    BadCursor,
    #[error(transparent)]
    Store(#[from] StoreError),
}
