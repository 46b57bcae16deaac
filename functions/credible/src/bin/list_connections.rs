//! The Lambda binary of its route in `credible::routes`.
strongroom_edge::lambda_main!(credible::deps_from_env, credible::routes);
