//! Strongroom's domain: the providers it holds credentials for, the connections and secret
//! documents it stores (which fields are secret is decided by their types), the value rules
//! every family applies, the one domain error, the ports the domain needs (metadata
//! repository, secret vault, connection tester) and the use cases written against them (the
//! sweeper's among them: `reconcile`). No AWS and no I/O here: adapters live in their own
//! crates.

/// Serde for a type that is text: written with `Display`, read with its `parse`, refusing what
/// `parse` refuses.
macro_rules! text_serde {
    ($type:ty, $expected:literal) => {
        impl serde::Serialize for $type {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.collect_str(self)
            }
        }

        impl<'de> serde::Deserialize<'de> for $type {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let text = <String as serde::Deserialize>::deserialize(deserializer)?;
                <$type>::parse(&text).ok_or_else(|| {
                    serde::de::Error::invalid_value(serde::de::Unexpected::Str(&text), &$expected)
                })
            }
        }
    };
}
pub(crate) use text_serde;

pub mod api_tokens;
pub mod audit;
pub mod connection;
pub mod credential;
pub mod document;
pub mod error;
pub mod generated;
pub mod json;
pub mod ports;
pub mod provider;
pub mod reconcile;
pub mod rotation;
pub mod service;
pub mod tenancy;
#[cfg(any(test, feature = "testing"))]
pub mod testing;
pub mod validation;

pub use credential::{
    AnyRecord, Attributes, CredentialId, CredentialKind, CredentialRecord, RecordKey, SecretRef,
};
pub use document::{Document, Node, SecretValue};
pub use error::{Dependency, Error};
pub use provider::Provider;
pub use service::{CredentialChange, CredentialService, NewCredential};
pub use tenancy::{Caller, OrgId, Origin, Scope, Scopes, UserId};
