//! The local stack: what `make dev` and the tests stand up instead of AWS. It reads
//! `infra/template.yaml` — the routes, the authorizer, the table — so that what runs locally is
//! what the template deploys, provisions those resources in moto, and finds the test services.

pub mod provision;
pub mod template;
pub mod testing;

pub use provision::{LocalStack, provision};
pub use template::{AuthorizerSpec, Route, Template, TemplateError};

/// The template of this checkout.
pub fn template_path() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../infra/template.yaml")
}
