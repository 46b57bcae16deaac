//! Lambda entry point for `lightdash::create_credentials`.
strongroom_edge::lambda_main!(strongroom_aws::Store, lightdash::create_credentials::handle);
