//! Lambda entry point for `lightdash::list_credentials`.
strongroom_edge::lambda_main!(strongroom_aws::Store, lightdash::list_credentials::handle);
