//! Bearer tokens: verification for the authorizer, and minting for the local stack and tests.
//!
//! Tokens are JWTs, signed either with HS256 under a key held in Secrets Manager, or by an
//! identity provider with RS256 or ES256 under a key it publishes in a JWKS. Verification reads
//! the claims on its own terms, not through the minting code, so that tokens as identity
//! providers issue them are accepted:
//!
//! | claim    | meaning                                                              |
//! |----------|----------------------------------------------------------------------|
//! | `iss`    | must equal the configured issuer                                     |
//! | `aud`    | the configured audience, or an array containing it                   |
//! | `exp`    | expiry (Unix seconds); required                                      |
//! | `nbf`    | not before (Unix seconds); checked when present                      |
//! | `iat`    | not read                                                             |
//! | user     | `sub` unless configured ([`ClaimNames`])                             |
//! | organization | `org_id` unless configured                                       |
//! | scopes   | `scope` unless configured: space-separated, or an array of strings   |
//!
//! Scopes that are not Strongroom's (`openid`, `profile`…) are ignored.

mod issue;
mod jwks;
mod verify;

use std::fmt;

pub use issue::TokenIssuer;
pub use jwks::{Jwks, JwksError, SkippedKey};
pub use verify::{ClaimNames, Hs256Key, SignedWith, TokenVerifier, signed_with};

/// HS256 keys shorter than the hash output are refused (RFC 7518 §3.2).
pub const MIN_KEY_BYTES: usize = 32;

/// The key is unusable.
#[derive(Debug, thiserror::Error)]
#[error("the token signing key must be at least {MIN_KEY_BYTES} bytes")]
pub struct WeakKey;

/// Why a token was refused, in words safe to send back to its holder: they name what is
/// wrong, never what the token says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenRejection {
    Malformed,
    BadSignature,
    Expired,
    NotYetValid,
    WrongIssuer,
    WrongAudience,
    WrongAlgorithm,
    /// An RS256/ES256 token whose header names no key (`kid`).
    MissingKeyId,
    /// An RS256/ES256 token signed with a key the key set does not hold.
    UnknownKey,
    /// A required claim is absent (the configured name).
    MissingClaim(String),
    /// A claim is present but not usable (the configured name).
    InvalidClaim(String),
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
            TokenRejection::MissingKeyId => {
                f.write_str("the bearer token's header does not name its signing key (kid)")
            }
            TokenRejection::UnknownKey => {
                f.write_str("the bearer token is signed with a key this API does not know")
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
