//! An empty `lambda_runtime` function: the least a Rust Lambda does before it asks for work.
//! `make bench` measures every function's cold init against this one's, in the same run.

use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::run(service_fn(|_: LambdaEvent<Value>| async {
        Ok::<Value, Error>(Value::Null)
    }))
    .await
}
