//! Strongroom's own API tokens, for machines: `srk_<id>_<secret>`, shown once when issued and
//! kept only as an HMAC digest computed by KMS (the key never leaves KMS), so a copy of the
//! table authenticates nobody. The prefix lets secret scanners find a leaked token.
//!
//! A token acts for the user who issued it, in that user's organization, with scopes no wider
//! than that user had when issuing it. Revoking deletes it: the next check refuses it.

use std::fmt;
use std::future::Future;

use secrecy::{ExposeSecret, SecretString};
use time::OffsetDateTime;

use crate::error::{Dependency, Error};
use crate::ports::StoreError;
use crate::tenancy::{Caller, OrgId, Scope, Scopes, UserId};
use crate::validation::{FieldErrors, Problem};

/// What every Strongroom API token starts with.
pub const PREFIX: &str = "srk_";
/// The length of a token's secret part: 43 letters and digits, 256 bits of randomness.
const SECRET_LENGTH: usize = 43;
/// How often a token's `last_used_at` is written at most: a check within this long of the
/// last recorded use writes nothing.
pub const USE_RECORDED_EVERY: time::Duration = time::Duration::hours(1);
/// The longest name a token may have.
pub const MAX_NAME: usize = 100;

/// A token's id: 32 lowercase hex digits, the public part of the token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ApiTokenId(uuid::Uuid);

impl ApiTokenId {
    pub fn generate() -> Self {
        ApiTokenId(uuid::Uuid::new_v4())
    }

    /// Only the form [`fmt::Display`] writes: 32 lowercase hex digits.
    pub fn parse(text: &str) -> Option<Self> {
        let lowercase_hex = text.len() == 32
            && text
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        lowercase_hex
            .then(|| uuid::Uuid::try_parse(text).ok())
            .flatten()
            .map(ApiTokenId)
    }
}

impl fmt::Display for ApiTokenId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0.simple())
    }
}

crate::text_serde!(ApiTokenId, "32 lowercase hex digits");

/// A token as stored: everything but the token itself, of which only the digest is kept.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiToken {
    pub id: ApiTokenId,
    pub organization: OrgId,
    /// Who issued it: the token acts as this user.
    pub user: UserId,
    pub name: String,
    pub scopes: Scopes,
    pub created_at: OffsetDateTime,
    pub expires_at: Option<OffsetDateTime>,
    /// When a request last carried it, to the hour ([`USE_RECORDED_EVERY`]).
    pub last_used_at: Option<OffsetDateTime>,
    /// The KMS HMAC of the whole token.
    pub digest: Vec<u8>,
}

impl fmt::Debug for ApiToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiToken")
            .field("id", &self.id)
            .field("organization", &self.organization)
            .field("user", &self.user)
            .field("name", &self.name)
            .field("scopes", &self.scopes.to_list())
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

/// A token just issued: the token, shown this once, and what is stored.
#[derive(Debug)]
pub struct IssuedToken {
    pub token: SecretString,
    pub record: ApiToken,
}

/// What a caller asks for when issuing a token.
#[derive(Debug, Clone)]
pub struct TokenRequest {
    pub name: String,
    pub scopes: Scopes,
    pub expires_at: Option<OffsetDateTime>,
}

/// Where tokens are kept.
pub trait TokenStore: Send + Sync {
    /// Stores a new token; its id is new, so an existing one is a conflict.
    fn create(&self, token: &ApiToken) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// The token `id`, read consistently (a revoked token is gone at once).
    fn get(
        &self,
        id: ApiTokenId,
    ) -> impl Future<Output = Result<Option<ApiToken>, StoreError>> + Send;

    /// Every token of `organization`.
    fn list(
        &self,
        organization: &OrgId,
    ) -> impl Future<Output = Result<Vec<ApiToken>, StoreError>> + Send;

    /// Deletes `id` of `organization`; deleting what is gone already succeeds.
    fn delete(
        &self,
        organization: &OrgId,
        id: ApiTokenId,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Records a use at `at`, unless one was recorded since `unless_since`: at most one write
    /// per token and period, however many requests carry it.
    fn record_use(
        &self,
        id: ApiTokenId,
        at: OffsetDateTime,
        unless_since: OffsetDateTime,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// The HMAC key, in KMS.
pub trait TokenMac: Send + Sync {
    fn digest(&self, message: &[u8]) -> impl Future<Output = Result<Vec<u8>, String>> + Send;

    /// Whether `digest` is the HMAC of `message`; `Err` only when KMS could not answer.
    fn verify(
        &self,
        message: &[u8],
        digest: &[u8],
    ) -> impl Future<Output = Result<bool, String>> + Send;
}

/// Why a presented token was refused, in words safe to send back to its holder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenRefusal {
    /// Not `srk_<32 hex>_<secret>`.
    Malformed,
    /// No such token (never issued, or revoked), or the secret part is wrong.
    Unknown,
    Expired,
}

impl fmt::Display for TokenRefusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TokenRefusal::Malformed => "the API token is not a well-formed Strongroom token",
            TokenRefusal::Unknown => "the API token is unknown or revoked",
            TokenRefusal::Expired => "the API token has expired",
        })
    }
}

/// A token's check could not be made: the store or KMS did not answer.
#[derive(Debug, thiserror::Error)]
#[error("the API token could not be checked: {0}")]
pub struct CheckUnavailable(pub String);

/// Whether `text` is a Strongroom API token rather than a JWT (by its prefix).
pub fn is_api_token(text: &str) -> bool {
    text.starts_with(PREFIX)
}

/// The id a token names, if it is shaped like one.
fn token_id(token: &str) -> Option<ApiTokenId> {
    let rest = token.strip_prefix(PREFIX)?;
    let (id, secret) = rest.split_at_checked(32)?;
    let secret = secret.strip_prefix('_')?;
    let secret_ok =
        secret.len() == SECRET_LENGTH && secret.bytes().all(|b| b.is_ascii_alphanumeric());
    secret_ok.then(|| ApiTokenId::parse(id)).flatten()
}

fn new_token(id: ApiTokenId) -> SecretString {
    use rand::Rng;
    let secret: String = rand::rngs::OsRng
        .sample_iter(rand::distributions::Alphanumeric)
        .take(SECRET_LENGTH)
        .map(char::from)
        .collect();
    SecretString::from(format!("{PREFIX}{id}_{secret}"))
}

fn unavailable(error: impl fmt::Display) -> Error {
    Error::Unavailable {
        dependency: Dependency::MetadataStore,
        detail: error.to_string(),
    }
}

fn mac_unavailable(detail: String) -> Error {
    Error::Unavailable {
        dependency: Dependency::KeyService,
        detail,
    }
}

/// Whether `caller` may see and revoke `token`: its issuer, or an admin of its organization.
fn visible_to(token: &ApiToken, caller: &Caller) -> bool {
    token.organization == caller.organization
        && (token.user == caller.user || caller.scopes.contains(Scope::Admin))
}

/// Issuing, listing, revoking and checking API tokens.
pub struct ApiTokens<S, M> {
    store: S,
    mac: M,
}

impl<S: TokenStore, M: TokenMac> ApiTokens<S, M> {
    pub fn new(store: S, mac: M) -> Self {
        ApiTokens { store, mac }
    }

    /// A new token for `caller`: its scopes must be among the caller's, its expiry (if any) in
    /// the future. Nothing is stored when the request is refused.
    pub async fn issue(
        &self,
        caller: &Caller,
        request: TokenRequest,
        now: OffsetDateTime,
    ) -> Result<IssuedToken, Error> {
        let mut errors = FieldErrors::new();
        let name = request.name.trim();
        if name.is_empty() || name.chars().count() > MAX_NAME || name.chars().any(char::is_control)
        {
            errors.push(
                "name",
                Problem::Malformed {
                    expected: "1-100 characters, no control characters",
                },
            );
        }
        if request.scopes.iter().any(|s| !caller.scopes.allow(s)) {
            errors.push(
                "scopes",
                Problem::NotAllowed {
                    reason: "may only name scopes the caller holds",
                },
            );
        }
        if request.expires_at.is_some_and(|at| at <= now) {
            errors.push(
                "expiresAt",
                Problem::NotAllowed {
                    reason: "must be in the future",
                },
            );
        }
        if !errors.is_empty() {
            return Err(Error::Invalid(errors));
        }
        let id = ApiTokenId::generate();
        let token = new_token(id);
        let digest = self
            .mac
            .digest(token.expose_secret().as_bytes())
            .await
            .map_err(mac_unavailable)?;
        let record = ApiToken {
            id,
            organization: caller.organization.clone(),
            user: caller.user.clone(),
            name: name.to_owned(),
            scopes: request.scopes,
            created_at: now,
            expires_at: request.expires_at,
            last_used_at: None,
            digest,
        };
        match self.store.create(&record).await {
            Ok(()) => {}
            // The id is new: only this issue's own earlier attempt (a write that succeeded but
            // whose answer was lost, then retried) can be there.
            Err(StoreError::ConditionFailed) => {
                let stored = self.store.get(id).await.map_err(unavailable)?;
                if stored.is_none_or(|stored| stored.digest != record.digest) {
                    return Err(unavailable("the new API token's id was taken"));
                }
            }
            Err(error) => return Err(unavailable(error)),
        }
        Ok(IssuedToken { token, record })
    }

    /// The tokens `caller` may see, oldest first: their own, or with the admin scope every
    /// token of their organization.
    pub async fn list(&self, caller: &Caller) -> Result<Vec<ApiToken>, Error> {
        let mut tokens = self
            .store
            .list(&caller.organization)
            .await
            .map_err(unavailable)?;
        tokens.retain(|t| visible_to(t, caller));
        tokens.sort_by_key(|t| (t.created_at, t.id));
        Ok(tokens)
    }

    /// Revokes a token `caller` may see; any other, or none, is not found.
    pub async fn revoke(&self, caller: &Caller, id: ApiTokenId) -> Result<ApiToken, Error> {
        let Some(found) = self.store.get(id).await.map_err(unavailable)? else {
            return Err(Error::NotFound);
        };
        if !visible_to(&found, caller) {
            return Err(Error::NotFound);
        }
        // A revocation racing another, or retried after its answer was lost, is still done.
        self.store
            .delete(&caller.organization, id)
            .await
            .map_err(unavailable)?;
        Ok(found)
    }

    /// The caller `token` speaks for, as the authorizer passes it on: the issuer's
    /// organization and user with the token's scopes, valid until the token expires.
    pub async fn authenticate(
        &self,
        token: &str,
        now: OffsetDateTime,
    ) -> Result<Result<(Caller, ApiTokenId), TokenRefusal>, CheckUnavailable> {
        let Some(id) = token_id(token) else {
            return Ok(Err(TokenRefusal::Malformed));
        };
        let stored = self
            .store
            .get(id)
            .await
            .map_err(|e| CheckUnavailable(e.to_string()))?;
        let Some(stored) = stored else {
            return Ok(Err(TokenRefusal::Unknown));
        };
        if !self
            .mac
            .verify(token.as_bytes(), &stored.digest)
            .await
            .map_err(CheckUnavailable)?
        {
            return Ok(Err(TokenRefusal::Unknown));
        }
        if stored.expires_at.is_some_and(|at| at <= now) {
            return Ok(Err(TokenRefusal::Expired));
        }
        let recorded_since = now - USE_RECORDED_EVERY;
        if stored.last_used_at.is_none_or(|at| at < recorded_since) {
            // A lost race or a failed write only delays the record to the next check.
            if let Err(error) = self.store.record_use(id, now, recorded_since).await {
                tracing::warn!(token = %id, %error, "could not record the API token's use");
            }
        }
        Ok(Ok((
            Caller {
                organization: stored.organization,
                user: stored.user,
                scopes: stored.scopes,
                expires_at: stored
                    .expires_at
                    .map_or(i64::MAX, OffsetDateTime::unix_timestamp),
                origin: Default::default(),
            },
            id,
        )))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::sync::Mutex;

    use super::*;

    /// Tokens in a map, with the store's conditional semantics.
    #[derive(Default)]
    struct Tokens(Mutex<HashMap<ApiTokenId, ApiToken>>);

    impl Tokens {
        fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<ApiTokenId, ApiToken>> {
            self.0.lock().unwrap_or_else(|e| e.into_inner())
        }
    }

    impl TokenStore for Tokens {
        async fn create(&self, token: &ApiToken) -> Result<(), StoreError> {
            match self.lock().insert(token.id, token.clone()) {
                None => Ok(()),
                Some(_) => Err(StoreError::ConditionFailed),
            }
        }
        async fn get(&self, id: ApiTokenId) -> Result<Option<ApiToken>, StoreError> {
            Ok(self.lock().get(&id).cloned())
        }
        async fn list(&self, organization: &OrgId) -> Result<Vec<ApiToken>, StoreError> {
            let tokens = self.lock();
            Ok(tokens
                .values()
                .filter(|t| &t.organization == organization)
                .cloned()
                .collect())
        }
        async fn delete(&self, _: &OrgId, id: ApiTokenId) -> Result<(), StoreError> {
            self.lock().remove(&id);
            Ok(())
        }
        async fn record_use(
            &self,
            id: ApiTokenId,
            at: OffsetDateTime,
            unless_since: OffsetDateTime,
        ) -> Result<(), StoreError> {
            if let Some(token) = self.lock().get_mut(&id)
                && token.last_used_at.is_none_or(|last| last < unless_since)
            {
                token.last_used_at = Some(at);
            }
            Ok(())
        }
    }

    /// A keyed digest that is not the message (a test stand-in for KMS's HMAC).
    struct Mac;

    impl TokenMac for Mac {
        async fn digest(&self, message: &[u8]) -> Result<Vec<u8>, String> {
            Ok(message.iter().rev().map(|b| b ^ 0x5a).collect())
        }
        async fn verify(&self, message: &[u8], digest: &[u8]) -> Result<bool, String> {
            Ok(self.digest(message).await? == digest)
        }
    }

    fn caller(user: &str, scopes: &[Scope]) -> Caller {
        Caller {
            organization: OrgId::parse("org_a").expect("org"),
            user: UserId::parse(user).expect("user"),
            scopes: scopes.iter().copied().collect(),
            expires_at: i64::MAX,
            origin: Default::default(),
        }
    }

    fn request(scopes: &[Scope]) -> TokenRequest {
        TokenRequest {
            name: "ci".into(),
            scopes: scopes.iter().copied().collect(),
            expires_at: None,
        }
    }

    fn service() -> ApiTokens<Tokens, Mac> {
        ApiTokens::new(Tokens::default(), Mac)
    }

    fn at(seconds: i64) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(1_800_000_000 + seconds).expect("time")
    }

    #[tokio::test]
    async fn an_issued_token_authenticates_as_its_issuer_with_its_own_scopes() {
        let tokens = service();
        let issuer = caller("user_a", &[Scope::Read, Scope::Write]);
        let issued = tokens
            .issue(&issuer, request(&[Scope::Read]), at(0))
            .await
            .expect("issued");
        let token = issued.token.expose_secret();
        assert!(token.starts_with("srk_") && token.len() == 4 + 32 + 1 + SECRET_LENGTH);
        assert_ne!(issued.record.digest, token.as_bytes());
        let (authenticated, id) = tokens
            .authenticate(token, at(1))
            .await
            .expect("checked")
            .expect("accepted");
        assert_eq!(id, issued.record.id);
        assert_eq!(authenticated.user, issuer.user);
        assert_eq!(authenticated.scopes, Scopes::from_iter([Scope::Read]));
        assert_eq!(authenticated.expires_at, i64::MAX);
    }

    /// A store whose writes land but whose answers are lost, as a retried request sees it.
    #[derive(Default)]
    struct LostAnswers(Tokens);

    impl TokenStore for LostAnswers {
        async fn create(&self, token: &ApiToken) -> Result<(), StoreError> {
            self.0.create(token).await?;
            Err(StoreError::ConditionFailed)
        }
        async fn get(&self, id: ApiTokenId) -> Result<Option<ApiToken>, StoreError> {
            self.0.get(id).await
        }
        async fn list(&self, organization: &OrgId) -> Result<Vec<ApiToken>, StoreError> {
            self.0.list(organization).await
        }
        async fn delete(&self, organization: &OrgId, id: ApiTokenId) -> Result<(), StoreError> {
            self.0.delete(organization, id).await
        }
        async fn record_use(
            &self,
            id: ApiTokenId,
            at: OffsetDateTime,
            unless_since: OffsetDateTime,
        ) -> Result<(), StoreError> {
            self.0.record_use(id, at, unless_since).await
        }
    }

    #[tokio::test]
    async fn an_issue_whose_write_landed_before_a_retry_is_issued() {
        let tokens = ApiTokens::new(LostAnswers::default(), Mac);
        let issuer = caller("user_a", &[Scope::Read]);
        let issued = tokens
            .issue(&issuer, request(&[Scope::Read]), at(0))
            .await
            .expect("the write that landed is the issue");
        assert!(
            tokens
                .authenticate(issued.token.expose_secret(), at(1))
                .await
                .expect("checked")
                .is_ok()
        );
    }

    #[tokio::test]
    async fn a_token_cannot_be_broader_than_its_issuer_and_nothing_is_stored() {
        let tokens = service();
        let reader = caller("user_a", &[Scope::Read]);
        let Err(Error::Invalid(errors)) = tokens
            .issue(&reader, request(&[Scope::Read, Scope::Reveal]), at(0))
            .await
        else {
            panic!("a broader token was issued");
        };
        assert!(errors.to_string().contains("scopes"), "{errors}");
        assert!(tokens.list(&reader).await.expect("listed").is_empty());
        // An admin holds every scope.
        let admin = caller("user_b", &[Scope::Admin]);
        tokens
            .issue(&admin, request(&[Scope::Reveal]), at(0))
            .await
            .expect("an admin may issue any scope");
    }

    #[tokio::test]
    async fn wrong_secrets_unknown_revoked_and_expired_tokens_are_refused() {
        let tokens = service();
        let issuer = caller("user_a", &[Scope::Read]);
        let issued = tokens
            .issue(
                &issuer,
                TokenRequest {
                    expires_at: Some(at(60)),
                    ..request(&[Scope::Read])
                },
                at(0),
            )
            .await
            .expect("issued");
        let token = issued.token.expose_secret().to_owned();
        let check = |text: String, when| {
            let tokens = &tokens;
            async move { tokens.authenticate(&text, when).await.expect("checked") }
        };
        let tampered = format!("{}{}", &token[..token.len() - 1], "Z");
        let tampered = if tampered == token {
            format!("{}{}", &token[..token.len() - 1], "Y")
        } else {
            tampered
        };
        assert_eq!(
            check(tampered, at(1)).await.err(),
            Some(TokenRefusal::Unknown)
        );
        assert_eq!(
            check("srk_short".into(), at(1)).await.err(),
            Some(TokenRefusal::Malformed)
        );
        let unknown = format!("srk_{}_{}", ApiTokenId::generate(), &token[37..]);
        assert_eq!(
            check(unknown, at(1)).await.err(),
            Some(TokenRefusal::Unknown)
        );
        assert_eq!(
            check(token.clone(), at(61)).await.err(),
            Some(TokenRefusal::Expired)
        );
        assert!(check(token.clone(), at(1)).await.is_ok());
        tokens
            .revoke(&issuer, issued.record.id)
            .await
            .expect("revoked");
        assert_eq!(check(token, at(2)).await.err(), Some(TokenRefusal::Unknown));
    }

    #[tokio::test]
    async fn a_use_is_recorded_once_an_hour_and_others_tokens_are_not_found() {
        let tokens = service();
        let issuer = caller("user_a", &[Scope::Read]);
        let issued = tokens
            .issue(&issuer, request(&[Scope::Read]), at(0))
            .await
            .expect("issued");
        let token = issued.token.expose_secret();
        let last_used = || async { tokens.list(&issuer).await.expect("listed")[0].last_used_at };
        assert_eq!(last_used().await, None);
        for seconds in [10, 20, 3_000] {
            let _ = tokens.authenticate(token, at(seconds)).await;
        }
        assert_eq!(last_used().await, Some(at(10)));
        let _ = tokens.authenticate(token, at(3_700)).await;
        assert_eq!(last_used().await, Some(at(3_700)));

        let colleague = caller("user_b", &[Scope::Read, Scope::Write]);
        assert!(tokens.list(&colleague).await.expect("listed").is_empty());
        assert!(matches!(
            tokens.revoke(&colleague, issued.record.id).await,
            Err(Error::NotFound)
        ));
        let admin = caller("user_c", &[Scope::Admin]);
        assert_eq!(tokens.list(&admin).await.expect("listed").len(), 1);
        let elsewhere = Caller {
            organization: OrgId::parse("org_b").expect("org"),
            ..admin.clone()
        };
        assert!(matches!(
            tokens.revoke(&elsewhere, issued.record.id).await,
            Err(Error::NotFound)
        ));
        tokens
            .revoke(&admin, issued.record.id)
            .await
            .expect("an admin revokes any token of the organization");
    }
}
