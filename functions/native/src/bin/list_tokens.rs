//! The Lambda binary of its route in `native::governance::routes`.
strongroom_edge::lambda_main!(
    native::governance::deps_from_env,
    native::governance::routes
);
