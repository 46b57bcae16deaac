//! The local stack's own identity-provider key: an RSA key pair made on first use and kept in
//! the state directory beside the HS256 key, whose public half the gateway publishes as a key
//! set, so that RS256 tokens go through the same path locally as an identity provider's do.

use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rsa::RsaPrivateKey;
use rsa::pkcs1::EncodeRsaPrivateKey;
use rsa::pkcs8::{DecodePrivateKey, EncodePrivateKey, LineEnding};
use rsa::traits::PublicKeyParts;
use serde_json::json;
use sha2::{Digest, Sha256};
use strongroom_auth::TokenIssuer;

/// Where the gateway publishes the key set, on its own port.
pub const KEY_SET_PATH: &str = "/.well-known/jwks.json";
const KEY_FILE: &str = "token-rs256-key.pem";
const KEY_BITS: usize = 2048;

#[derive(Debug, thiserror::Error)]
pub enum DevKeyError {
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error(
        "{path} is not an RSA private key in PKCS#8 PEM (delete it to make a new one): {source}"
    )]
    Unreadable {
        path: String,
        source: rsa::pkcs8::Error,
    },
    #[error("could not make an RSA key: {0}")]
    Generate(#[from] rsa::Error),
    #[error("could not encode the RSA key: {0}")]
    Encode(String),
}

/// Writes `contents` to `path`, readable by its owner only (the local stack's keys).
pub fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    std::fs::write(path, contents)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    }
    Ok(())
}

/// The local identity provider's RSA key pair.
pub struct DevKeyPair {
    key: RsaPrivateKey,
    kid: String,
}

impl DevKeyPair {
    /// The key pair kept in `state_dir`, made and kept there on first use.
    pub fn load_or_create(state_dir: &Path) -> Result<Self, DevKeyError> {
        let path = state_dir.join(KEY_FILE);
        let shown = || path.display().to_string();
        let key = match std::fs::read_to_string(&path) {
            Ok(pem) => {
                RsaPrivateKey::from_pkcs8_pem(&pem).map_err(|source| DevKeyError::Unreadable {
                    path: shown(),
                    source,
                })?
            }
            Err(error) if error.kind() != std::io::ErrorKind::NotFound => {
                return Err(DevKeyError::Io {
                    path: shown(),
                    source: error,
                });
            }
            Err(_) => {
                let key = RsaPrivateKey::new(&mut rand::thread_rng(), KEY_BITS)?;
                let pem = key
                    .to_pkcs8_pem(LineEnding::LF)
                    .map_err(|e| DevKeyError::Encode(e.to_string()))?;
                std::fs::create_dir_all(state_dir)
                    .and_then(|()| write_private(&path, &pem))
                    .map_err(|source| DevKeyError::Io {
                        path: shown(),
                        source,
                    })?;
                key
            }
        };
        let kid = thumbprint(&key);
        Ok(DevKeyPair { key, kid })
    }

    /// The key set the gateway publishes: the public key, named by its thumbprint.
    pub fn key_set(&self) -> String {
        json!({"keys": [{
            "kty": "RSA",
            "kid": self.kid,
            "use": "sig",
            "alg": "RS256",
            "n": URL_SAFE_NO_PAD.encode(self.key.n().to_bytes_be()),
            "e": URL_SAFE_NO_PAD.encode(self.key.e().to_bytes_be()),
        }]})
        .to_string()
    }

    /// An issuer of RS256 tokens under this key.
    pub fn issuer(&self, issuer: &str, audience: &str) -> Result<TokenIssuer, DevKeyError> {
        let der = self
            .key
            .to_pkcs1_der()
            .map_err(|e| DevKeyError::Encode(e.to_string()))?;
        Ok(TokenIssuer::rs256(
            der.as_bytes(),
            &self.kid,
            issuer,
            audience,
        ))
    }
}

/// The key's RFC 7638 thumbprint: SHA-256 of its required members in lexical order.
fn thumbprint(key: &impl PublicKeyParts) -> String {
    let members = format!(
        r#"{{"e":"{}","kty":"RSA","n":"{}"}}"#,
        URL_SAFE_NO_PAD.encode(key.e().to_bytes_be()),
        URL_SAFE_NO_PAD.encode(key.n().to_bytes_be())
    );
    URL_SAFE_NO_PAD.encode(Sha256::digest(members.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use credential_model::{OrgId, Scopes, UserId};
    use strongroom_auth::{ClaimNames, Jwks, TokenVerifier};

    #[test]
    fn the_key_is_made_once_kept_private_and_verifies_its_own_tokens() {
        let state_dir =
            std::env::temp_dir().join(format!("strongroom-dev-keys-{}", uuid::Uuid::new_v4()));
        let made = DevKeyPair::load_or_create(&state_dir).expect("made");
        let kept = DevKeyPair::load_or_create(&state_dir).expect("read back");
        assert_eq!(made.kid, kept.kid);
        assert_eq!(made.key_set(), kept.key_set());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(state_dir.join(KEY_FILE))
                .expect("the key file")
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }

        let keys = Jwks::parse(kept.key_set().as_bytes()).expect("a key set");
        assert_eq!(keys.kids().collect::<Vec<_>>(), [made.kid.as_str()]);
        let token = made
            .issuer("strongroom-local", "strongroom")
            .expect("an issuer")
            .issue(
                &OrgId::parse("org_dev").expect("an org"),
                &UserId::parse("user_dev").expect("a user"),
                Scopes::all(),
                60,
            )
            .expect("a token");
        let caller = TokenVerifier::new("strongroom-local", "strongroom", ClaimNames::default())
            .verify_with_key_set(&token, &keys)
            .expect("accepted");
        assert_eq!(caller.scopes, Scopes::all());
        std::fs::remove_dir_all(&state_dir).expect("cleaned up");
    }

    #[test]
    fn the_thumbprint_is_rfc_7638s() {
        // RFC 7638 §3.1's example key and thumbprint.
        let n = "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw";
        let key = rsa::RsaPublicKey::new(
            rsa::BigUint::from_bytes_be(&URL_SAFE_NO_PAD.decode(n).expect("base64url")),
            rsa::BigUint::from(65537u32),
        )
        .expect("a public key");
        assert_eq!(
            thumbprint(&key),
            "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
        );
    }
}
