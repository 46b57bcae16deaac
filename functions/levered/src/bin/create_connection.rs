//! The Lambda binary of its route in `levered::routes`.
strongroom_edge::lambda_main!(levered::deps_from_env, levered::routes);
