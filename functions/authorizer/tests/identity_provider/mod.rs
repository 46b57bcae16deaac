//! An identity provider for the tests: a key set served over real HTTP on 127.0.0.1, counting
//! the fetches, and RS256 tokens built by hand (base64url header and claims, signed with the
//! `rsa` crate), not by Strongroom's minting code.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rsa::RsaPrivateKey;
use rsa::pkcs1v15::SigningKey;
use rsa::signature::{SignatureEncoding, Signer};
use rsa::traits::PublicKeyParts;
use serde_json::{Value, json};
use sha2::Sha256;
use tokio::sync::oneshot;

pub const ISSUER: &str = "https://idp.test/";
pub const AUDIENCE: &str = "strongroom";

pub fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

pub fn rsa_key() -> RsaPrivateKey {
    RsaPrivateKey::new(&mut rand::thread_rng(), 2048).expect("an RSA key")
}

/// The public half of `key` as a JWK named `kid`.
pub fn rsa_jwk(kid: &str, key: &RsaPrivateKey) -> Value {
    json!({
        "kty": "RSA",
        "kid": kid,
        "use": "sig",
        "alg": "RS256",
        "n": b64(&key.n().to_bytes_be()),
        "e": b64(&key.e().to_bytes_be()),
    })
}

/// A token for `user` of `org`, as an identity provider issues it: `aud` an array, no `iat`.
pub fn rs256_token(key: &RsaPrivateKey, kid: &str, org: &str, user: &str) -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("after 1970")
        .as_secs();
    let header = json!({"alg": "RS256", "typ": "JWT", "kid": kid});
    let claims = json!({
        "iss": ISSUER,
        "aud": [AUDIENCE, "https://idp.test/userinfo"],
        "sub": user,
        "org_id": org,
        "scope": "openid credentials:read",
        "exp": now + 600,
    });
    let input = format!(
        "{}.{}",
        b64(header.to_string().as_bytes()),
        b64(claims.to_string().as_bytes())
    );
    let signature = SigningKey::<Sha256>::new(key.clone()).sign(input.as_bytes());
    format!("{input}.{}", b64(&signature.to_vec()))
}

#[derive(Default)]
struct Published {
    keys: Mutex<Vec<Value>>,
    /// Answer 503 instead of the key set.
    down: Mutex<bool>,
    fetches: AtomicUsize,
}

async fn key_set(State(published): State<Arc<Published>>) -> Response {
    published.fetches.fetch_add(1, Ordering::SeqCst);
    if *published.down.lock().expect("not poisoned") {
        return StatusCode::SERVICE_UNAVAILABLE.into_response();
    }
    let keys = published.keys.lock().expect("not poisoned").clone();
    (
        [("content-type", "application/json")],
        json!({ "keys": keys }).to_string(),
    )
        .into_response()
}

/// The key set at `url()`, served until dropped.
pub struct IdentityProvider {
    url: String,
    published: Arc<Published>,
    _shutdown: oneshot::Sender<()>,
}

impl IdentityProvider {
    pub async fn start(keys: Vec<Value>) -> IdentityProvider {
        let published = Arc::new(Published::default());
        *published.keys.lock().expect("not poisoned") = keys;
        let app = Router::new()
            .route("/.well-known/jwks.json", get(key_set))
            .with_state(Arc::clone(&published));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a port");
        let url = format!(
            "http://{}/.well-known/jwks.json",
            listener.local_addr().expect("an address")
        );
        let (shutdown, stopped) = oneshot::channel::<()>();
        tokio::spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = stopped.await;
                })
                .await
                .expect("the key set is served");
        });
        IdentityProvider {
            url,
            published,
            _shutdown: shutdown,
        }
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    /// Publishes `keys` in place of the current ones (a rotation).
    pub fn publish(&self, keys: Vec<Value>) {
        *self.published.keys.lock().expect("not poisoned") = keys;
    }

    pub fn set_down(&self, down: bool) {
        *self.published.down.lock().expect("not poisoned") = down;
    }

    /// How many times the key set was asked for.
    pub fn fetches(&self) -> usize {
        self.published.fetches.load(Ordering::SeqCst)
    }
}
