//! Lambda entry point for `mielto::delete_credential`.
strongroom_edge::lambda_main!(strongroom_aws::Store, mielto::delete_credential::handle);
