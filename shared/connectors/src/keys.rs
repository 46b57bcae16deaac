//! Key material checked before a warehouse could be asked: private keys that must parse as RSA
//! keys in PEM (PKCS#8), and open with their passphrase when encrypted. What is wrong is said
//! without any of the key: parser messages are not passed on.

use pkcs8::der::Document;
use pkcs8::der::pem::{self, PemLabel};
use pkcs8::{DecodePrivateKey, EncryptedPrivateKeyInfo, PrivateKeyInfo, pkcs5};
use rsa::RsaPrivateKey;
use secrecy::{ExposeSecret, SecretString};

/// Why a private key is refused, in words safe to show.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KeyProblem {
    NotPem,
    Pkcs1,
    NotRsa,
    NeedsPassphrase,
    WrongPassphrase,
    UnsupportedEncryption,
}

impl std::fmt::Display for KeyProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            KeyProblem::NotPem => "is not a PEM private key (PKCS#8)",
            KeyProblem::Pkcs1 => "is PKCS#1 (BEGIN RSA PRIVATE KEY): convert it to PKCS#8",
            KeyProblem::NotRsa => "does not parse as an RSA private key (PKCS#8)",
            KeyProblem::NeedsPassphrase => "is encrypted, and no passphrase was given",
            KeyProblem::WrongPassphrase => "does not open with the passphrase given",
            KeyProblem::UnsupportedEncryption => {
                "is encrypted with an algorithm Strongroom cannot open (use PBES2 with AES)"
            }
        })
    }
}

/// Checks that `pem` is an RSA private key, opening it with `passphrase` when it is encrypted.
pub(crate) fn rsa_private_key(
    pem: &SecretString,
    passphrase: Option<&SecretString>,
) -> Result<(), KeyProblem> {
    let pem = pem.expose_secret().trim();
    // What the key says it is, before its content is decoded.
    let label = pem::decode_label(pem.as_bytes()).map_err(|_| KeyProblem::NotPem)?;
    if label == "RSA PRIVATE KEY" {
        return Err(KeyProblem::Pkcs1);
    }
    if label == EncryptedPrivateKeyInfo::PEM_LABEL && passphrase.is_none() {
        return Err(KeyProblem::NeedsPassphrase);
    }
    let (label, document) = Document::from_pem(pem).map_err(|_| KeyProblem::NotPem)?;
    if label == PrivateKeyInfo::PEM_LABEL {
        return RsaPrivateKey::from_pkcs8_der(document.as_bytes())
            .map(drop)
            .map_err(|_| KeyProblem::NotRsa);
    }
    let Some(passphrase) = passphrase.filter(|_| label == EncryptedPrivateKeyInfo::PEM_LABEL)
    else {
        return Err(KeyProblem::NotPem);
    };
    let encrypted =
        EncryptedPrivateKeyInfo::try_from(document.as_bytes()).map_err(|_| KeyProblem::NotPem)?;
    let opened = encrypted
        .decrypt(passphrase.expose_secret())
        .map_err(|error| match error {
            // pkcs5 0.7 reports bad padding, what a wrong passphrase gives, as EncryptFailed.
            pkcs8::Error::EncryptedPrivateKey(
                pkcs5::Error::DecryptFailed | pkcs5::Error::EncryptFailed,
            ) => KeyProblem::WrongPassphrase,
            pkcs8::Error::EncryptedPrivateKey(_) => KeyProblem::UnsupportedEncryption,
            _ => KeyProblem::NotPem,
        })?;
    // A wrong passphrase can decrypt to garbage with valid padding: then it does not parse.
    RsaPrivateKey::from_pkcs8_der(opened.as_bytes())
        .map(drop)
        .map_err(|_| KeyProblem::WrongPassphrase)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(pem: &str, passphrase: Option<&str>) -> Result<(), KeyProblem> {
        let passphrase = passphrase.map(|p| SecretString::from(p.to_owned()));
        rsa_private_key(&SecretString::from(pem.to_owned()), passphrase.as_ref())
    }

    fn pem(label: &str) -> String {
        format!("-----BEGIN {label}-----\nAAAA\n-----END {label}-----\n")
    }

    #[test]
    fn keys_are_refused_by_what_their_pem_says_they_are() {
        assert_eq!(check("not a key", None), Err(KeyProblem::NotPem));
        assert_eq!(check(&pem("CERTIFICATE"), None), Err(KeyProblem::NotPem));
        assert_eq!(check(&pem("RSA PRIVATE KEY"), None), Err(KeyProblem::Pkcs1));
        assert_eq!(check(&pem("PRIVATE KEY"), None), Err(KeyProblem::NotPem));
        assert_eq!(
            check(&pem("ENCRYPTED PRIVATE KEY"), None),
            Err(KeyProblem::NeedsPassphrase)
        );
        assert_eq!(
            check(&pem("ENCRYPTED PRIVATE KEY"), Some("passphrase")),
            Err(KeyProblem::NotPem)
        );
    }
}
