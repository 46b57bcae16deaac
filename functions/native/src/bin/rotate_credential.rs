//! The Lambda binary of its route in `native::routes`.
strongroom_edge::lambda_main!(native::deps_from_env, native::routes);
