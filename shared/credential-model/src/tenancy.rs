//! Who is calling: the organization (tenant), the user and their scopes, as the authorizer
//! established them. Handlers never take a tenant from anywhere else.

use std::fmt;

use serde_json::{Map, Value};

/// Characters allowed in organization and user ids. They become part of DynamoDB keys and
/// Secrets Manager names, so the separators those use (`#`, `/`) are excluded.
fn valid_id(value: &str) -> bool {
    (1..=128).contains(&value.len())
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '@' | '+' | '='))
}

macro_rules! tenant_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(String);

        impl $name {
            /// `None` when the value is empty, too long or has a character outside
            /// `[A-Za-z0-9_.@+=-]`.
            pub fn parse(value: &str) -> Option<Self> {
                valid_id(value).then(|| $name(value.to_owned()))
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        crate::text_serde!($name, "1-128 characters of letters, digits and _.@+=-");
    };
}

tenant_id!(
    /// An organization: the tenant. Nile's workspace and Mielto's workspace are the same thing.
    OrgId
);
tenant_id!(
    /// A user of an organization.
    UserId
);

/// What a token allows. `admin` allows everything.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scope {
    /// Read credential metadata and test connections.
    Read,
    /// Create, change and delete credentials.
    Write,
    /// Read secret material back (audited).
    Reveal,
    Admin,
}

impl Scope {
    pub const ALL: [Scope; 4] = [Scope::Read, Scope::Write, Scope::Reveal, Scope::Admin];

    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Read => "credentials:read",
            Scope::Write => "credentials:write",
            Scope::Reveal => "credentials:reveal",
            Scope::Admin => "credentials:admin",
        }
    }

    pub fn parse(name: &str) -> Option<Scope> {
        Scope::ALL.into_iter().find(|s| s.as_str() == name)
    }

    fn bit(self) -> u8 {
        match self {
            Scope::Read => 1,
            Scope::Write => 2,
            Scope::Reveal => 4,
            Scope::Admin => 8,
        }
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A set of scopes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Scopes(u8);

impl Scopes {
    pub fn all() -> Scopes {
        Scopes::from_iter(Scope::ALL)
    }

    /// Parses a space-separated scope list (OAuth 2 `scope` claim style), ignoring scopes
    /// that are not Strongroom's.
    pub fn parse_list(list: &str) -> Scopes {
        list.split_whitespace().filter_map(Scope::parse).collect()
    }

    pub fn contains(self, scope: Scope) -> bool {
        self.0 & scope.bit() != 0
    }

    /// Whether these scopes allow an operation that needs `scope`.
    pub fn allow(self, scope: Scope) -> bool {
        self.contains(scope) || self.contains(Scope::Admin)
    }

    /// The scopes held, in [`Scope::ALL`]'s order.
    pub fn iter(self) -> impl Iterator<Item = Scope> {
        Scope::ALL.into_iter().filter(move |s| self.contains(*s))
    }

    pub fn to_list(self) -> String {
        self.iter().map(Scope::as_str).collect::<Vec<_>>().join(" ")
    }
}

impl FromIterator<Scope> for Scopes {
    fn from_iter<I: IntoIterator<Item = Scope>>(iter: I) -> Self {
        Scopes(iter.into_iter().fold(0, |bits, s| bits | s.bit()))
    }
}

/// The authenticated caller of one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub organization: OrgId,
    pub user: UserId,
    pub scopes: Scopes,
    /// When the caller's token expires (Unix seconds). API Gateway caches the authorizer's
    /// answer, so handlers check this themselves.
    pub expires_at: i64,
    /// Where the request came from, for the audit log.
    pub origin: Origin,
}

/// Where a request came from, as the audit log records it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Origin {
    /// The id of the Strongroom API token the request carried, if it carried one.
    pub api_token: Option<String>,
    /// API Gateway's request id.
    pub request_id: Option<String>,
    pub source_ip: Option<String>,
}

/// The contract between the authorizer and the handlers: the `context` the authorizer
/// returns, which API Gateway hands to the route as `requestContext.authorizer.lambda`.
///
/// The authorizer lets every request with an `Authorization` header through and says here
/// whether its token was good, so that a bad token is answered by the route in its family's
/// own error shape (API Gateway's own 401/403 bodies cannot be changed on an HTTP API).
pub mod authorizer_context {
    use super::*;

    pub const VERDICT: &str = "verdict";
    pub const ORGANIZATION: &str = "organization_id";
    pub const USER: &str = "user_id";
    pub const SCOPES: &str = "scopes";
    pub const EXPIRES_AT: &str = "expires_at";
    pub const REASON: &str = "reason";
    /// The id of the Strongroom API token the request carried, when it carried one.
    pub const API_TOKEN: &str = "api_token_id";

    const AUTHENTICATED: &str = "authenticated";
    const REJECTED: &str = "rejected";

    /// The context for a caller whose token was verified.
    pub fn authenticated(caller: &Caller) -> Map<String, Value> {
        let mut context = Map::new();
        context.insert(VERDICT.into(), AUTHENTICATED.into());
        context.insert(ORGANIZATION.into(), caller.organization.as_str().into());
        context.insert(USER.into(), caller.user.as_str().into());
        context.insert(SCOPES.into(), caller.scopes.to_list().into());
        context.insert(EXPIRES_AT.into(), caller.expires_at.to_string().into());
        context
    }

    /// The context for a caller authenticated by the Strongroom API token `token_id`.
    pub fn authenticated_by_api_token(caller: &Caller, token_id: &str) -> Map<String, Value> {
        let mut context = authenticated(caller);
        context.insert(API_TOKEN.into(), token_id.into());
        context
    }

    /// The API token a context names, if the caller was authenticated by one.
    pub fn api_token(context: &Map<String, Value>) -> Option<&str> {
        text(context, API_TOKEN)
    }

    /// The context for a token that was refused, with a reason safe to show the caller.
    pub fn rejected(reason: &str) -> Map<String, Value> {
        let mut context = Map::new();
        context.insert(VERDICT.into(), REJECTED.into());
        context.insert(REASON.into(), reason.into());
        context
    }

    /// Why a request is not authenticated.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub enum Unauthenticated {
        /// No authorizer ran (the route is misconfigured, or the event was not from API Gateway).
        NoContext,
        /// The authorizer refused the token.
        Rejected(String),
        /// The token expired after the authorizer's answer was cached.
        Expired,
    }

    impl fmt::Display for Unauthenticated {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            match self {
                Unauthenticated::NoContext => f.write_str("missing or invalid bearer token"),
                Unauthenticated::Rejected(reason) => f.write_str(reason),
                Unauthenticated::Expired => f.write_str("the bearer token has expired"),
            }
        }
    }

    fn text<'a>(context: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
        context.get(key).and_then(Value::as_str)
    }

    /// Reads the caller back from the context, refusing anything incomplete or expired at `now`
    /// (Unix seconds).
    pub fn caller(context: &Map<String, Value>, now: i64) -> Result<Caller, Unauthenticated> {
        match text(context, VERDICT) {
            Some(AUTHENTICATED) => {}
            Some(REJECTED) => {
                return Err(Unauthenticated::Rejected(
                    text(context, REASON)
                        .unwrap_or("invalid bearer token")
                        .to_owned(),
                ));
            }
            _ => return Err(Unauthenticated::NoContext),
        }
        let organization = text(context, ORGANIZATION).and_then(OrgId::parse);
        let user = text(context, USER).and_then(UserId::parse);
        let expires_at = text(context, EXPIRES_AT).and_then(|s| s.parse::<i64>().ok());
        let (Some(organization), Some(user), Some(expires_at)) = (organization, user, expires_at)
        else {
            return Err(Unauthenticated::NoContext);
        };
        if expires_at <= now {
            return Err(Unauthenticated::Expired);
        }
        Ok(Caller {
            organization,
            user,
            scopes: Scopes::parse_list(text(context, SCOPES).unwrap_or_default()),
            expires_at,
            origin: Origin {
                api_token: api_token(context).map(str::to_owned),
                ..Origin::default()
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::authorizer_context::*;
    use super::*;

    fn caller() -> Caller {
        Caller {
            organization: OrgId::parse("org_1").expect("valid"),
            user: UserId::parse("user_1").expect("valid"),
            scopes: Scopes::from_iter([Scope::Read]),
            expires_at: 2_000,
            origin: Default::default(),
        }
    }

    #[test]
    fn ids_refuse_key_separators() {
        assert!(OrgId::parse("org_1").is_some());
        assert!(OrgId::parse("org#1").is_none());
        assert!(OrgId::parse("org/1").is_none());
        assert!(OrgId::parse("").is_none());
        assert!(UserId::parse(&"u".repeat(129)).is_none());
    }

    #[test]
    fn admin_allows_everything() {
        let admin = Scopes::from_iter([Scope::Admin]);
        assert!(Scope::ALL.into_iter().all(|s| admin.allow(s)));
        let reader = Scopes::parse_list("credentials:read openid");
        assert!(reader.allow(Scope::Read));
        assert!(!reader.allow(Scope::Write));
    }

    #[test]
    fn context_round_trips() {
        let context = authenticated(&caller());
        assert_eq!(
            super::authorizer_context::caller(&context, 1_000),
            Ok(caller())
        );
    }

    #[test]
    fn cached_context_expires_with_the_token() {
        let context = authenticated(&caller());
        assert_eq!(
            super::authorizer_context::caller(&context, 2_000),
            Err(Unauthenticated::Expired)
        );
    }

    #[test]
    fn rejected_and_missing_contexts_are_unauthenticated() {
        assert_eq!(
            super::authorizer_context::caller(&rejected("the bearer token has expired"), 0),
            Err(Unauthenticated::Rejected(
                "the bearer token has expired".into()
            ))
        );
        assert_eq!(
            super::authorizer_context::caller(&Map::new(), 0),
            Err(Unauthenticated::NoContext)
        );
    }
}
