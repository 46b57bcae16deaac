//! Lambda entry point for `levered::delete_connection`.
strongroom_edge::lambda_main!(levered::Deps, levered::delete_connection::handle);
