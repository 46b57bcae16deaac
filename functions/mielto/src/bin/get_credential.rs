//! Lambda entry point for `mielto::get_credential`.
strongroom_edge::lambda_main!(strongroom_aws::Store, mielto::get_credential::handle);
