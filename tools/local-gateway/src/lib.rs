//! The local API: serves every route of `infra/template.yaml` on one port, the way API Gateway
//! would — the template's routes, the real authorizer with its cache, API Gateway's own
//! 401/403/404 bodies — and runs the real handlers in-process against moto. Each request
//! becomes a genuine API Gateway v2 event, so handlers see exactly what they see in Lambda.
//! Writes are published as Strongroom's events from the table's stream ([`EventPump`]); the
//! sweeper runs on a short schedule ([`SweepSchedule`]). The gateway also publishes a key set
//! of its own ([`DevKeyPair`]), so that RS256 tokens work locally beside HS256 ones.

mod dev_keys;
mod event;
mod events;
mod functions;
mod gateway;
mod rotation;
mod sweeps;

pub use dev_keys::{DevKeyError, DevKeyPair, KEY_SET_PATH, write_private};
pub use events::EventPump;
pub use functions::{DeclaredRoute, Functions, declared_routes};
pub use gateway::{Gateway, GatewayError, RunningGateway};
pub use rotation::{LOCAL_ROTATION_FUNCTION_ARN, LocalRotation};
pub use sweeps::SweepSchedule;

/// The token issuer and audience of the local stack.
pub const LOCAL_ISSUER: &str = "strongroom-local";
pub const LOCAL_AUDIENCE: &str = "strongroom";
