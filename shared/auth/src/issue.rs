//! Minting: the local stack's dev tokens and the tests'. A platform's identity provider does
//! this in production; verification does not share these claims.

use credential_model::{OrgId, Scopes, UserId};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;

use crate::{MIN_KEY_BYTES, WeakKey};

/// The claims Strongroom's own tokens carry, under the default claim names.
#[derive(Serialize)]
struct MintedClaims<'a> {
    iss: &'a str,
    aud: &'a str,
    sub: &'a str,
    org_id: &'a str,
    scope: String,
    exp: i64,
    iat: i64,
}

/// Mints tokens, HS256 under the shared key or RS256 under a key of a key set.
pub struct TokenIssuer {
    header: Header,
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
            header: Header::new(Algorithm::HS256),
            key: EncodingKey::from_secret(bytes),
            issuer: issuer.to_owned(),
            audience: audience.to_owned(),
        })
    }

    /// RS256 under the RSA private key `pkcs1_der` (PKCS#1 DER), whose public half the key set
    /// publishes as `kid`.
    pub fn rs256(pkcs1_der: &[u8], kid: &str, issuer: &str, audience: &str) -> Self {
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some(kid.to_owned());
        TokenIssuer {
            header,
            key: EncodingKey::from_rsa_der(pkcs1_der),
            issuer: issuer.to_owned(),
            audience: audience.to_owned(),
        }
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
        let claims = MintedClaims {
            iss: &self.issuer,
            aud: &self.audience,
            sub: user.as_str(),
            org_id: organization.as_str(),
            scope: scopes.to_list(),
            exp: now + lifetime_seconds,
            iat: now,
        };
        jsonwebtoken::encode(&self.header, &claims, &self.key)
    }
}
