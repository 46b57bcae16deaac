//! The function binaries the gateway can run, by the name the template gives them.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use aws_config::SdkConfig;
use lambda_http::{Body, Request, Response};
use strongroom_aws::{Store, StoreSettings};
use strongroom_local_stack::LocalStack;

pub(crate) type HandlerFuture =
    Pin<Box<dyn Future<Output = Result<Response<Body>, lambda_http::Error>> + Send>>;
pub(crate) type Handler = Arc<dyn Fn(Request) -> HandlerFuture + Send + Sync>;

/// Every function's dependencies, built once as each Lambda sandbox would build its own.
pub struct Functions {
    pub(crate) authorizer: Arc<authorizer::Deps>,
    levered: Arc<levered::Deps>,
    /// What the Lightdash and Mielto functions need: the credential store alone.
    store: Arc<Store>,
}

#[derive(Debug, thiserror::Error)]
pub enum InitError {
    #[error("authorizer: {0}")]
    Authorizer(#[from] authorizer::InitError),
}

/// Wraps `handler(&deps, request)` as a boxed handler owning its deps.
macro_rules! handler {
    ($deps:expr, $handler:path) => {{
        let deps = $deps.clone();
        Arc::new(move |request: Request| -> HandlerFuture {
            let deps = deps.clone();
            Box::pin(async move { $handler(&deps, request).await })
        }) as Handler
    }};
}

impl Functions {
    /// Builds every function's dependencies against `stack`.
    pub async fn new(
        sdk: &SdkConfig,
        stack: &LocalStack,
        issuer: &str,
        audience: &str,
    ) -> Result<Self, InitError> {
        let store = StoreSettings::with_defaults(&stack.table, &stack.kms_key_arn);
        let authorizer_settings = authorizer::AuthorizerSettings {
            key_secret: stack.token_key_secret.clone(),
            issuer: issuer.to_owned(),
            audience: audience.to_owned(),
        };
        Ok(Functions {
            authorizer: Arc::new(authorizer::Deps::load(sdk, &authorizer_settings).await?),
            levered: Arc::new(levered::Deps::new(sdk, &store)),
            store: Arc::new(Store::new(sdk, &store)),
        })
    }

    /// The handler of the binary `name`, if the gateway knows it.
    pub(crate) fn handler(&self, name: &str) -> Option<Handler> {
        Some(match name {
            "levered-create-connection" => {
                handler!(self.levered, levered::create_connection::handle)
            }
            "levered-get-connection" => handler!(self.levered, levered::get_connection::handle),
            "levered-test-connection" => handler!(self.levered, levered::test_connection::handle),
            "levered-delete-connection" => {
                handler!(self.levered, levered::delete_connection::handle)
            }
            "lightdash-create-credentials" => {
                handler!(self.store, lightdash::create_credentials::handle)
            }
            "lightdash-list-credentials" => {
                handler!(self.store, lightdash::list_credentials::handle)
            }
            "lightdash-update-credentials" => {
                handler!(self.store, lightdash::update_credentials::handle)
            }
            "lightdash-delete-credentials" => {
                handler!(self.store, lightdash::delete_credentials::handle)
            }
            "mielto-create-credential" => handler!(self.store, mielto::create_credential::handle),
            "mielto-list-credentials" => handler!(self.store, mielto::list_credentials::handle),
            "mielto-get-credential" => handler!(self.store, mielto::get_credential::handle),
            "mielto-update-credential" => handler!(self.store, mielto::update_credential::handle),
            "mielto-delete-credential" => handler!(self.store, mielto::delete_credential::handle),
            _ => return None,
        })
    }
}
