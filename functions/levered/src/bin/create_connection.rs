//! Lambda entry point for `levered::create_connection`.
levered::lambda_main!(levered::create_connection::handle);
