//! Lambda entry point for `levered::get_connection`.
strongroom_edge::lambda_main!(levered::Deps, levered::get_connection::handle);
