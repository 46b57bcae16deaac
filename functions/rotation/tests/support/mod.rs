//! What the rotation function's tests share: a fresh stack in moto, database users on the
//! password-checking PostgreSQL and the machine's MariaDB, a credential stored as a family
//! stores it, Secrets Manager's own start of a rotation, the function invoked with real
//! events, and ports that count (and can crash after) what they do.

#![allow(dead_code)] // each test file uses its part

use std::sync::Mutex;
use std::time::Duration;

use aws_sdk_secretsmanager::types::RotationRulesType;
use credential_model::ports::{CredentialRepository, Expected, TestFailure, VaultError};
use credential_model::rotation::{
    DatabaseAccounts, DatabaseLogin, RotationControl, RotationSettings, RotationVault, Schedule,
    SecretDescription, Selector, StagedValue, Strategy,
};
use credential_model::{
    AnyRecord, Attributes, Caller, CredentialId, CredentialService, NewCredential, OrgId, Provider,
    RecordKey, SecretRef, UserId,
};
use mysql_async::prelude::Queryable;
use rotation::Deps;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};
use strongroom_aws::{DynamoRepository, SdkConfig, SecretsManagerVault, StoreSettings};
use strongroom_connectors::DatabaseAccountsDriver;
use strongroom_local_stack::LocalStack;
use strongroom_local_stack::testing::{self, ScramPostgres, ServerLogin, unique_suffix};
use strongroom_rotation::Rotator;

pub type Service = CredentialService<DynamoRepository, SecretsManagerVault>;
pub type TestDeps = Deps<DynamoRepository, Faulty<SecretsManagerVault>, Counting, MotoRotation>;

/// A Lambda ARN Secrets Manager cannot find: moto then stages the rotation's empty
/// `AWSPENDING` version and stops, as the issue describes; the test runs the steps itself.
pub const ABSENT_FUNCTION: &str = "arn:aws:lambda:us-east-1:123456789012:function:absent";

pub struct Env {
    pub sdk: SdkConfig,
    pub stack: LocalStack,
    pub settings: StoreSettings,
    pub sm: aws_sdk_secretsmanager::Client,
}

impl Env {
    pub async fn new() -> Option<Self> {
        testing::moto()?;
        let sdk = strongroom_aws::sdk_config().expect("the environment configures AWS");
        let stack = testing::fresh_stack(&sdk).await;
        let settings = StoreSettings::new(&stack.table, &stack.kms_key_arn, &stack.secret_prefix);
        Some(Env {
            sm: aws_sdk_secretsmanager::Client::new(&sdk),
            sdk,
            stack,
            settings,
        })
    }

    pub fn repository(&self) -> DynamoRepository {
        DynamoRepository::new(aws_sdk_dynamodb::Client::new(&self.sdk), &self.stack.table)
    }

    pub fn vault(&self) -> SecretsManagerVault {
        SecretsManagerVault::new(self.sm.clone(), &self.settings)
    }

    pub fn service(&self) -> Service {
        CredentialService::new(self.repository(), self.vault())
    }

    /// The function as Lambda runs it, over ports that count and can crash.
    pub fn deps(&self) -> TestDeps {
        Deps {
            rotator: Rotator::new(
                self.repository(),
                Faulty::new(self.vault()),
                Counting::default(),
                &self.settings.secret_prefix,
            ),
            control: MotoRotation {
                client: self.sm.clone(),
                started: Mutex::new(Vec::new()),
            },
            event_source: "strongroom".into(),
        }
    }

    /// Stores `login` as organization `org`'s Levered connection, as `POST
    /// /api/v2/warehouse/connections` does, and configures its rotation.
    pub async fn connection(
        &self,
        org: &str,
        provider: Provider,
        login: &Login,
        strategy: Strategy,
        admin: Option<CredentialId>,
    ) -> AnyRecord {
        let caller = caller(org);
        let key = RecordKey::singleton(caller.organization.clone(), levered::Connection::KIND);
        let record = self
            .service()
            .replace(
                &caller,
                key.clone(),
                NewCredential {
                    document: login.document(provider),
                    attributes: levered::Connection::default(),
                    expires_at: None,
                },
            )
            .await
            .expect("stored");
        self.configure(&record.key, strategy, admin).await;
        self.repository()
            .get_any(&key)
            .await
            .expect("readable")
            .expect("stored")
    }

    /// Stores `login` as a credential of `org` of its own (an admin login).
    pub async fn generic(&self, org: &str, provider: Provider, login: &Login) -> AnyRecord {
        let caller = caller(org);
        let id = CredentialId::generate();
        let key = RecordKey::item(caller.organization.clone(), AdminLogin::KIND, id);
        let attributes = AdminLogin {};
        self.service()
            .create(
                &caller,
                key.clone(),
                id,
                NewCredential {
                    document: login.document(provider),
                    attributes,
                    expires_at: None,
                },
            )
            .await
            .expect("stored");
        self.repository()
            .get_any(&key)
            .await
            .expect("readable")
            .expect("stored")
    }

    /// The record under `key`, which must be there.
    pub async fn stored(&self, key: &RecordKey) -> AnyRecord {
        self.repository()
            .get_any(key)
            .await
            .expect("readable")
            .expect("stored")
    }

    /// Sets the rotation settings of the credential under `key`, as the native API does.
    pub async fn configure(
        &self,
        key: &RecordKey,
        strategy: Strategy,
        admin: Option<CredentialId>,
    ) {
        let repository = self.repository();
        let read = repository
            .get_any(key)
            .await
            .expect("readable")
            .expect("stored");
        let mut record = read.clone();
        record.record.rotation.settings = Some(RotationSettings {
            schedule: Schedule::parse("rate(1 day)").expect("valid"),
            strategy,
            admin_credential: admin,
        });
        record.record.version += 1;
        repository
            .put_any(&record, Expected::record(&read.record))
            .await
            .expect("configured");
    }

    /// Starts a rotation as Secrets Manager's RotateSecret does: the token's version staged
    /// empty as `AWSPENDING`, rotation enabled.
    pub async fn start_rotation(&self, secret: &str) -> String {
        let token = uuid::Uuid::new_v4().to_string();
        let result = self
            .sm
            .rotate_secret()
            .secret_id(secret)
            .client_request_token(&token)
            .rotation_lambda_arn(ABSENT_FUNCTION)
            .rotation_rules(
                RotationRulesType::builder()
                    .automatically_after_days(1)
                    .build(),
            )
            .rotate_immediately(true)
            .send()
            .await;
        if let Err(error) = result {
            let not_found = error
                .as_service_error()
                .is_some_and(|e| e.is_resource_not_found_exception());
            assert!(not_found, "RotateSecret: {error:?}");
        }
        token
    }

    /// Every version of `secret` and its labels, sorted.
    pub async fn stages(&self, secret: &str) -> Vec<(String, Vec<String>)> {
        let mut versions = self
            .vault()
            .describe(secret)
            .await
            .expect("described")
            .versions;
        versions.retain(|(_, stages)| !stages.is_empty());
        for (_, stages) in &mut versions {
            stages.sort();
        }
        versions.sort();
        versions
    }

    pub async fn current(&self, secret: &str) -> StagedValue {
        self.vault()
            .value(secret, Selector::stage("AWSCURRENT"))
            .await
            .expect("readable")
            .expect("a current value")
    }

    pub async fn current_login(&self, secret: &str) -> DatabaseLogin {
        DatabaseLogin::parse(&self.current(secret).await.document).expect("a database login")
    }
}

/// An admin login's attributes: rotation reads records of any kind.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct AdminLogin {}

impl Attributes for AdminLogin {
    const KIND: credential_model::CredentialKind =
        credential_model::CredentialKind::GenericCredential;
}

pub fn caller(org: &str) -> Caller {
    Caller {
        organization: OrgId::parse(org).expect("valid"),
        user: UserId::parse("user_rotation").expect("valid"),
        scopes: credential_model::Scopes::all(),
        expires_at: i64::MAX,
        origin: Default::default(),
    }
}

/// The event Secrets Manager sends for `step`.
pub fn step(step: &str, secret: &str, token: &str) -> Value {
    json!({"Step": step, "SecretId": secret, "ClientRequestToken": token})
}

pub const STEPS: [&str; 4] = ["createSecret", "setSecret", "testSecret", "finishSecret"];

/// Runs the four steps as Secrets Manager does, stopping at the first failure.
pub async fn rotate(deps: &TestDeps, secret: &str, token: &str) -> Result<(), String> {
    for name in STEPS {
        rotation::handle(deps, step(name, secret, token)).await?;
    }
    Ok(())
}

/// A database login as a test makes it.
#[derive(Debug, Clone)]
pub struct Login {
    pub host: String,
    pub port: u16,
    pub username: String,
    pub password: String,
    pub dbname: Option<String>,
}

impl Login {
    pub fn document(&self, provider: Provider) -> credential_model::Document {
        credential_model::connection::DatabaseLogin {
            host: Some(self.host.clone()),
            port: Some(self.port),
            username: Some(self.username.clone()),
            dbname: self.dbname.clone(),
            sslmode: Some("disable".into()),
            password: Some(credential_model::SecretValue::text(&self.password)),
            ..Default::default()
        }
        .document(provider)
    }
}

pub fn password() -> String {
    format!("Pw-{}", uuid::Uuid::new_v4().simple())
}

// PostgreSQL

pub async fn pg_connect(
    pg: &ScramPostgres,
    user: &str,
    password: &str,
) -> Result<tokio_postgres::Client, tokio_postgres::Error> {
    let mut config = tokio_postgres::Config::new();
    config
        .host(&pg.host)
        .port(pg.port)
        .user(user)
        .password(password)
        .dbname("postgres")
        .connect_timeout(Duration::from_secs(5));
    let (client, connection) = config.connect(tokio_postgres::NoTls).await?;
    tokio::spawn(connection);
    Ok(client)
}

pub async fn pg_superuser(pg: &ScramPostgres) -> tokio_postgres::Client {
    pg_connect(pg, &pg.superuser, pg.password.expose_secret())
        .await
        .expect("the superuser logs in")
}

/// Whether `user` logs in with `password`.
pub async fn pg_logs_in(pg: &ScramPostgres, user: &str, password: &str) -> bool {
    match pg_connect(pg, user, password).await {
        Ok(client) => client.simple_query("SELECT 1").await.is_ok(),
        Err(_) => false,
    }
}

/// A new login role with `password`, which may read a table of its own.
pub async fn pg_user(pg: &ScramPostgres, prefix: &str) -> Login {
    let username = format!("{prefix}_{}", unique_suffix());
    let password = password();
    let admin = pg_superuser(pg).await;
    admin
        .batch_execute(&format!(
            "CREATE ROLE \"{username}\" LOGIN PASSWORD '{password}'"
        ))
        .await
        .expect("role created");
    Login {
        host: pg.host.clone(),
        port: pg.port,
        username,
        password,
        dbname: Some("postgres".into()),
    }
}

/// The superuser as a login a credential may hold (an admin credential).
pub fn pg_admin_login(pg: &ScramPostgres) -> Login {
    Login {
        host: pg.host.clone(),
        port: pg.port,
        username: pg.superuser.clone(),
        password: pg.password.expose_secret().to_owned(),
        dbname: Some("postgres".into()),
    }
}

// MariaDB

pub async fn my_connect(
    server: &ServerLogin,
    user: &str,
    password: &str,
) -> Result<mysql_async::Conn, mysql_async::Error> {
    let options = mysql_async::OptsBuilder::default()
        .ip_or_hostname(server.host.clone())
        .tcp_port(server.port)
        .user(Some(user))
        .pass(Some(password))
        .prefer_socket(false);
    mysql_async::Conn::new(options).await
}

pub async fn my_root(server: &ServerLogin) -> mysql_async::Conn {
    my_connect(server, &server.user, server.password.expose_secret())
        .await
        .expect("the MariaDB administrator logs in")
}

pub async fn my_logs_in(server: &ServerLogin, user: &str, password: &str) -> bool {
    match my_connect(server, user, password).await {
        Ok(mut conn) => {
            let ok = conn.query_drop("SELECT 1").await.is_ok();
            let _ = conn.disconnect().await;
            ok
        }
        Err(_) => false,
    }
}

/// A new account with `password` at host `%`, allowed to read database `test`; with
/// `admin`, allowed to create accounts and grant what it has.
pub async fn my_user(server: &ServerLogin, prefix: &str, admin: bool) -> Login {
    let username = format!("{prefix}{}", &unique_suffix()[..8]);
    let password = password();
    let mut root = my_root(server).await;
    root.query_drop(format!(
        "CREATE USER '{username}'@'%' IDENTIFIED BY '{password}'"
    ))
    .await
    .expect("account created");
    let grant = if admin {
        format!("GRANT ALL PRIVILEGES ON *.* TO '{username}'@'%' WITH GRANT OPTION")
    } else {
        format!("GRANT SELECT ON test.* TO '{username}'@'%'")
    };
    root.query_drop(grant).await.expect("granted");
    let _ = root.disconnect().await;
    Login {
        host: server.host.clone(),
        port: server.port,
        username,
        password,
        dbname: None,
    }
}

// Ports that count and crash

/// Where a crash is injected: right after this write succeeded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WritePoint {
    PutPending,
    DatabaseChange,
    MoveCurrent,
    ClearPending,
}

fn crashed() -> VaultError {
    VaultError::Unavailable("crash injected after the write".into())
}

/// The real vault, which can be made to fail right after one write succeeded.
pub struct Faulty<V> {
    inner: V,
    crash_after: Mutex<Option<WritePoint>>,
}

impl<V> Faulty<V> {
    pub fn new(inner: V) -> Self {
        Faulty {
            inner,
            crash_after: Mutex::new(None),
        }
    }

    pub fn crash_after(&self, point: WritePoint) {
        *self.crash_after.lock().expect("lock") = Some(point);
    }

    /// Whether this write crashes (once).
    fn crashes(&self, point: WritePoint) -> bool {
        let mut crash = self.crash_after.lock().expect("lock");
        if *crash == Some(point) {
            *crash = None;
            return true;
        }
        false
    }
}

impl<V: RotationVault> RotationVault for Faulty<V> {
    async fn describe(&self, secret_id: &str) -> Result<SecretDescription, VaultError> {
        self.inner.describe(secret_id).await
    }

    async fn value(
        &self,
        secret_id: &str,
        selector: Selector<'_>,
    ) -> Result<Option<StagedValue>, VaultError> {
        self.inner.value(secret_id, selector).await
    }

    async fn put_pending(
        &self,
        secret_id: &str,
        token: &str,
        document: &SecretString,
    ) -> Result<(), VaultError> {
        self.inner.put_pending(secret_id, token, document).await?;
        if self.crashes(WritePoint::PutPending) {
            return Err(crashed());
        }
        Ok(())
    }

    async fn move_stage(
        &self,
        secret_id: &str,
        stage: &str,
        to: Option<&str>,
        from: Option<&str>,
    ) -> Result<bool, VaultError> {
        let moved = self.inner.move_stage(secret_id, stage, to, from).await?;
        let point = if to.is_some() {
            WritePoint::MoveCurrent
        } else {
            WritePoint::ClearPending
        };
        if moved && self.crashes(point) {
            return Err(crashed());
        }
        Ok(moved)
    }
}

/// The real database driver, counting what reaches a database and able to fail right after
/// a change succeeded.
pub struct Counting {
    inner: DatabaseAccountsDriver,
    pub calls: Mutex<Vec<&'static str>>,
    crash_after_change: Mutex<bool>,
}

impl Default for Counting {
    fn default() -> Self {
        Counting {
            inner: DatabaseAccountsDriver::new(Duration::from_secs(5)),
            calls: Mutex::new(Vec::new()),
            crash_after_change: Mutex::new(false),
        }
    }
}

impl Counting {
    pub fn calls(&self) -> Vec<&'static str> {
        self.calls.lock().expect("lock").clone()
    }

    /// How many changes reached a database and succeeded.
    pub fn changes(&self) -> usize {
        self.calls().iter().filter(|c| **c == "changed").count()
    }

    pub fn crash_after_change(&self) {
        *self.crash_after_change.lock().expect("lock") = true;
    }

    fn record(&self, call: &'static str) {
        self.calls.lock().expect("lock").push(call);
    }

    fn changed(&self) -> Result<(), TestFailure> {
        self.record("changed");
        let mut crash = self.crash_after_change.lock().expect("lock");
        if std::mem::take(&mut *crash) {
            return Err(TestFailure {
                kind: credential_model::ports::FailureKind::Other,
                origin: credential_model::ports::Origin::Strongroom,
                detail: "crash injected after the change".into(),
            });
        }
        Ok(())
    }
}

impl DatabaseAccounts for Counting {
    async fn check_login(&self, login: &DatabaseLogin) -> Result<(), TestFailure> {
        self.record("login");
        self.inner.check_login(login).await
    }

    async fn change_own_password(
        &self,
        login: &DatabaseLogin,
        password: &SecretString,
    ) -> Result<(), TestFailure> {
        self.record("change");
        self.inner.change_own_password(login, password).await?;
        self.changed()
    }

    async fn provision_alternate(
        &self,
        admin: &DatabaseLogin,
        source: &DatabaseLogin,
        alternate: &DatabaseLogin,
    ) -> Result<(), TestFailure> {
        self.record("provision");
        self.inner
            .provision_alternate(admin, source, alternate)
            .await?;
        self.changed()
    }
}

/// Secrets Manager's side of scheduling and starting rotations, on moto: `RotateSecret`
/// naming a function moto does not have (it stages `AWSPENDING` and enables rotation, then
/// answers "not found"). The tests then run the steps themselves, as Secrets Manager would.
pub struct MotoRotation {
    client: aws_sdk_secretsmanager::Client,
    pub started: Mutex<Vec<String>>,
}

impl MotoRotation {
    async fn rotate(&self, secret: &SecretRef, token: Option<&str>) -> Result<(), VaultError> {
        let result = self
            .client
            .rotate_secret()
            .secret_id(&secret.0)
            .set_client_request_token(token.map(str::to_owned))
            .rotation_lambda_arn(ABSENT_FUNCTION)
            .rotation_rules(
                RotationRulesType::builder()
                    .automatically_after_days(1)
                    .build(),
            )
            .rotate_immediately(token.is_some())
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(error)
                if error
                    .as_service_error()
                    .is_some_and(|e| e.is_resource_not_found_exception()) =>
            {
                Ok(())
            }
            Err(error) => Err(VaultError::Unavailable(format!("{error:?}"))),
        }
    }
}

impl RotationControl for MotoRotation {
    async fn schedule(&self, secret: &SecretRef, _: &Schedule) -> Result<(), VaultError> {
        self.rotate(secret, None).await
    }

    async fn cancel(&self, _: &SecretRef) -> Result<(), VaultError> {
        Err(VaultError::Unavailable("not in these tests".into()))
    }

    async fn rotate_now(&self, secret: &SecretRef, token: &str) -> Result<(), VaultError> {
        self.started.lock().expect("lock").push(token.to_owned());
        self.rotate(secret, Some(token)).await
    }
}
