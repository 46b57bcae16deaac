//! The local stack: what `make dev` and the tests stand up instead of AWS. It reads
//! `infra/template.yaml` — the routes, the authorizer, the table, the functions' IAM policies —
//! so that what runs locally is what the template deploys, provisions those resources in moto,
//! gives each function its own IAM identity there ([`iam`]), reads the table's stream as
//! Lambda's event source mapping would ([`stream`]), and finds the test services.

pub mod iam;
pub mod provision;
pub mod stream;
pub mod template;
pub mod testing;

pub use iam::{function_identities, function_identity};
pub use provision::{LocalStack, ProvisionError, provision};
pub use stream::ChangeStream;
pub use template::{
    AuthorizerSpec, FunctionPolicies, IndexSpec, PolicyActions, Route, TableSpec, Template,
    TemplateError,
};

/// The template of this checkout.
pub fn template_path() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../infra/template.yaml")
}
