//! The Lambda binary of its route in `nile::routes`.
strongroom_edge::lambda_main!(nile::deps_from_env, nile::routes);
