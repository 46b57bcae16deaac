//! Lambda entry point for the authorizer.

fn main() -> Result<(), lambda_runtime::Error> {
    strongroom_aws::init::run(async {
        let deps = authorizer::Deps::from_env().await?;
        strongroom_aws::init::end();
        lambda_runtime::run(lambda_runtime::service_fn(|event| {
            authorizer::handle(&deps, event)
        }))
        .await
    })
}
