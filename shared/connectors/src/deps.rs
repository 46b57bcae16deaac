//! What the routes of a family that tests connections need, built once per sandbox: the
//! credential use cases and a connection tester.

use std::time::Duration;

use credential_model::CredentialService;

use crate::DatabaseTester;

/// How long a connection test from a request may take, connect and query together.
pub const CONNECTION_TEST_TIMEOUT: Duration = Duration::from_secs(5);

/// The dependencies of a family whose routes store and test connections.
pub struct TestingDeps<R, V, T> {
    pub credentials: CredentialService<R, V>,
    pub tester: T,
}

impl<R, V> TestingDeps<R, V, DatabaseTester> {
    /// `credentials`, with a database tester that gives up after [`CONNECTION_TEST_TIMEOUT`].
    pub fn new(credentials: CredentialService<R, V>) -> Self {
        TestingDeps {
            credentials,
            tester: DatabaseTester::new(CONNECTION_TEST_TIMEOUT),
        }
    }
}
