//! Lambda entry point for `levered::get_connection`.
levered::lambda_main!(levered::get_connection::handle);
