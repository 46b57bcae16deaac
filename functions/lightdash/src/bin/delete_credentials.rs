//! Lambda entry point for `lightdash::delete_credentials`.
strongroom_edge::lambda_main!(strongroom_aws::Store, lightdash::delete_credentials::handle);
