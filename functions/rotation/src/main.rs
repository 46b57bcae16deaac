//! Lambda entry point for the rotation function.
// The rotation future nests the database drivers' futures deeply: its layout needs more than
// the default query depth.
#![recursion_limit = "256"]

fn main() -> Result<(), lambda_runtime::Error> {
    strongroom_aws::init::run(async {
        let deps = rotation::deps_from_env().await?;
        strongroom_aws::init::end();
        lambda_runtime::run(lambda_runtime::service_fn(
            |event: lambda_runtime::LambdaEvent<serde_json::Value>| async {
                rotation::handle(&deps, event.payload)
                    .await
                    .map_err(lambda_runtime::Error::from)
            },
        ))
        .await
    })
}
