//! The identity provider of the authorizer's RS256 runs: an RSA key, its JWKS served on
//! 127.0.0.1 (counting the fetches), and tokens signed with it. Served locally over plain HTTP,
//! the fetch costs a fraction of what an identity provider's does over the internet with TLS.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::Router;
use axum::routing::get;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rsa::RsaPrivateKey;
use rsa::pkcs1::EncodeRsaPrivateKey;
use rsa::traits::PublicKeyParts;
use serde_json::json;
use strongroom_auth::TokenIssuer;

use crate::Failure;

const KID: &str = "bench";

pub struct IdentityProvider {
    pub key_set_url: String,
    issuer: TokenIssuer,
    fetches: Arc<AtomicUsize>,
}

impl IdentityProvider {
    /// Serves a new key's JWKS in the background; tokens carry `issuer` and `audience`.
    pub async fn start(issuer: &str, audience: &str) -> Result<Self, Failure> {
        let key = RsaPrivateKey::new(&mut rand::thread_rng(), 2048)?;
        let key_set = json!({"keys": [{
            "kty": "RSA",
            "kid": KID,
            "use": "sig",
            "alg": "RS256",
            "n": URL_SAFE_NO_PAD.encode(key.n().to_bytes_be()),
            "e": URL_SAFE_NO_PAD.encode(key.e().to_bytes_be()),
        }]})
        .to_string();
        let fetches = Arc::new(AtomicUsize::new(0));
        let counted = Arc::clone(&fetches);
        let app = Router::new().route(
            "/.well-known/jwks.json",
            get(move || {
                counted.fetch_add(1, Ordering::SeqCst);
                let key_set = key_set.clone();
                async move { ([("content-type", "application/json")], key_set) }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let key_set_url = format!("http://{}/.well-known/jwks.json", listener.local_addr()?);
        tokio::spawn(async move { axum::serve(listener, app).await });
        let der = key.to_pkcs1_der()?;
        Ok(IdentityProvider {
            key_set_url,
            issuer: TokenIssuer::rs256(der.as_bytes(), KID, issuer, audience),
            fetches,
        })
    }

    pub fn issuer(&self) -> &TokenIssuer {
        &self.issuer
    }

    /// How many times the key set was fetched.
    pub fn fetches(&self) -> usize {
        self.fetches.load(Ordering::SeqCst)
    }
}
