//! Lambda entry point for `levered::delete_connection`.
levered::lambda_main!(levered::delete_connection::handle);
