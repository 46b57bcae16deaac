//! Lambda entry point for the authorizer.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    strongroom_aws::logging::init();
    let deps = authorizer::Deps::from_env().await?;
    lambda_runtime::run(lambda_runtime::service_fn(|event| {
        authorizer::handle(&deps, event)
    }))
    .await
}
