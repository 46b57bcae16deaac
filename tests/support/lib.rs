//! The end-to-end harness: the local API served over HTTP by the real gateway (routes read from
//! `infra/template.yaml`, the real authorizer, the real handlers) against moto, and a
//! PostgreSQL that checks passwords. Every response body and every log line is kept, so a test
//! can prove a secret appears in none of them.

use std::sync::{Arc, Mutex, OnceLock};

use credential_model::{OrgId, Scope, Scopes, UserId};
use reqwest::Method;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};
use strongroom_auth::TokenIssuer;
use strongroom_aws::SdkConfig;
use strongroom_aws::logging::LevelFilter;
use strongroom_local::{Functions, Gateway, LOCAL_AUDIENCE, LOCAL_ISSUER, RunningGateway};
use strongroom_local_stack::testing::{self, ScramPostgres};
use strongroom_local_stack::{LocalStack, Template, provision, template_path};
use tracing_subscriber::fmt::MakeWriter;

/// Every log line written by this test process, at TRACE level.
#[derive(Clone, Default)]
struct LogCapture(Arc<Mutex<Vec<u8>>>);

struct LogLine(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for LogLine {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        if let Ok(mut buffer) = self.0.lock() {
            buffer.extend_from_slice(bytes);
        }
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for LogCapture {
    type Writer = LogLine;

    fn make_writer(&'a self) -> Self::Writer {
        LogLine(self.0.clone())
    }
}

static LOGS: OnceLock<LogCapture> = OnceLock::new();

/// The logs written so far (JSON lines).
pub fn captured_logs() -> String {
    LOGS.get()
        .and_then(|c| {
            c.0.lock()
                .ok()
                .map(|b| String::from_utf8_lossy(&b).into_owned())
        })
        .unwrap_or_default()
}

/// Every scope.
pub const ALL_SCOPES: &[Scope] = &[Scope::Read, Scope::Write, Scope::Reveal, Scope::Admin];

/// A response as the client saw it.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub content_type: Option<String>,
    pub headers: reqwest::header::HeaderMap,
    pub text: String,
}

impl Reply {
    /// A response header's value, if it was sent and is text.
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    }

    /// The body as JSON; a body that is not JSON fails the test.
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|error| {
            panic!(
                "a {} answer whose body is not JSON ({error}): {:?}",
                self.status, self.text
            )
        })
    }
}

/// A request body.
pub enum Body<'a> {
    None,
    Json(&'a Value),
    Raw { content_type: &'a str, text: String },
}

pub struct Harness {
    pub base: String,
    pub sdk: SdkConfig,
    pub stack: LocalStack,
    http: reqwest::Client,
    issuer: TokenIssuer,
    transcript: Mutex<Vec<String>>,
    _gateway: RunningGateway,
}

impl Harness {
    /// The local API with a fresh stack of its own in moto; `None` (a skip) outside
    /// `make test`, a failure in CI.
    pub async fn start() -> Option<Harness> {
        testing::moto()?;
        let capture = LOGS.get_or_init(LogCapture::default).clone();
        strongroom_aws::logging::init_with(LevelFilter::TRACE, true, capture);

        let sdk = strongroom_aws::sdk_config().expect("the environment configures AWS");
        let key = SecretString::from(format!(
            "{}{}",
            uuid::Uuid::new_v4().simple(),
            uuid::Uuid::new_v4().simple()
        ));
        let template = Template::load(&template_path()).expect("the template loads");
        let suffix = testing::unique_suffix();
        let stack = provision(&sdk, &template, &suffix, &key)
            .await
            .expect("the stack provisions in moto");
        // Each function runs under an IAM user of its own holding its template policies.
        let functions = Functions::new(
            &sdk,
            &template,
            &stack,
            &suffix,
            LOCAL_ISSUER,
            LOCAL_AUDIENCE,
            None,
        )
        .await
        .expect("the functions initialise");
        let gateway = Gateway::new(&template, functions)
            .expect("every template route has a handler")
            .start(([127, 0, 0, 1], 0).into())
            .await
            .expect("the gateway listens");
        Some(Harness {
            base: format!("http://{}", gateway.addr),
            sdk,
            stack,
            http: reqwest::Client::new(),
            issuer: TokenIssuer::hs256(&key, LOCAL_ISSUER, LOCAL_AUDIENCE).expect("key"),
            transcript: Mutex::new(Vec::new()),
            _gateway: gateway,
        })
    }

    /// A token for `user` of `org`, valid for an hour.
    pub fn token(&self, org: &str, user: &str, scopes: &[Scope]) -> String {
        self.token_for(org, user, scopes, 3600)
    }

    pub fn token_for(&self, org: &str, user: &str, scopes: &[Scope], lifetime: i64) -> String {
        self.issuer
            .issue(
                &OrgId::parse(org).expect("valid org"),
                &UserId::parse(user).expect("valid user"),
                scopes.iter().copied().collect::<Scopes>(),
                lifetime,
            )
            .expect("token")
    }

    pub async fn send(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Body<'_>,
    ) -> Reply {
        self.send_with_headers(method, path, token, &[], body).await
    }

    /// A request with extra headers (`X-Workspace-Id`…).
    pub async fn send_with_headers(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        headers: &[(&str, &str)],
        body: Body<'_>,
    ) -> Reply {
        let mut request = self.http.request(method, format!("{}{path}", self.base));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        if let Some(token) = token {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        request = match body {
            Body::None => request,
            Body::Json(value) => request
                .header("content-type", "application/json")
                .body(value.to_string()),
            Body::Raw { content_type, text } => {
                request.header("content-type", content_type).body(text)
            }
        };
        let response = request.send().await.expect("the gateway answers");
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let headers = response.headers().clone();
        let text = response.text().await.expect("a body");
        self.transcript
            .lock()
            .expect("transcript")
            .push(format!("{status} {text}"));
        Reply {
            status,
            content_type,
            headers,
            text,
        }
    }

    pub async fn get(&self, path: &str, token: &str) -> Reply {
        self.send(Method::GET, path, Some(token), Body::None).await
    }

    pub async fn post(&self, path: &str, token: &str, body: &Value) -> Reply {
        self.send(Method::POST, path, Some(token), Body::Json(body))
            .await
    }

    pub async fn post_empty(&self, path: &str, token: &str) -> Reply {
        self.send(Method::POST, path, Some(token), Body::None).await
    }

    /// A request with a JSON body and any method (`PATCH`, `PUT`…).
    pub async fn send_json(&self, method: Method, path: &str, token: &str, body: &Value) -> Reply {
        self.send(method, path, Some(token), Body::Json(body)).await
    }

    pub async fn delete(&self, path: &str, token: &str) -> Reply {
        self.send(Method::DELETE, path, Some(token), Body::None)
            .await
    }

    /// Every response body this harness has received.
    pub fn transcript(&self) -> String {
        self.transcript.lock().expect("transcript").join("\n")
    }

    /// Every item of the stack's table, as text. (A `Scan` is fine in a test; the product
    /// never scans.)
    pub async fn table_dump(&self) -> String {
        let output = aws_sdk_dynamodb::Client::new(&self.sdk)
            .scan()
            .table_name(&self.stack.table)
            .send()
            .await
            .expect("scan");
        format!("{:?}", output.items())
    }

    /// How many items the table holds, its audit events aside.
    pub async fn item_count(&self) -> usize {
        aws_sdk_dynamodb::Client::new(&self.sdk)
            .scan()
            .table_name(&self.stack.table)
            .send()
            .await
            .expect("scan")
            .items()
            .iter()
            .filter(|item| {
                item.get("pk")
                    .and_then(|pk| pk.as_s().ok())
                    .is_none_or(|pk| !pk.starts_with("AUDIT#"))
            })
            .count()
    }

    /// The ARNs of an organization's secrets that are not scheduled for deletion.
    pub async fn live_secrets(&self, org: &str) -> Vec<String> {
        let prefix = format!("{}/{org}/", self.stack.secret_prefix);
        let mut arns = Vec::new();
        let mut next = None;
        loop {
            let page = aws_sdk_secretsmanager::Client::new(&self.sdk)
                .list_secrets()
                .set_next_token(next)
                .send()
                .await
                .expect("list secrets");
            for secret in page.secret_list() {
                if secret.name().is_some_and(|n| n.starts_with(&prefix))
                    && secret.deleted_date().is_none()
                {
                    arns.extend(secret.arn().map(str::to_owned));
                }
            }
            next = page.next_token().map(str::to_owned);
            if next.is_none() {
                return arns;
            }
        }
    }

    /// The `secret_arn` of every item of the stack's table.
    pub async fn secret_arns_in_table(&self) -> Vec<String> {
        let output = aws_sdk_dynamodb::Client::new(&self.sdk)
            .scan()
            .table_name(&self.stack.table)
            .send()
            .await
            .expect("scan");
        let mut arns: Vec<String> = output
            .items()
            .iter()
            .filter_map(|item| item.get("secret_arn"))
            .filter_map(|arn| arn.as_s().ok().cloned())
            .collect();
        arns.sort();
        arns
    }

    /// A secret's text at `AWSCURRENT`, exactly as stored.
    pub async fn current_secret_text(&self, arn: &str) -> String {
        self.secrets()
            .get_secret_value()
            .secret_id(arn)
            .version_stage("AWSCURRENT")
            .send()
            .await
            .expect("the secret reads")
            .secret_string()
            .expect("a string secret")
            .to_owned()
    }

    /// A secret's document at `AWSCURRENT`.
    pub async fn current_secret(&self, arn: &str) -> Value {
        let value = self
            .secrets()
            .get_secret_value()
            .secret_id(arn)
            .version_stage("AWSCURRENT")
            .send()
            .await
            .expect("the secret reads");
        serde_json::from_str(value.secret_string().expect("a string secret")).expect("JSON")
    }

    /// A secret's name, KMS key and tags.
    pub async fn describe_secret(&self, arn: &str) -> SecretDescription {
        let described = self
            .secrets()
            .describe_secret()
            .secret_id(arn)
            .send()
            .await
            .expect("describe");
        SecretDescription {
            name: described.name().unwrap_or_default().to_owned(),
            kms_key_id: described.kms_key_id().unwrap_or_default().to_owned(),
            tags: described
                .tags()
                .iter()
                .map(|t| {
                    (
                        t.key().unwrap_or_default().to_owned(),
                        t.value().unwrap_or_default().to_owned(),
                    )
                })
                .collect(),
        }
    }

    pub fn secrets(&self) -> aws_sdk_secretsmanager::Client {
        aws_sdk_secretsmanager::Client::new(&self.sdk)
    }

    /// Fails if `secret` appears in any response, log line or table item seen so far, or in
    /// any secret's name, description or tags.
    pub async fn assert_never_exposed(&self, secret: &str) {
        assert!(
            !self.transcript().contains(secret),
            "a response exposed the secret"
        );
        let logs = captured_logs();
        assert!(!logs.is_empty(), "no logs were captured");
        assert!(!logs.contains(secret), "a log line exposed the secret");
        assert!(
            !self.table_dump().await.contains(secret),
            "a DynamoDB item holds the secret"
        );
        let mut next = None;
        loop {
            let page = self
                .secrets()
                .list_secrets()
                .include_planned_deletion(true)
                .set_next_token(next)
                .send()
                .await
                .expect("list secrets");
            for listed in page.secret_list() {
                let described = format!(
                    "{:?} {:?} {:?}",
                    listed.name(),
                    listed.description(),
                    listed.tags()
                );
                assert!(
                    !described.contains(secret),
                    "a secret's name, description or tags hold the secret"
                );
            }
            next = page.next_token().map(str::to_owned);
            if next.is_none() {
                return;
            }
        }
    }

    /// Fails unless an outage of the metadata store was logged as a `request failed` line,
    /// where a 5xx's cause is written, and unless `secret` is in no such line and no response.
    pub fn assert_outage_logged_without(&self, secret: &str) {
        let logs = captured_logs();
        let failures: Vec<&str> = logs
            .lines()
            .filter(|line| line.contains("request failed"))
            .collect();
        assert!(
            failures
                .iter()
                .any(|line| line.contains("the metadata store")),
            "the cause is logged: {failures:?}"
        );
        assert!(
            failures.iter().all(|line| !line.contains(secret)),
            "a failure's log line holds the secret"
        );
        assert!(!self.transcript().contains(secret));
    }

    /// Fails unless the live secrets of `org` are exactly those its metadata references: no
    /// orphan, nothing missing.
    pub async fn assert_secrets_match_metadata(&self, org: &str, context: &str) {
        let mut live = self.live_secrets(org).await;
        live.sort();
        assert_eq!(live, self.secret_arns_in_table().await, "{context}");
    }

    /// Takes the metadata table away, as an outage of DynamoDB would.
    pub async fn break_the_table(&self) {
        aws_sdk_dynamodb::Client::new(&self.sdk)
            .delete_table()
            .table_name(&self.stack.table)
            .send()
            .await
            .expect("the table is deleted");
    }
}

/// What Secrets Manager says of a secret, besides its value.
#[derive(Debug)]
pub struct SecretDescription {
    pub name: String,
    pub kms_key_id: String,
    pub tags: Vec<(String, String)>,
}

impl SecretDescription {
    pub fn tag(&self, key: &str) -> Option<&str> {
        self.tags
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// A PostgreSQL that checks passwords, where tests create their own roles and databases.
pub struct Warehouse {
    admin: ScramPostgres,
}

/// A role and a database owned by it.
pub struct Database {
    pub host: String,
    pub port: u16,
    pub name: String,
    pub role: String,
    pub password: String,
}

impl Warehouse {
    pub fn find() -> Option<Warehouse> {
        testing::scram_postgres().map(|admin| Warehouse { admin })
    }

    pub async fn admin(&self, database: &str) -> tokio_postgres::Client {
        let (client, connection) = tokio_postgres::Config::new()
            .host(&self.admin.host)
            .port(self.admin.port)
            .user(&self.admin.superuser)
            .password(self.admin.password.expose_secret())
            .dbname(database)
            .connect(tokio_postgres::NoTls)
            .await
            .expect("the admin connects to the test PostgreSQL");
        tokio::spawn(connection);
        client
    }

    /// A new role with `password` and a database it owns.
    pub async fn database(&self, password: &str) -> Database {
        let suffix = testing::unique_suffix();
        let (role, name) = (format!("role_{suffix}"), format!("db_{suffix}"));
        let admin = self.admin("postgres").await;
        let statements = [
            format!(
                "CREATE ROLE {role} LOGIN PASSWORD '{}'",
                password.replace('\'', "''")
            ),
            // CREATE DATABASE cannot share a transaction with anything else.
            format!("CREATE DATABASE {name} OWNER {role}"),
        ];
        for statement in statements {
            admin
                .batch_execute(&statement)
                .await
                .expect("role and database created");
        }
        Database {
            host: self.admin.host.clone(),
            port: self.admin.port,
            name,
            role,
            password: password.to_owned(),
        }
    }

    /// A role that may log in but not connect to `database`.
    pub async fn role_without_connect(&self, database: &str, password: &str) -> String {
        let role = format!("outsider_{}", testing::unique_suffix());
        let admin = self.admin("postgres").await;
        for statement in [
            format!("CREATE ROLE {role} LOGIN PASSWORD '{password}'"),
            format!("REVOKE CONNECT ON DATABASE {database} FROM PUBLIC"),
        ] {
            admin.batch_execute(&statement).await.expect("role created");
        }
        role
    }
}

/// A password no response, log or item may ever contain.
pub fn canary() -> String {
    format!("Canary-{}-Pw", uuid::Uuid::new_v4().simple())
}

/// Levered's create body for a postgres database.
pub fn levered_postgres(database: &Database, password: &str) -> Value {
    serde_json::json!({
        "provider": "postgres",
        "dataset_id": "public",
        "credentials": {
            "host": database.host,
            "port": database.port,
            "database": database.name,
            "username": database.role,
            "password": password,
        }
    })
}

/// A fresh organization id.
pub fn org(label: &str) -> String {
    format!("org_{label}_{}", testing::unique_suffix())
}

pub use strongroom_local_stack::testing::unique_suffix;

/// A PostgreSQL database for generated logins: an admin that may create roles but is no
/// superuser (as RDS's master user), a table logins may read and one they may not.
pub struct PgTarget {
    pub warehouse: Warehouse,
    pub dbname: String,
    pub admin: String,
    pub admin_password: String,
}

impl PgTarget {
    pub async fn new() -> Option<PgTarget> {
        let warehouse = Warehouse::find()?;
        let suffix = unique_suffix();
        let (dbname, admin, admin_password) = (
            format!("nile_{suffix}"),
            format!("nile_admin_{suffix}"),
            canary(),
        );
        let root = warehouse.admin("postgres").await;
        // CREATE DATABASE cannot share a transaction with anything else.
        for statement in [
            format!("CREATE ROLE {admin} LOGIN CREATEROLE PASSWORD '{admin_password}'"),
            format!("CREATE DATABASE {dbname} OWNER {admin}"),
        ] {
            root.batch_execute(&statement)
                .await
                .expect("admin and database created");
        }
        let client = warehouse.admin(&dbname).await;
        client
            .batch_execute(&format!(
                "SET ROLE {admin}; \
                 CREATE TABLE public.orders (id int); INSERT INTO public.orders VALUES (1); \
                 CREATE TABLE public.salaries (id int)"
            ))
            .await
            .expect("tables created");
        Some(PgTarget {
            warehouse,
            dbname,
            admin,
            admin_password,
        })
    }

    pub fn registration(&self, name: &str) -> Value {
        json!({
            "databaseName": name,
            "region": "AWS_EU_CENTRAL_1",
            "engine": "postgres",
            "host": "127.0.0.1",
            "port": self.port(),
            "database": self.dbname,
            "sslmode": "disable",
            "admin": {"username": self.admin, "password": self.admin_password},
            "defaultLifetimeSeconds": 600,
            "maxLifetimeSeconds": 3600,
            "grants": {"tables": [{"privileges": ["SELECT"], "schema": "public", "table": "orders"}]}
        })
    }

    pub fn port(&self) -> u16 {
        testing::scram_postgres()
            .map(|server| server.port)
            .unwrap_or_default()
    }

    /// A session as `user`, or what the server said.
    pub async fn login(
        &self,
        user: &str,
        password: &str,
    ) -> Result<tokio_postgres::Client, String> {
        let (client, connection) = tokio_postgres::Config::new()
            .host("127.0.0.1")
            .port(self.port())
            .user(user)
            .password(password)
            .dbname(&self.dbname)
            .connect(tokio_postgres::NoTls)
            .await
            .map_err(|e| e.to_string())?;
        tokio::spawn(connection);
        Ok(client)
    }

    /// The roles whose names start with `prefix`.
    pub async fn roles(&self, prefix: &str) -> Vec<String> {
        let root = self.warehouse.admin("postgres").await;
        root.query(
            "SELECT rolname FROM pg_roles WHERE starts_with(rolname, $1) ORDER BY 1",
            &[&prefix],
        )
        .await
        .expect("roles listed")
        .iter()
        .map(|row| row.get(0))
        .collect()
    }
}
