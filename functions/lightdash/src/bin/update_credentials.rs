//! Lambda entry point for `lightdash::update_credentials`.
strongroom_edge::lambda_main!(strongroom_aws::Store, lightdash::update_credentials::handle);
