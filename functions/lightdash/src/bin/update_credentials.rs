//! The Lambda binary of its route in `lightdash::routes`.
strongroom_edge::lambda_main!(strongroom_aws::store_from_env, lightdash::routes);
