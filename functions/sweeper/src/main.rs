//! Lambda entry point: a schedule's `{"job": …}` in, the sweep's report out.

use lambda_runtime::{Error, LambdaEvent, service_fn};
use strongroom_sweeper::{Job, deps_from_env};

fn main() -> Result<(), Error> {
    strongroom_aws::init::run(async {
        let deps = deps_from_env()?;
        strongroom_aws::init::end();
        lambda_runtime::run(service_fn(|event: LambdaEvent<Job>| {
            let deps = &deps;
            async move {
                let now = time::OffsetDateTime::now_utc();
                deps.run(event.payload, now).await.map_err(Error::from)
            }
        }))
        .await
    })
}
