//! An identity provider's published keys (RFC 7517 JWK Set), as this API uses them: RSA keys
//! of 2048 to 4096 bits for RS256 and EC P-256 keys for ES256, each named by its `kid`.
//!
//! A key set commonly holds keys this API cannot or must not use — encryption keys, other
//! curves, symmetric keys — beside the signing keys; those are skipped, with the reason,
//! rather than failing the whole set.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::DecodingKey;
use serde::Deserialize;
use serde_json::Value;

const MIN_RSA_BITS: usize = 2048;
const MAX_RSA_BITS: usize = 4096;
const P256_COORDINATE_BYTES: usize = 32;

/// The algorithm a key's type fixes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KeyAlgorithm {
    Rs256,
    Es256,
}

impl KeyAlgorithm {
    pub(crate) fn name(self) -> &'static str {
        match self {
            KeyAlgorithm::Rs256 => "RS256",
            KeyAlgorithm::Es256 => "ES256",
        }
    }
}

pub(crate) struct PublicKey {
    kid: String,
    pub(crate) algorithm: KeyAlgorithm,
    pub(crate) key: DecodingKey,
}

/// A key of the set that is not used, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkippedKey {
    pub kid: Option<String>,
    pub reason: &'static str,
}

impl fmt::Display for SkippedKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kid {
            Some(kid) => write!(f, "key {kid:?}: {}", self.reason),
            None => write!(f, "a key without kid: {}", self.reason),
        }
    }
}

/// The document is not a key set at all.
#[derive(Debug, thiserror::Error)]
#[error("the key set is not a JSON object with a `keys` array: {0}")]
pub struct JwksError(#[source] serde_json::Error);

/// The usable keys of a key set.
#[derive(Default)]
pub struct Jwks {
    keys: Vec<PublicKey>,
    skipped: Vec<SkippedKey>,
}

#[derive(Deserialize)]
struct Document {
    keys: Vec<Value>,
}

/// The members of a JWK this API reads.
#[derive(Deserialize)]
struct Jwk {
    kty: String,
    kid: Option<String>,
    alg: Option<String>,
    #[serde(rename = "use")]
    usage: Option<String>,
    key_ops: Option<Vec<String>>,
    n: Option<String>,
    e: Option<String>,
    crv: Option<String>,
    x: Option<String>,
    y: Option<String>,
}

impl Jwks {
    /// The usable keys of the JSON key set `json`; unusable ones are listed in
    /// [`skipped`](Self::skipped).
    pub fn parse(json: &[u8]) -> Result<Jwks, JwksError> {
        let document: Document = serde_json::from_slice(json).map_err(JwksError)?;
        let mut set = Jwks::default();
        for entry in document.keys {
            let kid = entry.get("kid").and_then(Value::as_str).map(str::to_owned);
            let usable = serde_json::from_value::<Jwk>(entry)
                .map_err(|_| "not a JSON web key")
                .and_then(|jwk| public_key(&jwk));
            match (usable, kid) {
                (Ok(key), _) => set.keys.push(key),
                (Err(reason), kid) => set.skipped.push(SkippedKey { kid, reason }),
            }
        }
        Ok(set)
    }

    /// The `kid`s of the usable keys.
    pub fn kids(&self) -> impl Iterator<Item = &str> {
        self.keys.iter().map(|key| key.kid.as_str())
    }

    pub fn skipped(&self) -> &[SkippedKey] {
        &self.skipped
    }

    pub(crate) fn find(&self, kid: &str) -> Option<&PublicKey> {
        self.keys.iter().find(|key| key.kid == kid)
    }
}

const NOT_BASE64URL: &str = "a key component is not base64url";

fn decoded(component: &str) -> Result<Vec<u8>, &'static str> {
    URL_SAFE_NO_PAD.decode(component).map_err(|_| NOT_BASE64URL)
}

fn public_key(jwk: &Jwk) -> Result<PublicKey, &'static str> {
    let kid = jwk.kid.clone().ok_or("no kid, so no token can name it")?;
    if jwk.usage.as_deref().is_some_and(|usage| usage != "sig") {
        return Err("not a signing key (use)");
    }
    if let Some(operations) = &jwk.key_ops
        && !operations.iter().any(|operation| operation == "verify")
    {
        return Err("not a verification key (key_ops)");
    }
    let (algorithm, key) = match jwk.kty.as_str() {
        "RSA" => {
            if jwk.alg.as_deref().is_some_and(|alg| alg != "RS256") {
                return Err("an RSA key for an algorithm other than RS256");
            }
            let (Some(n), Some(e)) = (&jwk.n, &jwk.e) else {
                return Err("an RSA key without n or e");
            };
            let (modulus, exponent) = (decoded(n)?, decoded(e)?);
            if !(MIN_RSA_BITS..=MAX_RSA_BITS).contains(&bit_length(&modulus)) {
                return Err("an RSA key not of 2048 to 4096 bits");
            }
            let key = DecodingKey::from_rsa_raw_components(&modulus, &exponent);
            (KeyAlgorithm::Rs256, key)
        }
        "EC" => {
            if jwk.crv.as_deref() != Some("P-256") {
                return Err("an EC key on a curve other than P-256");
            }
            if jwk.alg.as_deref().is_some_and(|alg| alg != "ES256") {
                return Err("an EC key for an algorithm other than ES256");
            }
            let (Some(x), Some(y)) = (&jwk.x, &jwk.y) else {
                return Err("an EC key without x or y");
            };
            let lengths = (decoded(x)?.len(), decoded(y)?.len());
            if lengths != (P256_COORDINATE_BYTES, P256_COORDINATE_BYTES) {
                return Err("an EC key whose coordinates are not 32 bytes");
            }
            let key = DecodingKey::from_ec_components(x, y).map_err(|_| NOT_BASE64URL)?;
            (KeyAlgorithm::Es256, key)
        }
        _ => return Err("a key type other than RSA or EC"),
    };
    Ok(PublicKey {
        kid,
        algorithm,
        key,
    })
}

/// The bit length of a big-endian unsigned integer.
fn bit_length(bytes: &[u8]) -> usize {
    match bytes.iter().position(|&b| b != 0) {
        Some(first) => (bytes.len() - first) * 8 - bytes[first].leading_zeros() as usize,
        None => 0,
    }
}
