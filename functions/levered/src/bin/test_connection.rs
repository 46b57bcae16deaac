//! Lambda entry point for `levered::test_connection`.
strongroom_edge::lambda_main!(levered::Deps, levered::test_connection::handle);
