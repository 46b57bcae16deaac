//! Lambda entry point for `mielto::list_credentials`.
strongroom_edge::lambda_main!(strongroom_aws::Store, mielto::list_credentials::handle);
