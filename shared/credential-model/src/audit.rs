//! The audit log: who did what to which credential, when, from where — never secret material.
//! Events live under their organization, newest first, and are kept for the deployment's
//! retention period.

use std::fmt;
use std::future::Future;

use time::OffsetDateTime;

use crate::credential::CredentialId;
use crate::ports::StoreError;
use crate::tenancy::{Caller, OrgId, UserId};

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
    CredentialCreated,
    /// A credential took the place of another under the same name (Levered's upsert): the
    /// event names the new one, its subject the one replaced.
    CredentialReplaced,
    CredentialUpdated,
    CredentialDeleted,
    /// A credential's secret was read back through the API.
    CredentialRevealed,
    /// A credential's rotation settings were set or changed.
    RotationConfigured,
    RotationCancelled,
    /// Someone asked for a rotation now.
    RotationRequested,
    /// The rotation function made a new secret version current (its subject).
    RotationSucceeded,
    RotationFailed,
    /// A generated database login (the subject) was issued, for the registered database named.
    LoginIssued,
    /// A login's end was brought forward by a rotation of its scope.
    LoginShortened,
    /// A login was revoked before its end: deleted, rotated at once, or its database deleted.
    LoginRevoked,
    /// The sweeper revoked a login whose lifetime had ended.
    LoginExpired,
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

/// Who did it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    /// A user, directly or through one of their API tokens.
    User {
        user: UserId,
        /// The API token the request carried, if it carried one (its id, never the token).
        token: Option<String>,
    },
    /// Strongroom itself, acting on an AWS event or a schedule.
    Service(Service),
}

/// Strongroom's own actors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, strum::EnumString, strum::IntoStaticStr)]
#[strum(serialize_all = "kebab-case")]
pub enum Service {
    Rotation,
    Sweeper,
}

impl Actor {
    /// The names the log's `actor` filter matches: the user's id and the token's, or
    /// `strongroom:{service}` — with a colon no user id holds, so no user can pass for one.
    pub fn names(&self) -> Vec<String> {
        match self {
            Actor::User { user, token } => std::iter::once(user.to_string())
                .chain(token.clone())
                .collect(),
            Actor::Service(service) => vec![format!("strongroom:{}", <&str>::from(*service))],
        }
    }
}

impl Caller {
    /// The caller as the audit log names them.
    pub fn actor(&self) -> Actor {
        Actor::User {
            user: self.user.clone(),
            token: self.origin.api_token.clone(),
        }
    }

    /// `action`, by this caller, now, on `credential` (further identified by `subject`).
    pub fn event(
        &self,
        action: AuditAction,
        credential: Option<CredentialId>,
        subject: Option<String>,
    ) -> AuditEvent {
        AuditEvent {
            request_id: self.origin.request_id.clone(),
            source_ip: self.origin.source_ip.clone(),
            ..AuditEvent::new(
                self.organization.clone(),
                action,
                self.actor(),
                credential,
                subject,
            )
        }
    }
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

impl AuditEvent {
    /// `action` by `actor`, now, with no request behind it.
    pub fn new(
        organization: OrgId,
        action: AuditAction,
        actor: Actor,
        credential: Option<CredentialId>,
        subject: Option<String>,
    ) -> AuditEvent {
        AuditEvent {
            id: uuid::Uuid::new_v4(),
            organization,
            // To the microsecond: the log's order is the order things happened in.
            at: OffsetDateTime::now_utc(),
            action,
            actor,
            credential,
            subject,
            request_id: None,
            source_ip: None,
        }
    }
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
