//! Lambda entry point for `levered::test_connection`.
levered::lambda_main!(levered::test_connection::handle);
