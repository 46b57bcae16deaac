//! The Lambda binary of its route in `mielto::routes`.
strongroom_edge::lambda_main!(strongroom_aws::store_from_env, mielto::routes);
