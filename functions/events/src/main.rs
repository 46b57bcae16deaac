//! Lambda entry point: the table's stream in, Strongroom's events out.

use lambda_runtime::{Error, LambdaEvent, service_fn};
use strongroom_events::{EventBridgePublisher, StreamEvent, handle};

fn main() -> Result<(), Error> {
    strongroom_aws::init::run(async {
        let publisher = EventBridgePublisher::from_env()?;
        strongroom_aws::init::end();
        lambda_runtime::run(service_fn(|event: LambdaEvent<StreamEvent>| async {
            handle(&publisher, event.payload).await.map_err(Error::from)
        }))
        .await
    })
}
