//! Bearer tokens: verification for the authorizer, and minting for the local stack and tests.
//!
//! Tokens are JWTs signed with HS256 under a key held in Secrets Manager. Claims:
//!
//! | claim    | meaning                                                     |
//! |----------|-------------------------------------------------------------|
//! | `iss`    | must equal the configured issuer                            |
//! | `aud`    | must contain the configured audience                        |
//! | `exp`    | expiry (Unix seconds); required                             |
//! | `sub`    | the user                                                    |
//! | `org_id` | the organization (tenant)                                   |
//! | `scope`  | space-separated scopes, e.g. `credentials:read credentials:write` |

use std::fmt;

use credential_model::{Caller, OrgId, Scopes, UserId};
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

/// HS256 keys shorter than the hash output are refused (RFC 7518 §3.2).
pub const MIN_KEY_BYTES: usize = 32;
/// Clock skew tolerated on `exp` and `nbf`.
const LEEWAY_SECONDS: u64 = 30;

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    iss: String,
    aud: String,
    sub: String,
    #[serde(default)]
    org_id: String,
    #[serde(default)]
    scope: String,
    exp: i64,
    iat: i64,
}

/// The key is unusable.
#[derive(Debug, thiserror::Error)]
#[error("the token signing key must be at least {MIN_KEY_BYTES} bytes")]
pub struct WeakKey;

/// Why a token was refused, in words safe to send back to its holder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenRejection {
    Malformed,
    BadSignature,
    Expired,
    NotYetValid,
    WrongIssuer,
    WrongAudience,
    WrongAlgorithm,
    MissingClaim(&'static str),
    InvalidClaim(&'static str),
}

impl fmt::Display for TokenRejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TokenRejection::Malformed => f.write_str("the bearer token is not a well-formed JWT"),
            TokenRejection::BadSignature => f.write_str("the bearer token's signature is invalid"),
            TokenRejection::Expired => f.write_str("the bearer token has expired"),
            TokenRejection::NotYetValid => f.write_str("the bearer token is not valid yet"),
            TokenRejection::WrongIssuer => f.write_str("the bearer token has the wrong issuer"),
            TokenRejection::WrongAudience => {
                f.write_str("the bearer token is not meant for this API (audience)")
            }
            TokenRejection::WrongAlgorithm => {
                f.write_str("the bearer token is signed with an algorithm this API does not accept")
            }
            TokenRejection::MissingClaim(claim) => {
                write!(f, "the bearer token has no {claim} claim")
            }
            TokenRejection::InvalidClaim(claim) => {
                write!(f, "the bearer token's {claim} claim is invalid")
            }
        }
    }
}

fn rejection(kind: &ErrorKind) -> TokenRejection {
    match kind {
        ErrorKind::InvalidSignature => TokenRejection::BadSignature,
        ErrorKind::ExpiredSignature => TokenRejection::Expired,
        ErrorKind::ImmatureSignature => TokenRejection::NotYetValid,
        ErrorKind::InvalidIssuer => TokenRejection::WrongIssuer,
        ErrorKind::InvalidAudience => TokenRejection::WrongAudience,
        ErrorKind::InvalidAlgorithm | ErrorKind::MissingAlgorithm => TokenRejection::WrongAlgorithm,
        ErrorKind::MissingRequiredClaim(claim) => {
            TokenRejection::MissingClaim(match claim.as_str() {
                "exp" => "exp",
                "iss" => "iss",
                "aud" => "aud",
                "sub" => "sub",
                _ => "required",
            })
        }
        _ => TokenRejection::Malformed,
    }
}

/// Verifies HS256 bearer tokens.
pub struct TokenVerifier {
    key: DecodingKey,
    validation: Validation,
}

impl TokenVerifier {
    pub fn hs256(key: &SecretString, issuer: &str, audience: &str) -> Result<Self, WeakKey> {
        let bytes = key.expose_secret().as_bytes();
        if bytes.len() < MIN_KEY_BYTES {
            return Err(WeakKey);
        }
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[issuer]);
        validation.set_audience(&[audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.leeway = LEEWAY_SECONDS;
        validation.validate_nbf = true;
        Ok(TokenVerifier {
            key: DecodingKey::from_secret(bytes),
            validation,
        })
    }

    /// The caller a token speaks for, or why it is refused.
    pub fn verify(&self, token: &str) -> Result<Caller, TokenRejection> {
        let claims = jsonwebtoken::decode::<Claims>(token, &self.key, &self.validation)
            .map_err(|e| rejection(e.kind()))?
            .claims;
        let organization = OrgId::parse(&claims.org_id).ok_or(if claims.org_id.is_empty() {
            TokenRejection::MissingClaim("org_id")
        } else {
            TokenRejection::InvalidClaim("org_id")
        })?;
        let user = UserId::parse(&claims.sub).ok_or(TokenRejection::InvalidClaim("sub"))?;
        Ok(Caller {
            organization,
            user,
            scopes: Scopes::parse_list(&claims.scope),
            expires_at: claims.exp,
        })
    }
}

/// Mints HS256 tokens: for the local stack's dev tokens and for tests. A platform's identity
/// provider does this in production.
pub struct TokenIssuer {
    key: EncodingKey,
    issuer: String,
    audience: String,
}

impl TokenIssuer {
    pub fn hs256(key: &SecretString, issuer: &str, audience: &str) -> Result<Self, WeakKey> {
        let bytes = key.expose_secret().as_bytes();
        if bytes.len() < MIN_KEY_BYTES {
            return Err(WeakKey);
        }
        Ok(TokenIssuer {
            key: EncodingKey::from_secret(bytes),
            issuer: issuer.to_owned(),
            audience: audience.to_owned(),
        })
    }

    /// A token for `user` of `organization` with `scopes`, valid for `lifetime_seconds`.
    pub fn issue(
        &self,
        organization: &OrgId,
        user: &UserId,
        scopes: Scopes,
        lifetime_seconds: i64,
    ) -> Result<String, jsonwebtoken::errors::Error> {
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let claims = Claims {
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
            sub: user.to_string(),
            org_id: organization.to_string(),
            scope: scopes.to_list(),
            exp: now + lifetime_seconds,
            iat: now,
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use credential_model::Scope;

    const KEY: &str = "0123456789abcdef0123456789abcdef-test-key";

    fn key() -> SecretString {
        SecretString::from(KEY)
    }

    fn issuer() -> TokenIssuer {
        TokenIssuer::hs256(&key(), "https://idp.test", "strongroom").expect("key")
    }

    fn verifier() -> TokenVerifier {
        TokenVerifier::hs256(&key(), "https://idp.test", "strongroom").expect("key")
    }

    fn org() -> OrgId {
        OrgId::parse("org_1").expect("valid")
    }

    fn user() -> UserId {
        UserId::parse("user_1").expect("valid")
    }

    #[test]
    fn a_good_token_names_its_caller() {
        let token = issuer()
            .issue(&org(), &user(), Scopes::from_iter([Scope::Read]), 60)
            .expect("signed");
        let caller = verifier().verify(&token).expect("valid");
        assert_eq!(caller.organization, org());
        assert_eq!(caller.user, user());
        assert!(caller.scopes.allow(Scope::Read));
        assert!(!caller.scopes.allow(Scope::Write));
    }

    #[test]
    fn expired_tokens_are_refused() {
        let token = issuer()
            .issue(&org(), &user(), Scopes::all(), -120)
            .expect("signed");
        assert_eq!(verifier().verify(&token), Err(TokenRejection::Expired));
    }

    #[test]
    fn issuer_audience_and_key_are_checked() {
        let token = issuer()
            .issue(&org(), &user(), Scopes::all(), 60)
            .expect("signed");
        let other_issuer =
            TokenVerifier::hs256(&key(), "https://evil.test", "strongroom").expect("key");
        assert_eq!(
            other_issuer.verify(&token),
            Err(TokenRejection::WrongIssuer)
        );
        let other_audience =
            TokenVerifier::hs256(&key(), "https://idp.test", "other").expect("key");
        assert_eq!(
            other_audience.verify(&token),
            Err(TokenRejection::WrongAudience)
        );
        let other_key = TokenVerifier::hs256(
            &SecretString::from("another-key-that-is-long-enough-000000"),
            "https://idp.test",
            "strongroom",
        )
        .expect("key");
        assert_eq!(other_key.verify(&token), Err(TokenRejection::BadSignature));
        assert_eq!(
            verifier().verify("not.a.jwt"),
            Err(TokenRejection::Malformed)
        );
    }

    #[test]
    fn short_keys_are_refused() {
        assert!(TokenVerifier::hs256(&SecretString::from("short"), "i", "a").is_err());
    }

    #[test]
    fn unsigned_tokens_are_refused() {
        // {"alg":"none"} with valid-looking claims.
        let header = "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0";
        let claims = "eyJpc3MiOiJodHRwczovL2lkcC50ZXN0IiwiYXVkIjoic3Ryb25ncm9vbSIsInN1YiI6InUiLCJvcmdfaWQiOiJvIiwiZXhwIjo5OTk5OTk5OTk5LCJpYXQiOjB9";
        let token = format!("{header}.{claims}.");
        assert!(verifier().verify(&token).is_err());
    }
}
