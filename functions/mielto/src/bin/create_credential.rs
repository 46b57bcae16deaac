//! Lambda entry point for `mielto::create_credential`.
strongroom_edge::lambda_main!(strongroom_aws::Store, mielto::create_credential::handle);
