//! Strongroom's domain: the providers it holds credentials for, the split of every credential
//! into non-secret settings and secret material, validation, the one domain error, the ports
//! the domain needs (metadata repository, secret vault, connection tester) and the use cases
//! written against them. No AWS and no I/O here: adapters live in their own crates.

pub mod credential;
pub mod error;
pub mod ports;
pub mod provider;
pub mod secret;
pub mod service;
pub mod tenancy;
pub mod validation;

pub use credential::{CredentialId, CredentialKind, CredentialRecord, RecordKey, SecretRef};
pub use error::{Dependency, Error};
pub use provider::Provider;
pub use secret::{CredentialInput, SettingValue, Settings};
pub use service::{CredentialChange, CredentialService, NewCredential};
pub use tenancy::{Caller, OrgId, Scope, Scopes, UserId};
