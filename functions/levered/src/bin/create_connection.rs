//! Lambda entry point for `levered::create_connection`.
strongroom_edge::lambda_main!(levered::Deps, levered::create_connection::handle);
