//! The Lambda binary of its route in `credible::routes`.
strongroom_edge::lambda_main!(credible::AwsDeps::from_env, credible::routes);
