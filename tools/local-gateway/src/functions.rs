//! The function binaries the gateway can run, by the name the template gives them: every
//! family's route table, each handler with dependencies of its own built on its own IAM
//! identity, as each Lambda sandbox would build them under its own role.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use credential_model::ports::Backend;
use lambda_http::{Body, Request, Response};
use strongroom_aws::{
    DynamoLedger, DynamoRepository, SdkConfig, SecretsManagerVault, StoreSettings,
};
use strongroom_connectors::{DatabaseTester, GeneratedLoginsDriver};
use strongroom_edge::Route;

use crate::rotation::LocalRotation;
use strongroom_local_stack::{LocalStack, ProvisionError, Template, function_identities};

pub(crate) type HandlerFuture = Pin<Box<dyn Future<Output = Response<Body>> + Send>>;
pub(crate) type Handler = Arc<dyn Fn(Request) -> HandlerFuture + Send + Sync>;

/// A route of the API as a family declares it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct DeclaredRoute {
    pub method: &'static str,
    pub path: &'static str,
    pub binary: &'static str,
    pub backends: &'static [Backend],
}

fn declared<D>(routes: &[Route<D>]) -> impl Iterator<Item = DeclaredRoute> + '_ {
    routes.iter().map(|route| DeclaredRoute {
        method: route.method,
        path: route.path,
        binary: route.binary,
        backends: route.backends,
    })
}

type LeveredDeps = levered::Deps<DynamoRepository, SecretsManagerVault, DatabaseTester>;
type CredibleDeps = credible::Deps<DynamoRepository, SecretsManagerVault, DatabaseTester>;
type NativeDeps = native::Deps<DynamoRepository, SecretsManagerVault, LocalRotation>;
type NileDeps = nile::AwsDeps;

/// Every route every family declares.
pub fn declared_routes() -> Vec<DeclaredRoute> {
    let mut routes: Vec<DeclaredRoute> = declared(&levered::routes::<
        DynamoRepository,
        SecretsManagerVault,
        DatabaseTester,
    >())
    .chain(declared(&lightdash::routes::<
        DynamoRepository,
        SecretsManagerVault,
    >()))
    .chain(declared(&mielto::routes::<
        DynamoRepository,
        SecretsManagerVault,
    >()))
    .chain(declared(&credible::routes::<
        DynamoRepository,
        SecretsManagerVault,
        DatabaseTester,
    >()))
    .chain(declared(&nile::routes::<
        DynamoRepository,
        SecretsManagerVault,
        DynamoLedger,
        GeneratedLoginsDriver,
    >()))
    .chain(declared(&native::routes::<
        DynamoRepository,
        SecretsManagerVault,
        LocalRotation,
    >()))
    .chain(declared(&native::governance::routes()))
    .collect();
    routes.sort();
    routes
}

/// Every function's dependencies, built once as each Lambda sandbox would build its own.
pub struct Functions {
    pub(crate) authorizer: Arc<authorizer::Deps>,
    handlers: HashMap<&'static str, Handler>,
    /// The identity of the function that publishes the table's changes.
    publisher: SdkConfig,
    /// The identity of the scheduled sweeper.
    sweeper: SdkConfig,
}

#[derive(Debug, thiserror::Error)]
pub enum InitError {
    #[error("function identities: {0}")]
    Identities(#[from] ProvisionError),
    #[error("the template has no function with binary {0}")]
    NoIdentity(&'static str),
    #[error("the authorizer: {0}")]
    Authorizer(#[from] authorizer::InitError),
}

/// `route` served with its dependencies, as its Lambda binary serves it.
fn bind<D: Send + Sync + 'static>(deps: D, route: Route<D>) -> Handler {
    let served = Arc::new((deps, route));
    Arc::new(move |request: Request| -> HandlerFuture {
        let served = served.clone();
        Box::pin(async move {
            let (deps, route) = &*served;
            strongroom_edge::serve(route, deps, request).await
        })
    })
}

impl Functions {
    /// Builds every function's dependencies against `stack`, each on an IAM identity of its
    /// own holding its template policies' actions (created with `admin`, names ending in
    /// `suffix`). The authorizer verifies HS256 tokens under the stack's signing key, and
    /// RS256/ES256 tokens under the key set at `key_set_url` when there is one.
    pub async fn new(
        admin: &SdkConfig,
        template: &Template,
        stack: &LocalStack,
        suffix: &str,
        issuer: &str,
        audience: &str,
        key_set_url: Option<authorizer::KeySetUrl>,
    ) -> Result<Self, InitError> {
        let identities = function_identities(admin, template, suffix).await?;
        let sdk = |binary: &'static str| -> Result<&SdkConfig, InitError> {
            identities.get(binary).ok_or(InitError::NoIdentity(binary))
        };
        let store = StoreSettings::new(&stack.table, &stack.kms_key_arn, &stack.secret_prefix);
        let authorizer_settings = authorizer::AuthorizerSettings {
            key_secret: Some(stack.token_key_secret.clone()),
            key_set_url,
            issuer: issuer.to_owned(),
            audience: audience.to_owned(),
            claims: strongroom_auth::ClaimNames::default(),
            api_tokens: Some(authorizer::ApiTokenSettings {
                table: stack.table.clone(),
                mac_key: stack.token_mac_key_arn.clone(),
            }),
        };
        let authorizer = authorizer::Deps::new(sdk("authorizer")?, authorizer_settings)?;
        let mut handlers = HashMap::new();
        for route in levered::routes() {
            let deps = LeveredDeps::new(strongroom_aws::store(sdk(route.binary)?, &store));
            handlers.insert(route.binary, bind(deps, route));
        }
        for route in lightdash::routes() {
            let deps = strongroom_aws::store(sdk(route.binary)?, &store);
            handlers.insert(route.binary, bind(deps, route));
        }
        for route in mielto::routes() {
            let deps = strongroom_aws::store(sdk(route.binary)?, &store);
            handlers.insert(route.binary, bind(deps, route));
        }
        for route in credible::routes() {
            let deps = CredibleDeps::new(strongroom_aws::store(sdk(route.binary)?, &store));
            handlers.insert(route.binary, bind(deps, route));
        }
        for route in nile::routes() {
            let deps: NileDeps = nile::deps(sdk(route.binary)?, &store);
            handlers.insert(route.binary, bind(deps, route));
        }
        let rotation_identity = sdk("strongroom-rotation")?;
        let rotator = Arc::new(rotation::rotator(rotation_identity, &store));
        for route in native::routes() {
            let sdk = sdk(route.binary)?;
            let deps = NativeDeps {
                store: strongroom_aws::store(sdk, &store),
                rotation: LocalRotation::new(sdk, admin, &store, rotator.clone()),
            };
            handlers.insert(route.binary, bind(deps, route));
        }
        for route in native::governance::routes() {
            let deps =
                native::governance::deps(sdk(route.binary)?, &store, &stack.token_mac_key_arn);
            handlers.insert(route.binary, bind(deps, route));
        }
        Ok(Functions {
            authorizer: Arc::new(authorizer),
            handlers,
            publisher: sdk(strongroom_events::BINARY)?.clone(),
            sweeper: sdk(strongroom_sweeper::BINARY)?.clone(),
        })
    }

    /// The configuration `strongroom-publish-events` builds its clients from.
    pub fn publisher_identity(&self) -> &SdkConfig {
        &self.publisher
    }

    /// The configuration `strongroom-sweeper` builds its clients from.
    pub fn sweeper_identity(&self) -> &SdkConfig {
        &self.sweeper
    }

    /// The handler of the binary `name`, if a family declares it.
    pub(crate) fn handler(&self, name: &str) -> Option<Handler> {
        self.handlers.get(name).cloned()
    }
}
