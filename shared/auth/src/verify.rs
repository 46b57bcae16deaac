//! Verification: the header says how a token is signed, the key (HS256's shared key, or the
//! key set's key its `kid` names) says which algorithm is acceptable, and the claims are read
//! under the configured names.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use credential_model::{Caller, OrgId, Scope, Scopes, UserId};
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::jwks::{Jwks, KeyAlgorithm};
use crate::{MIN_KEY_BYTES, TokenRejection, WeakKey};

/// Clock skew tolerated on `exp` and `nbf`.
const LEEWAY_SECONDS: u64 = 30;

/// The claims a token's caller is read from. Identity providers differ (`org_id`,
/// `https://example.com/org`, `tid`; `scope` or `scp`), so the names are configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimNames {
    pub organization: String,
    pub user: String,
    /// A space-separated string or an array of strings.
    pub scopes: String,
}

impl ClaimNames {
    pub const DEFAULT_ORGANIZATION: &str = "org_id";
    pub const DEFAULT_USER: &str = "sub";
    pub const DEFAULT_SCOPES: &str = "scope";
}

impl Default for ClaimNames {
    fn default() -> Self {
        ClaimNames {
            organization: Self::DEFAULT_ORGANIZATION.to_owned(),
            user: Self::DEFAULT_USER.to_owned(),
            scopes: Self::DEFAULT_SCOPES.to_owned(),
        }
    }
}

/// The shared key HS256 tokens are signed with.
pub struct Hs256Key(DecodingKey);

impl Hs256Key {
    pub fn new(key: &SecretString) -> Result<Self, WeakKey> {
        let bytes = key.expose_secret().as_bytes();
        if bytes.len() < MIN_KEY_BYTES {
            return Err(WeakKey);
        }
        Ok(Hs256Key(DecodingKey::from_secret(bytes)))
    }
}

/// Which kind of key a token says it is signed with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignedWith {
    /// `alg: HS256`: the shared key.
    Hs256,
    /// `alg: RS256` or `ES256`: a key of the identity provider's key set.
    KeySet,
}

/// The JOSE header fields verification reads.
#[derive(Deserialize)]
struct Header {
    alg: String,
    #[serde(default)]
    kid: Option<String>,
}

fn header_of(token: &str) -> Result<Header, TokenRejection> {
    let mut parts = token.split('.');
    let (Some(header), Some(_), Some(_), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(TokenRejection::Malformed);
    };
    let json = URL_SAFE_NO_PAD
        .decode(header)
        .map_err(|_| TokenRejection::Malformed)?;
    serde_json::from_slice(&json).map_err(|_| TokenRejection::Malformed)
}

/// How `token` says it is signed, from its header alone (nothing is verified yet). Any
/// algorithm but HS256, RS256 and ES256 — `none` included — is refused here.
pub fn signed_with(token: &str) -> Result<SignedWith, TokenRejection> {
    header_of(token)?.signed_with()
}

impl Header {
    fn signed_with(&self) -> Result<SignedWith, TokenRejection> {
        match self.alg.as_str() {
            "HS256" => Ok(SignedWith::Hs256),
            "RS256" | "ES256" => Ok(SignedWith::KeySet),
            _ => Err(TokenRejection::WrongAlgorithm),
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
        ErrorKind::MissingRequiredClaim(claim) => TokenRejection::MissingClaim(claim.clone()),
        ErrorKind::InvalidClaimFormat(claim) => TokenRejection::InvalidClaim(claim.clone()),
        _ => TokenRejection::Malformed,
    }
}

/// What every token must say (issuer, audience, expiry) and where its caller is.
pub struct TokenVerifier {
    hs256: Validation,
    rs256: Validation,
    es256: Validation,
    claims: ClaimNames,
}

impl TokenVerifier {
    pub fn new(issuer: &str, audience: &str, claims: ClaimNames) -> Self {
        let validation = |algorithm| {
            let mut validation = Validation::new(algorithm);
            validation.set_issuer(&[issuer]);
            validation.set_audience(&[audience]);
            // `exp` is required below: here a malformed one is named as such, not as missing.
            validation.set_required_spec_claims(&["iss", "aud"]);
            validation.leeway = LEEWAY_SECONDS;
            validation.validate_nbf = true;
            validation
        };
        TokenVerifier {
            hs256: validation(Algorithm::HS256),
            rs256: validation(Algorithm::RS256),
            es256: validation(Algorithm::ES256),
            claims,
        }
    }

    /// The caller of an HS256 token signed with `key`, or why it is refused.
    pub fn verify_hs256(&self, token: &str, key: &Hs256Key) -> Result<Caller, TokenRejection> {
        if signed_with(token)? != SignedWith::Hs256 {
            return Err(TokenRejection::WrongAlgorithm);
        }
        self.decode(token, &key.0, &self.hs256)
    }

    /// The caller of an RS256/ES256 token signed with the key of `keys` its `kid` names, or
    /// why it is refused. The key's type decides the algorithm: a token whose `alg` is not
    /// the key's is refused before its signature is looked at.
    pub fn verify_with_key_set(&self, token: &str, keys: &Jwks) -> Result<Caller, TokenRejection> {
        let header = header_of(token)?;
        if header.signed_with()? != SignedWith::KeySet {
            return Err(TokenRejection::WrongAlgorithm);
        }
        let kid = header.kid.ok_or(TokenRejection::MissingKeyId)?;
        let key = keys.find(&kid).ok_or(TokenRejection::UnknownKey)?;
        if header.alg != key.algorithm.name() {
            return Err(TokenRejection::WrongAlgorithm);
        }
        let validation = match key.algorithm {
            KeyAlgorithm::Rs256 => &self.rs256,
            KeyAlgorithm::Es256 => &self.es256,
        };
        self.decode(token, &key.key, validation)
    }

    fn decode(
        &self,
        token: &str,
        key: &DecodingKey,
        validation: &Validation,
    ) -> Result<Caller, TokenRejection> {
        let claims = jsonwebtoken::decode::<Map<String, Value>>(token, key, validation)
            .map_err(|e| rejection(e.kind()))?
            .claims;
        self.caller(&claims)
    }

    fn caller(&self, claims: &Map<String, Value>) -> Result<Caller, TokenRejection> {
        let names = &self.claims;
        let invalid = |name: &str| TokenRejection::InvalidClaim(name.to_owned());
        let organization = OrgId::parse(text_claim(claims, &names.organization)?)
            .ok_or_else(|| invalid(&names.organization))?;
        let user =
            UserId::parse(text_claim(claims, &names.user)?).ok_or_else(|| invalid(&names.user))?;
        let scopes = match claims.get(&names.scopes) {
            None | Some(Value::Null) => Scopes::default(),
            Some(Value::String(list)) => Scopes::parse_list(list),
            Some(Value::Array(items)) => items
                .iter()
                .map(|item| item.as_str().ok_or_else(|| invalid(&names.scopes)))
                .collect::<Result<Vec<_>, _>>()?
                .into_iter()
                .filter_map(Scope::parse)
                .collect(),
            Some(_) => return Err(invalid(&names.scopes)),
        };
        // A present `exp` is numeric and in the future: the validation checked it.
        let expires_at = claims
            .get("exp")
            .and_then(|exp| exp.as_i64().or_else(|| exp.as_f64().map(|f| f as i64)))
            .ok_or_else(|| TokenRejection::MissingClaim("exp".to_owned()))?;
        Ok(Caller {
            organization,
            user,
            scopes,
            expires_at,
            origin: Default::default(),
        })
    }
}

fn text_claim<'a>(claims: &'a Map<String, Value>, name: &str) -> Result<&'a str, TokenRejection> {
    match claims.get(name) {
        None | Some(Value::Null) => Err(TokenRejection::MissingClaim(name.to_owned())),
        Some(Value::String(text)) => Ok(text),
        Some(_) => Err(TokenRejection::InvalidClaim(name.to_owned())),
    }
}
