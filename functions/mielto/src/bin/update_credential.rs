//! Lambda entry point for `mielto::update_credential`.
strongroom_edge::lambda_main!(strongroom_aws::Store, mielto::update_credential::handle);
