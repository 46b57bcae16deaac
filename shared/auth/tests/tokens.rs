//! Verification against tokens built by hand, as identity providers build them — base64url
//! header and claims, signed with the `rsa`, `p256` and `hmac` crates — never with
//! Strongroom's own minting code.

use std::sync::LazyLock;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use credential_model::{OrgId, Scope, Scopes, UserId};
use hmac::{Hmac, Mac};
use p256::ecdsa::signature::Signer;
use rsa::RsaPrivateKey;
use rsa::pkcs1v15::SigningKey as RsaSigningKey;
use rsa::pkcs8::{EncodePublicKey, LineEnding};
use rsa::signature::SignatureEncoding;
use rsa::traits::PublicKeyParts;
use secrecy::SecretString;
use serde_json::{Value, json};
use sha2::Sha256;
use strongroom_auth::{
    ClaimNames, Hs256Key, Jwks, SignedWith, TokenIssuer, TokenRejection, TokenVerifier, signed_with,
};

const ISSUER: &str = "https://idp.test/";
const AUDIENCE: &str = "strongroom";
const SHARED_KEY: &str = "0123456789abcdef0123456789abcdef-test-key";

static OLD_RSA: LazyLock<RsaPrivateKey> = LazyLock::new(rsa_key);
static NEW_RSA: LazyLock<RsaPrivateKey> = LazyLock::new(rsa_key);
static EC: LazyLock<p256::ecdsa::SigningKey> =
    LazyLock::new(|| p256::ecdsa::SigningKey::random(&mut rand::thread_rng()));

fn rsa_key() -> RsaPrivateKey {
    RsaPrivateKey::new(&mut rand::thread_rng(), 2048).expect("an RSA key")
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_secs() as i64
}

/// Claims as an identity provider sends them: no `iat`, the default claim names.
fn claims() -> Value {
    json!({
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": "user_1",
        "org_id": "org_1",
        "scope": "credentials:read",
        "exp": now() + 600,
    })
}

fn signing_input(header: &Value, claims: &Value) -> String {
    format!(
        "{}.{}",
        b64(header.to_string().as_bytes()),
        b64(claims.to_string().as_bytes())
    )
}

fn rs256(key: &RsaPrivateKey, kid: &str, claims: &Value) -> String {
    let input = signing_input(&json!({"alg": "RS256", "typ": "JWT", "kid": kid}), claims);
    let signature = RsaSigningKey::<Sha256>::new(key.clone()).sign(input.as_bytes());
    format!("{input}.{}", b64(&signature.to_vec()))
}

fn es256(key: &p256::ecdsa::SigningKey, kid: &str, claims: &Value) -> String {
    let input = signing_input(&json!({"alg": "ES256", "kid": kid}), claims);
    let signature: p256::ecdsa::Signature = key.sign(input.as_bytes());
    format!("{input}.{}", b64(&signature.to_bytes()))
}

/// An HMAC-SHA256 signed token with any header: the shared key's tokens, and forgeries.
fn hmac_signed(secret: &[u8], header: &Value, claims: &Value) -> String {
    let input = signing_input(header, claims);
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("any key length");
    mac.update(input.as_bytes());
    format!("{input}.{}", b64(&mac.finalize().into_bytes()))
}

fn rsa_jwk(kid: &str, key: &RsaPrivateKey) -> Value {
    json!({
        "kty": "RSA",
        "kid": kid,
        "use": "sig",
        "alg": "RS256",
        "n": b64(&key.n().to_bytes_be()),
        "e": b64(&key.e().to_bytes_be()),
    })
}

fn ec_jwk(kid: &str, key: &p256::ecdsa::SigningKey) -> Value {
    let point = key.verifying_key().to_encoded_point(false);
    json!({
        "kty": "EC",
        "crv": "P-256",
        "kid": kid,
        "x": b64(point.x().expect("an uncompressed point")),
        "y": b64(point.y().expect("an uncompressed point")),
    })
}

fn key_set(keys: &[Value]) -> Jwks {
    Jwks::parse(json!({ "keys": keys }).to_string().as_bytes()).expect("a key set")
}

fn verifier() -> TokenVerifier {
    TokenVerifier::new(ISSUER, AUDIENCE, ClaimNames::default())
}

fn shared_key() -> Hs256Key {
    Hs256Key::new(&SecretString::from(SHARED_KEY)).expect("a strong key")
}

fn with(mut claims: Value, changes: Value) -> Value {
    for (name, value) in changes.as_object().expect("an object") {
        claims[name] = value.clone();
    }
    claims
}

fn without(mut claims: Value, name: &str) -> Value {
    claims.as_object_mut().expect("an object").remove(name);
    claims
}

#[test]
fn an_rs256_token_signed_with_a_published_key_names_its_caller() {
    let keys = key_set(&[rsa_jwk("old", &OLD_RSA)]);
    let token = rs256(&OLD_RSA, "old", &claims());
    assert_eq!(signed_with(&token), Ok(SignedWith::KeySet));
    let caller = verifier()
        .verify_with_key_set(&token, &keys)
        .expect("accepted");
    assert_eq!(caller.organization, OrgId::parse("org_1").expect("valid"));
    assert_eq!(caller.user, UserId::parse("user_1").expect("valid"));
    assert_eq!(caller.scopes, Scopes::from_iter([Scope::Read]));
    assert_eq!(
        caller.expires_at,
        claims()["exp"].as_i64().expect("a number")
    );
}

#[test]
fn an_es256_token_verifies_against_an_ec_key() {
    let keys = key_set(&[rsa_jwk("rsa", &OLD_RSA), ec_jwk("ec", &EC)]);
    let token = es256(&EC, "ec", &claims());
    let caller = verifier()
        .verify_with_key_set(&token, &keys)
        .expect("accepted");
    assert_eq!(caller.user.as_str(), "user_1");
    let forged = es256(
        &p256::ecdsa::SigningKey::random(&mut rand::thread_rng()),
        "ec",
        &claims(),
    );
    assert_eq!(
        verifier().verify_with_key_set(&forged, &keys),
        Err(TokenRejection::BadSignature)
    );
}

#[test]
fn a_token_naming_an_unknown_kid_or_none_is_refused() {
    let keys = key_set(&[rsa_jwk("old", &OLD_RSA)]);
    let unknown = rs256(&NEW_RSA, "new", &claims());
    assert_eq!(
        verifier().verify_with_key_set(&unknown, &keys),
        Err(TokenRejection::UnknownKey)
    );
    let input = signing_input(&json!({"alg": "RS256"}), &claims());
    let signature = RsaSigningKey::<Sha256>::new(OLD_RSA.clone()).sign(input.as_bytes());
    let no_kid = format!("{input}.{}", b64(&signature.to_vec()));
    assert_eq!(
        verifier().verify_with_key_set(&no_kid, &keys),
        Err(TokenRejection::MissingKeyId)
    );
}

#[test]
fn a_key_signing_under_another_kid_is_a_bad_signature() {
    let keys = key_set(&[rsa_jwk("old", &OLD_RSA), rsa_jwk("new", &NEW_RSA)]);
    let token = rs256(&NEW_RSA, "old", &claims());
    assert_eq!(
        verifier().verify_with_key_set(&token, &keys),
        Err(TokenRejection::BadSignature)
    );
}

#[test]
fn during_a_rotation_both_keys_verify_and_after_it_only_the_new_one() {
    let old_token = rs256(&OLD_RSA, "old", &claims());
    let new_token = rs256(&NEW_RSA, "new", &claims());
    let during = key_set(&[rsa_jwk("old", &OLD_RSA), rsa_jwk("new", &NEW_RSA)]);
    assert!(verifier().verify_with_key_set(&old_token, &during).is_ok());
    assert!(verifier().verify_with_key_set(&new_token, &during).is_ok());
    let after = key_set(&[rsa_jwk("new", &NEW_RSA)]);
    assert!(verifier().verify_with_key_set(&new_token, &after).is_ok());
    assert_eq!(
        verifier().verify_with_key_set(&old_token, &after),
        Err(TokenRejection::UnknownKey)
    );
}

#[test]
fn the_issuer_must_be_ours() {
    let keys = key_set(&[rsa_jwk("old", &OLD_RSA)]);
    for claims in [
        with(claims(), json!({"iss": "https://evil.test/"})),
        with(claims(), json!({"iss": "https://idp.test"})),
    ] {
        let token = rs256(&OLD_RSA, "old", &claims);
        assert_eq!(
            verifier().verify_with_key_set(&token, &keys),
            Err(TokenRejection::WrongIssuer)
        );
    }
    let token = rs256(&OLD_RSA, "old", &without(claims(), "iss"));
    assert_eq!(
        verifier().verify_with_key_set(&token, &keys),
        Err(TokenRejection::MissingClaim("iss".into()))
    );
}

#[test]
fn the_audience_must_be_ours_alone_or_among_others() {
    let keys = key_set(&[rsa_jwk("old", &OLD_RSA)]);
    let verify =
        |claims: &Value| verifier().verify_with_key_set(&rs256(&OLD_RSA, "old", claims), &keys);
    assert!(
        verify(&with(
            claims(),
            json!({"aud": ["https://api.other.test", AUDIENCE]})
        ))
        .is_ok()
    );
    assert!(verify(&with(claims(), json!({"aud": [AUDIENCE]}))).is_ok());
    for audience in [json!("other"), json!(["other", "another"]), json!([])] {
        assert_eq!(
            verify(&with(claims(), json!({ "aud": audience }))),
            Err(TokenRejection::WrongAudience),
            "{audience}"
        );
    }
    assert_eq!(
        verify(&without(claims(), "aud")),
        Err(TokenRejection::MissingClaim("aud".into()))
    );
}

#[test]
fn iat_is_not_required_and_nbf_is_checked_when_present() {
    let keys = key_set(&[rsa_jwk("old", &OLD_RSA)]);
    let verify =
        |claims: &Value| verifier().verify_with_key_set(&rs256(&OLD_RSA, "old", claims), &keys);
    assert!(claims().get("iat").is_none());
    assert!(verify(&claims()).is_ok());
    assert!(verify(&with(claims(), json!({"iat": now(), "nbf": now() - 5}))).is_ok());
    assert_eq!(
        verify(&with(claims(), json!({"nbf": now() + 300}))),
        Err(TokenRejection::NotYetValid)
    );
}

#[test]
fn expired_tokens_and_tokens_without_expiry_are_refused() {
    let keys = key_set(&[rsa_jwk("old", &OLD_RSA)]);
    let verify =
        |claims: &Value| verifier().verify_with_key_set(&rs256(&OLD_RSA, "old", claims), &keys);
    assert_eq!(
        verify(&with(claims(), json!({"exp": now() - 120}))),
        Err(TokenRejection::Expired)
    );
    assert_eq!(
        verify(&without(claims(), "exp")),
        Err(TokenRejection::MissingClaim("exp".into()))
    );
    assert_eq!(
        verify(&with(claims(), json!({"exp": "tomorrow"}))),
        Err(TokenRejection::InvalidClaim("exp".into()))
    );
}

#[test]
fn an_hs256_token_signed_with_the_public_key_is_refused() {
    let keys = key_set(&[rsa_jwk("old", &OLD_RSA)]);
    let pem = OLD_RSA
        .to_public_key()
        .to_public_key_pem(LineEnding::LF)
        .expect("a PEM");
    let jwk = rsa_jwk("old", &OLD_RSA).to_string();
    let modulus = OLD_RSA.n().to_bytes_be();
    for public_bytes in [pem.as_bytes(), jwk.as_bytes(), &modulus] {
        let forged = hmac_signed(
            public_bytes,
            &json!({"alg": "HS256", "typ": "JWT", "kid": "old"}),
            &claims(),
        );
        // The authorizer sends it to the shared key, which did not sign it…
        assert_eq!(signed_with(&forged), Ok(SignedWith::Hs256));
        assert_eq!(
            verifier().verify_hs256(&forged, &shared_key()),
            Err(TokenRejection::BadSignature)
        );
        // …and the key set never verifies HMAC, whatever key its kid names.
        assert_eq!(
            verifier().verify_with_key_set(&forged, &keys),
            Err(TokenRejection::WrongAlgorithm)
        );
    }
}

#[test]
fn a_token_whose_alg_is_not_its_keys_is_refused() {
    let keys = key_set(&[rsa_jwk("rsa", &OLD_RSA), ec_jwk("ec", &EC)]);
    // ES256 claimed, kid of the RSA key, signed by the EC key: the RSA key decides.
    let es_on_rsa = es256(&EC, "rsa", &claims());
    assert_eq!(
        verifier().verify_with_key_set(&es_on_rsa, &keys),
        Err(TokenRejection::WrongAlgorithm)
    );
    let rs_on_ec = rs256(&OLD_RSA, "ec", &claims());
    assert_eq!(
        verifier().verify_with_key_set(&rs_on_ec, &keys),
        Err(TokenRejection::WrongAlgorithm)
    );
    // An RS256 token offered to the shared key.
    let token = rs256(&OLD_RSA, "rsa", &claims());
    assert_eq!(
        verifier().verify_hs256(&token, &shared_key()),
        Err(TokenRejection::WrongAlgorithm)
    );
}

#[test]
fn unsigned_tokens_are_refused() {
    let keys = key_set(&[rsa_jwk("old", &OLD_RSA)]);
    for alg in ["none", "None", "NONE", "RS512", "PS256", "HS512", ""] {
        let input = signing_input(&json!({"alg": alg, "kid": "old"}), &claims());
        for token in [format!("{input}."), format!("{input}.c2lnbmF0dXJl")] {
            assert_eq!(
                signed_with(&token),
                Err(TokenRejection::WrongAlgorithm),
                "{alg}"
            );
            assert_eq!(
                verifier().verify_with_key_set(&token, &keys),
                Err(TokenRejection::WrongAlgorithm),
                "{alg}"
            );
            assert_eq!(
                verifier().verify_hs256(&token, &shared_key()),
                Err(TokenRejection::WrongAlgorithm),
                "{alg}"
            );
        }
    }
}

#[test]
fn a_changed_claim_breaks_the_signature() {
    let keys = key_set(&[rsa_jwk("old", &OLD_RSA)]);
    let token = rs256(&OLD_RSA, "old", &claims());
    let (header, rest) = token.split_once('.').expect("a JWT");
    let (_, signature) = rest.split_once('.').expect("a JWT");
    let admin = with(claims(), json!({"scope": "credentials:admin"}));
    let tampered = format!("{header}.{}.{signature}", b64(admin.to_string().as_bytes()));
    assert_eq!(
        verifier().verify_with_key_set(&tampered, &keys),
        Err(TokenRejection::BadSignature)
    );
}

#[test]
fn garbage_is_malformed() {
    let keys = key_set(&[rsa_jwk("old", &OLD_RSA)]);
    for token in [
        "",
        "not.a.jwt",
        "a.b",
        "a.b.c.d",
        "e30.e30.",
        "bm90IGpzb24.e30.x",
    ] {
        assert_eq!(
            signed_with(token),
            Err(TokenRejection::Malformed),
            "{token}"
        );
        assert_eq!(
            verifier().verify_with_key_set(token, &keys),
            Err(TokenRejection::Malformed),
            "{token}"
        );
    }
}

#[test]
fn claim_names_are_configurable() {
    let names = ClaimNames {
        organization: "https://strongroom.example/org".into(),
        user: "email".into(),
        scopes: "scp".into(),
    };
    let verifier = TokenVerifier::new(ISSUER, AUDIENCE, names);
    let keys = key_set(&[rsa_jwk("old", &OLD_RSA)]);
    let claims = json!({
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": "auth0|5f7c8ec7c33c6c004bbafe82",
        "email": "ada@example.com",
        "https://strongroom.example/org": "acme",
        "scp": "credentials:write openid",
        "exp": now() + 60,
    });
    let caller = verifier
        .verify_with_key_set(&rs256(&OLD_RSA, "old", &claims), &keys)
        .expect("accepted");
    assert_eq!(caller.organization.as_str(), "acme");
    assert_eq!(caller.user.as_str(), "ada@example.com");
    assert_eq!(caller.scopes, Scopes::from_iter([Scope::Write]));
    // The default names are not read.
    let defaults = self::claims();
    assert_eq!(
        verifier.verify_with_key_set(&rs256(&OLD_RSA, "old", &defaults), &keys),
        Err(TokenRejection::MissingClaim(
            "https://strongroom.example/org".into()
        ))
    );
}

#[test]
fn scopes_may_be_a_string_or_an_array_and_foreign_scopes_are_ignored() {
    let keys = key_set(&[rsa_jwk("old", &OLD_RSA)]);
    let scopes = |scope: Value| {
        let claims = with(claims(), json!({ "scope": scope }));
        verifier()
            .verify_with_key_set(&rs256(&OLD_RSA, "old", &claims), &keys)
            .map(|caller| caller.scopes)
    };
    let read_write = Scopes::from_iter([Scope::Read, Scope::Write]);
    assert_eq!(
        scopes(json!(["credentials:read", "openid", "credentials:write"])),
        Ok(read_write)
    );
    assert_eq!(
        scopes(json!("openid credentials:read profile credentials:write")),
        Ok(read_write)
    );
    assert_eq!(scopes(json!([])), Ok(Scopes::default()));
    assert_eq!(scopes(Value::Null), Ok(Scopes::default()));
    assert_eq!(
        scopes(json!(["credentials:read", 7])),
        Err(TokenRejection::InvalidClaim("scope".into()))
    );
    assert_eq!(
        scopes(json!({"credentials:read": true})),
        Err(TokenRejection::InvalidClaim("scope".into()))
    );
    let no_scope = without(claims(), "scope");
    assert_eq!(
        verifier()
            .verify_with_key_set(&rs256(&OLD_RSA, "old", &no_scope), &keys)
            .map(|caller| caller.scopes),
        Ok(Scopes::default())
    );
}

#[test]
fn missing_and_unusable_caller_claims_are_named() {
    let keys = key_set(&[rsa_jwk("old", &OLD_RSA)]);
    let verify =
        |claims: &Value| verifier().verify_with_key_set(&rs256(&OLD_RSA, "old", claims), &keys);
    assert_eq!(
        verify(&without(claims(), "org_id")),
        Err(TokenRejection::MissingClaim("org_id".into()))
    );
    assert_eq!(
        verify(&with(claims(), json!({"org_id": 42}))),
        Err(TokenRejection::InvalidClaim("org_id".into()))
    );
    assert_eq!(
        verify(&with(claims(), json!({"org_id": ""}))),
        Err(TokenRejection::InvalidClaim("org_id".into()))
    );
    assert_eq!(
        verify(&without(claims(), "sub")),
        Err(TokenRejection::MissingClaim("sub".into()))
    );
    assert_eq!(
        verify(&with(claims(), json!({"sub": "has spaces"}))),
        Err(TokenRejection::InvalidClaim("sub".into()))
    );
}

#[test]
fn an_hs256_token_signed_with_the_shared_key_names_its_caller() {
    let token = hmac_signed(
        SHARED_KEY.as_bytes(),
        &json!({"alg": "HS256", "typ": "JWT"}),
        &with(claims(), json!({"aud": [AUDIENCE, "other"]})),
    );
    assert_eq!(signed_with(&token), Ok(SignedWith::Hs256));
    let caller = verifier()
        .verify_hs256(&token, &shared_key())
        .expect("accepted");
    assert_eq!(caller.organization.as_str(), "org_1");
    let other_key = Hs256Key::new(&SecretString::from(
        "another-key-that-is-long-enough-000000",
    ))
    .expect("a strong key");
    assert_eq!(
        verifier().verify_hs256(&token, &other_key),
        Err(TokenRejection::BadSignature)
    );
    assert!(Hs256Key::new(&SecretString::from("short")).is_err());
}

#[test]
fn strongroom_minted_tokens_verify() {
    let issuer = TokenIssuer::hs256(&SecretString::from(SHARED_KEY), ISSUER, AUDIENCE)
        .expect("a strong key");
    let org = OrgId::parse("org_1").expect("valid");
    let user = UserId::parse("user_1").expect("valid");
    let token = issuer
        .issue(&org, &user, Scopes::from_iter([Scope::Read]), 60)
        .expect("signed");
    let caller = verifier()
        .verify_hs256(&token, &shared_key())
        .expect("accepted");
    assert_eq!(
        (caller.organization, caller.user),
        (org.clone(), user.clone())
    );

    let der = rsa::pkcs1::EncodeRsaPrivateKey::to_pkcs1_der(&*OLD_RSA).expect("DER");
    let issuer = TokenIssuer::rs256(der.as_bytes(), "old", ISSUER, AUDIENCE);
    let token = issuer
        .issue(&org, &user, Scopes::all(), 60)
        .expect("signed");
    let caller = verifier()
        .verify_with_key_set(&token, &key_set(&[rsa_jwk("old", &OLD_RSA)]))
        .expect("accepted");
    assert_eq!(caller.scopes, Scopes::all());
}

#[test]
fn unusable_keys_are_skipped_with_their_reason_and_the_rest_kept() {
    let weak_modulus = b64(&[0xC5; 128]);
    let set = Jwks::parse(
        json!({"keys": [
            rsa_jwk("sig", &OLD_RSA),
            ec_jwk("ec", &EC),
            with(rsa_jwk("enc", &NEW_RSA), json!({"use": "enc", "alg": "RSA-OAEP"})),
            with(rsa_jwk("ops", &NEW_RSA), json!({"key_ops": ["encrypt"]})),
            with(rsa_jwk("ps", &NEW_RSA), json!({"alg": "PS256"})),
            with(rsa_jwk("weak", &NEW_RSA), json!({"n": weak_modulus})),
            without(rsa_jwk("nokid", &NEW_RSA), "kid"),
            {"kty": "oct", "kid": "hmac", "k": b64(SHARED_KEY.as_bytes())},
            with(ec_jwk("p384", &EC), json!({"crv": "P-384"})),
            with(ec_jwk("short", &EC), json!({"x": b64(&[1; 31])})),
            {"kty": "OKP", "kid": "ed", "crv": "Ed25519", "x": b64(&[1; 32])},
            {"kty": "RSA", "kid": "typed", "n": 1, "e": 2},
        ]})
        .to_string()
        .as_bytes(),
    )
    .expect("a key set");
    assert_eq!(set.kids().collect::<Vec<_>>(), ["sig", "ec"]);
    let skipped: Vec<(Option<&str>, &str)> = set
        .skipped()
        .iter()
        .map(|s| (s.kid.as_deref(), s.reason))
        .collect();
    assert_eq!(
        skipped,
        [
            (Some("enc"), "not a signing key (use)"),
            (Some("ops"), "not a verification key (key_ops)"),
            (Some("ps"), "an RSA key for an algorithm other than RS256"),
            (Some("weak"), "an RSA key not of 2048 to 4096 bits"),
            (None, "no kid, so no token can name it"),
            (Some("hmac"), "a key type other than RSA or EC"),
            (Some("p384"), "an EC key on a curve other than P-256"),
            (
                Some("short"),
                "an EC key whose coordinates are not 32 bytes"
            ),
            (Some("ed"), "a key type other than RSA or EC"),
            (Some("typed"), "not a JSON web key"),
        ]
    );
    // A symmetric key published in the set never verifies an HMAC token.
    let forged = hmac_signed(
        SHARED_KEY.as_bytes(),
        &json!({"alg": "HS256", "kid": "hmac"}),
        &claims(),
    );
    assert_eq!(
        verifier().verify_with_key_set(&forged, &set),
        Err(TokenRejection::WrongAlgorithm)
    );
    for document in ["", "[]", "{}", r#"{"keys": {}}"#, "<html>"] {
        assert!(Jwks::parse(document.as_bytes()).is_err(), "{document}");
    }
    let empty = Jwks::parse(br#"{"keys": []}"#).expect("an empty key set");
    assert_eq!(empty.kids().count(), 0);
}
