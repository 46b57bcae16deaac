//! The Nile family end to end: over HTTP through the local gateway, against moto, a PostgreSQL
//! that checks passwords and this machine's MariaDB; the sweeper called directly, as its
//! schedule would.

use std::time::Duration;

use credential_model::audit::AuditEvent;
use credential_model::connection::DatabaseLogin;
use credential_model::generated::{
    GeneratedCredentials, Lease, LeaseKey, LeasePolicy, LeaseScope, LoginLedger,
    RegisteredDatabase, database_key,
};
use credential_model::ports::{CredentialRepository, Expected, StoreError};
use credential_model::{
    AnyRecord, Attributes, Caller, CredentialId, CredentialRecord, CredentialService,
    NewCredential, OrgId, Provider, RecordKey, Scopes, SecretValue, UserId,
};
use reqwest::Method;
use secrecy::ExposeSecret;
use serde_json::{Value, json};
use strongroom_aws::{DynamoLedger, StoreSettings};
use strongroom_connectors::GeneratedLoginsDriver;
use strongroom_e2e::{ALL_SCOPES, Body, Harness, PgTarget, Reply, canary, org, unique_suffix};
use time::OffsetDateTime;

fn databases(org: &str) -> String {
    format!("/workspaces/{org}/databases")
}

fn database(org: &str, name: &str) -> String {
    format!("/workspaces/{org}/databases/{name}")
}

fn credentials(org: &str, name: &str) -> String {
    format!("/workspaces/{org}/databases/{name}/credentials")
}

/// Nile's `APIError`: `statusCode` equal to the status, `errorCode` as given, and a message
/// mentioning `mentions`.
fn assert_api_error(reply: &Reply, status: u16, code: &str, mentions: &str) {
    assert_eq!(reply.status, status, "{}", reply.text);
    let error = reply.json();
    assert_eq!(error["statusCode"], status, "{error}");
    assert_eq!(error["errorCode"], code, "{error}");
    let message = error["message"].as_str().expect("a message");
    assert!(message.contains(mentions), "{mentions:?} in {error}");
    assert_eq!(error.as_object().map(|o| o.len()), Some(3), "{error}");
}

/// The sweeper on the stack, as the function builds it, leaving orphans younger than `grace`.
fn sweeper(harness: &Harness, grace: Duration) -> strongroom_sweeper::AwsDeps {
    let settings = StoreSettings::new(
        &harness.stack.table,
        &harness.stack.kms_key_arn,
        &harness.stack.secret_prefix,
    );
    strongroom_sweeper::deps(&harness.sdk, &settings, grace)
}

/// A registered database: its name and the prefix of its logins.
async fn register(
    harness: &Harness,
    token: &str,
    org: &str,
    target: &PgTarget,
) -> (String, String) {
    let name = format!("db_{}", unique_suffix());
    let reply = harness
        .post(&databases(org), token, &target.registration(&name))
        .await;
    assert_eq!(reply.status, 201, "{}", reply.text);
    let body = reply.json();
    assert_eq!(body["name"], name.as_str());
    assert_eq!(body["workspace"]["slug"], org);
    assert_eq!(body["status"], "READY");
    assert_eq!(body["region"], "AWS_EU_CENTRAL_1");
    assert!(!reply.text.contains(&target.admin_password));
    let prefix = harness_prefix(harness, org, &name).await;
    (name, prefix)
}

/// The login prefix a registered database was given, read from its record.
async fn harness_prefix(harness: &Harness, org: &str, name: &str) -> String {
    let item = aws_sdk_dynamodb::Client::new(&harness.sdk)
        .get_item()
        .table_name(&harness.stack.table)
        .key(
            "pk",
            aws_sdk_dynamodb::types::AttributeValue::S(format!("ORG#{org}")),
        )
        .key(
            "sk",
            aws_sdk_dynamodb::types::AttributeValue::S(format!("registered-database#{name}")),
        )
        .send()
        .await
        .expect("get item")
        .item
        .expect("the database's record");
    let attributes = item["attributes"].as_m().expect("attributes");
    attributes["login_prefix"]
        .as_s()
        .expect("a login prefix")
        .clone()
}

/// Issues a credential; its id and password.
async fn issue(harness: &Harness, token: &str, path: &str) -> (String, String) {
    let reply = harness.post_empty(path, token).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let body = reply.json();
    let id = body["id"].as_str().expect("an id").to_owned();
    let password = body["password"].as_str().expect("a password").to_owned();
    assert_eq!(body["internal"], false);
    assert!(body["database"]["apiHost"].is_string(), "{body}");
    (id, password)
}

/// Fails if `password` is in any secret's value (every version) or any table item.
async fn assert_password_stored_nowhere(harness: &Harness, password: &str) {
    assert!(
        !harness.table_dump().await.contains(password),
        "an item holds the password"
    );
    let client = harness.secrets();
    let listed = client
        .list_secrets()
        .include_planned_deletion(true)
        .send()
        .await
        .expect("list secrets");
    for secret in listed.secret_list() {
        let arn = secret.arn().expect("an arn");
        let versions = client
            .list_secret_version_ids()
            .secret_id(arn)
            .include_deprecated(true)
            .send()
            .await
            .expect("versions");
        for version in versions.versions() {
            let value = client
                .get_secret_value()
                .secret_id(arn)
                .set_version_id(version.version_id().map(str::to_owned))
                .send()
                .await;
            if let Ok(value) = value {
                assert!(
                    !value.secret_string().unwrap_or_default().contains(password),
                    "a secret holds a generated password"
                );
            }
        }
    }
}

#[tokio::test]
async fn register_issue_use_list_rotate_delete_and_expire_on_postgres() {
    let Some(harness) = Harness::start().await else {
        return;
    };
    let Some(target) = PgTarget::new().await else {
        return;
    };
    let org = org("nile");
    let token = harness.token(&org, "user_a", ALL_SCOPES);
    let (name, prefix) = register(&harness, &token, &org, &target).await;

    // Issue, then log in as id/password and do what the grants allow, nothing more.
    let (id, password) = issue(&harness, &token, &credentials(&org, &name)).await;
    assert!(id.starts_with(&prefix), "{id}");
    let session = target.login(&id, &password).await.expect("the login works");
    let rows = session
        .query("SELECT id FROM public.orders", &[])
        .await
        .expect("granted");
    assert_eq!(rows.len(), 1);
    let denied = session.query("SELECT id FROM public.salaries", &[]).await;
    assert!(denied.is_err(), "not granted");
    assert!(
        session
            .execute("INSERT INTO public.orders VALUES (2)", &[])
            .await
            .is_err()
    );
    assert_password_stored_nowhere(&harness, &password).await;

    // The list: the credential, never a password.
    let listed = harness.get(&credentials(&org, &name), &token).await;
    assert_eq!(listed.status, 200, "{}", listed.text);
    assert!(!listed.text.contains("password") && !listed.text.contains(&password));
    let items = listed.json();
    assert_eq!(items.as_array().map(Vec::len), Some(1), "{items}");
    assert_eq!(items[0]["id"], id.as_str());
    assert_eq!(items[0]["database"]["name"], name.as_str());

    // Rotate with a delay of 0.001 h (3.6 s): the old login works until then, the new one now.
    let rotated = harness
        .send(
            Method::POST,
            &format!("{}/rotate", credentials(&org, &name)),
            Some(&token),
            Body::Raw {
                content_type: "*/*",
                text: json!({"delayOldSecretsExpirationHours": 0.001, "reason": "quarterly"})
                    .to_string(),
            },
        )
        .await;
    assert_eq!(rotated.status, 200, "{}", rotated.text);
    let new_id = rotated.json()["id"].as_str().expect("an id").to_owned();
    let new_password = rotated.json()["password"]
        .as_str()
        .expect("a password")
        .to_owned();
    assert_ne!(new_id, id);
    target
        .login(&new_id, &new_password)
        .await
        .expect("the new login works");
    target
        .login(&id, &password)
        .await
        .expect("the old login still works");
    drop(session);
    // Past the delay, before the database's own expiry (5 s later): the sweeper revokes it.
    tokio::time::sleep(Duration::from_millis(4_700)).await;
    let report = sweeper(&harness, Duration::from_secs(900))
        .expire(OffsetDateTime::now_utc())
        .await
        .expect("the sweep runs");
    assert_eq!(report.revoked, 1, "{report:?}");
    assert!(
        target.login(&id, &password).await.is_err(),
        "the old login is revoked"
    );
    assert_eq!(
        target.roles(&id).await,
        Vec::<String>::new(),
        "its role is dropped"
    );
    target
        .login(&new_id, &new_password)
        .await
        .expect("the new login still works");

    // Delete: its open session is terminated and the login fails at once.
    let open = target.login(&new_id, &new_password).await.expect("logs in");
    let deleted = harness
        .delete(&format!("{}/{new_id}", credentials(&org, &name)), &token)
        .await;
    assert_eq!(deleted.status, 204, "{}", deleted.text);
    assert!(deleted.text.is_empty());
    assert!(
        open.query("SELECT 1", &[]).await.is_err(),
        "the session is terminated"
    );
    assert!(target.login(&new_id, &new_password).await.is_err());
    let again = harness
        .delete(&format!("{}/{new_id}", credentials(&org, &name)), &token)
        .await;
    assert_api_error(&again, 404, "entity_not_found", "not found");

    // A credential past its lifetime cannot log in, with no sweeper at all.
    let (short_id, short_password) = issue(
        &harness,
        &token,
        &format!("{}?lifetimeSeconds=1", credentials(&org, &name)),
    )
    .await;
    target
        .login(&short_id, &short_password)
        .await
        .expect("logs in at first");
    tokio::time::sleep(Duration::from_secs(8)).await;
    let refused = target.login(&short_id, &short_password).await;
    assert!(
        refused.is_err(),
        "the database refuses an expired login by itself"
    );

    // Deleting the database is refused while it has credentials, then forced.
    let refused = harness.delete(&database(&org, &name), &token).await;
    assert_api_error(&refused, 409, "constraint_violation", "live credentials");
    let forced = harness
        .delete(&format!("{}?force=true", database(&org, &name)), &token)
        .await;
    assert_eq!(forced.status, 204, "{}", forced.text);
    assert_eq!(target.roles(&prefix).await, Vec::<String>::new());
    assert_eq!(
        harness.get(&database(&org, &name), &token).await.status,
        404
    );
    let logs = strongroom_e2e::captured_logs();
    for password in [&password, &new_password, &short_password] {
        assert!(
            !logs.contains(password.as_str()),
            "a log line holds a generated password"
        );
        assert_password_stored_nowhere(&harness, password).await;
    }
    harness.assert_never_exposed(&target.admin_password).await;
}

/// Rotations of one scope arriving together each answer 200 with a working login: one that
/// finds a lease another has just shortened (or the sweeper revoked) reads it again instead of
/// answering 409 after its new login was made.
#[tokio::test]
async fn parallel_rotations_of_one_scope_all_succeed() {
    let Some(harness) = Harness::start().await else {
        return;
    };
    let Some(target) = PgTarget::new().await else {
        return;
    };
    let org = org("nile");
    let token = harness.token(&org, "user_a", ALL_SCOPES);
    let (name, _) = register(&harness, &token, &org, &target).await;
    issue(&harness, &token, &credentials(&org, &name)).await;
    let rotate = format!("{}/rotate", credentials(&org, &name));
    let body = json!({"delayOldSecretsExpirationHours": 1, "reason": "race"});
    let harness = std::sync::Arc::new(harness);
    for round in 0..3 {
        let mut racers = tokio::task::JoinSet::new();
        for _ in 0..6 {
            let (harness, token, rotate, body) =
                (harness.clone(), token.clone(), rotate.clone(), body.clone());
            racers.spawn(async move { harness.post(&rotate, &token, &body).await });
        }
        let replies = racers.join_all().await;
        for reply in &replies {
            assert_eq!(reply.status, 200, "round {round}: {}", reply.text);
            let issued = reply.json();
            let (id, password) = (
                issued["id"].as_str().expect("an id"),
                issued["password"].as_str().expect("a password"),
            );
            target
                .login(id, password)
                .await
                .unwrap_or_else(|error| panic!("round {round}: {id} logs in: {error}"));
        }
    }
    let listed = harness.get(&credentials(&org, &name), &token).await.json();
    let deadline = OffsetDateTime::now_utc() + time::Duration::hours(1);
    let ending_within_the_delay = listed
        .as_array()
        .expect("a list")
        .iter()
        .filter(|lease| {
            let expires = lease["expires"].as_str().expect("an expiry");
            OffsetDateTime::parse(expires, &time::format_description::well_known::Rfc3339)
                .expect("RFC 3339")
                <= deadline
        })
        .count();
    assert_eq!(listed.as_array().map(Vec::len), Some(19), "{listed}");
    assert!(ending_within_the_delay >= 13, "{listed}");
    let forced = harness
        .delete(&format!("{}?force=true", database(&org, &name)), &token)
        .await;
    assert_eq!(forced.status, 204, "{}", forced.text);
}

#[tokio::test]
async fn other_workspaces_answer_as_unknown_databases_and_bad_input_writes_nothing() {
    let Some(harness) = Harness::start().await else {
        return;
    };
    let Some(target) = PgTarget::new().await else {
        return;
    };
    let (org_a, org_b) = (org("nile_a"), org("nile_b"));
    let token_a = harness.token(&org_a, "user_a", ALL_SCOPES);
    let token_b = harness.token(&org_b, "user_b", ALL_SCOPES);
    let (name, _) = register(&harness, &token_a, &org_a, &target).await;

    // One status and body for an unknown database, another organization's database seen
    // from its own workspace path, and another workspace's path.
    let unknown = harness.get(&database(&org_a, "db_nope"), &token_a).await;
    assert_api_error(&unknown, 404, "entity_not_found", "not found");
    for reply in [
        harness.get(&database(&org_a, &name), &token_b).await,
        harness.get(&database(&org_b, &name), &token_a).await,
        harness
            .post_empty(&credentials(&org_a, &name), &token_b)
            .await,
        harness.get(&credentials(&org_a, &name), &token_b).await,
        harness.delete(&database(&org_a, &name), &token_b).await,
    ] {
        assert_eq!(
            (reply.status, reply.json()),
            (unknown.status, unknown.json())
        );
    }
    assert_eq!(harness.get(&databases(&org_a), &token_b).await.status, 404);
    let listed = harness.get(&databases(&org_b), &token_b).await;
    assert_eq!(
        listed.json(),
        json!([]),
        "org b sees none of org a's databases"
    );

    // Bad input, field by field: 400 `bad_request` naming the field, and nothing written.
    let items = harness.item_count().await;
    let good = target.registration(&format!("db_{}", unique_suffix()));
    let cases: [(&str, Value); 10] = [
        ("databaseName", json!("1starts_with_a_digit")),
        ("databaseName", json!("x".repeat(64))),
        ("region", json!("MARS_1")),
        ("engine", json!("oracle")),
        ("host", json!("")),
        ("port", json!(70000)),
        ("defaultLifetimeSeconds", json!(0)),
        ("maxLifetimeSeconds", json!(60)),
        ("owner", json!("x; DROP TABLE orders")),
        ("grants", json!({"roles": ["r\"; DROP ROLE admin; --"]})),
    ];
    for (field, value) in cases {
        let mut body = good.clone();
        body[field] = value;
        let reply = harness.post(&databases(&org_a), &token_a, &body).await;
        assert_api_error(&reply, 400, "bad_request", field);
    }
    let mut missing = good.clone();
    missing.as_object_mut().map(|o| o.remove("admin"));
    assert_api_error(
        &harness.post(&databases(&org_a), &token_a, &missing).await,
        400,
        "bad_request",
        "admin",
    );
    // A well-formed admin login the database refuses: its reason, nothing written.
    let mut wrong = good.clone();
    wrong["admin"]["password"] = json!(canary());
    let refused = harness.post(&databases(&org_a), &token_a, &wrong).await;
    assert_api_error(
        &refused,
        400,
        "invalid_credentials",
        "password authentication failed",
    );
    assert_eq!(harness.item_count().await, items, "nothing was written");
    assert_eq!(
        harness.live_secrets(&org_a).await.len(),
        1,
        "only the first database's secret"
    );

    // Nile's rotation delay: 0 < n ≤ 720 hours, else 400 naming it; no body at all is fine.
    let rotate = format!("{}/rotate", credentials(&org_a, &name));
    for delay in [json!(0), json!(-1), json!(720.5), json!("soon")] {
        let reply = harness
            .post(
                &rotate,
                &token_a,
                &json!({"delayOldSecretsExpirationHours": delay}),
            )
            .await;
        assert_api_error(&reply, 400, "bad_request", "delayOldSecretsExpirationHours");
    }
    assert_eq!(
        harness.item_count().await,
        items,
        "a refused rotation writes nothing"
    );
    let longest = harness
        .post(
            &rotate,
            &token_a,
            &json!({"delayOldSecretsExpirationHours": 720}),
        )
        .await;
    assert_eq!(longest.status, 200, "{}", longest.text);
    let bare = harness.post_empty(&rotate, &token_a).await;
    assert_eq!(bare.status, 200, "{}", bare.text);
    let forced = harness
        .delete(&format!("{}?force=true", database(&org_a, &name)), &token_a)
        .await;
    assert_eq!(forced.status, 204, "{}", forced.text);
}

/// A lease ledger that dies writing, as a sandbox killed between a role's creation and its
/// lease would.
struct CrashingLedger(DynamoLedger);

impl LoginLedger for CrashingLedger {
    async fn put(
        &self,
        _: &Lease,
        _: Option<u64>,
        _: Option<&AuditEvent>,
    ) -> Result<(), StoreError> {
        panic!("crash before the lease is written")
    }
    async fn get(&self, key: &LeaseKey) -> Result<Option<Lease>, StoreError> {
        self.0.get(key).await
    }
    async fn delete(&self, lease: &Lease, event: &AuditEvent) -> Result<(), StoreError> {
        self.0.delete(lease, event).await
    }
    async fn list(&self, organization: &OrgId, database: &str) -> Result<Vec<Lease>, StoreError> {
        self.0.list(organization, database).await
    }
    async fn due(&self, now: OffsetDateTime, limit: usize) -> Result<Vec<LeaseKey>, StoreError> {
        self.0.due(now, limit).await
    }
}

/// A metadata repository that dies writing, as a sandbox killed between a secret's creation
/// and its metadata would.
struct CrashingRepository(strongroom_aws::DynamoRepository);

impl CredentialRepository for CrashingRepository {
    async fn get<A: Attributes>(
        &self,
        key: &RecordKey,
    ) -> Result<Option<CredentialRecord<A>>, StoreError> {
        self.0.get(key).await
    }
    async fn put<A: Attributes>(
        &self,
        _: &CredentialRecord<A>,
        _: Expected,
    ) -> Result<(), StoreError> {
        panic!("crash before the metadata is written")
    }
    async fn put_audited<A: Attributes>(
        &self,
        _: &CredentialRecord<A>,
        _: Expected,
        _: &AuditEvent,
    ) -> Result<(), StoreError> {
        panic!("crash before the metadata is written")
    }
    async fn delete(&self, key: &RecordKey, expected: Expected) -> Result<(), StoreError> {
        self.0.delete(key, expected).await
    }
    async fn delete_audited(
        &self,
        key: &RecordKey,
        expected: Expected,
        event: &AuditEvent,
    ) -> Result<(), StoreError> {
        self.0.delete_audited(key, expected, event).await
    }
    async fn put_any_audited(
        &self,
        record: &AnyRecord,
        expected: Expected,
        event: &AuditEvent,
    ) -> Result<(), StoreError> {
        self.0.put_any_audited(record, expected, event).await
    }
    async fn list<A: Attributes>(
        &self,
        organization: &OrgId,
        prefix: &str,
    ) -> Result<Vec<CredentialRecord<A>>, StoreError> {
        self.0.list(organization, prefix).await
    }
    async fn get_any(&self, key: &RecordKey) -> Result<Option<AnyRecord>, StoreError> {
        self.0.get_any(key).await
    }
    async fn put_any(&self, record: &AnyRecord, expected: Expected) -> Result<(), StoreError> {
        self.0.put_any(record, expected).await
    }
    async fn locate(
        &self,
        organization: &OrgId,
        id: CredentialId,
    ) -> Result<Option<RecordKey>, StoreError> {
        self.0.locate(organization, id).await
    }
}

fn caller(org: &str) -> Caller {
    Caller {
        organization: OrgId::parse(org).expect("org"),
        user: UserId::parse("user_a").expect("user"),
        scopes: Scopes::all(),
        expires_at: i64::MAX,
        origin: Default::default(),
    }
}

#[tokio::test]
async fn crashes_leave_nothing_after_the_sweeper_and_200_logins_expire_in_one_sweep() {
    let Some(harness) = Harness::start().await else {
        return;
    };
    let Some(target) = PgTarget::new().await else {
        return;
    };
    let org = org("nile_crash");
    let token = harness.token(&org, "user_a", ALL_SCOPES);
    let (name, prefix) = register(&harness, &token, &org, &target).await;
    let settings = StoreSettings::new(
        &harness.stack.table,
        &harness.stack.kms_key_arn,
        &harness.stack.secret_prefix,
    );
    let dynamodb = aws_sdk_dynamodb::Client::new(&harness.sdk);
    let eager = sweeper(&harness, Duration::ZERO);
    let key = database_key(OrgId::parse(&org).expect("org"), &name);
    let registered = eager.generated.database(&key).await.expect("registered");

    // A crash between the role's creation and its lease: the role is left behind.
    let crashing = GeneratedCredentials::new(
        strongroom_aws::store(&harness.sdk, &settings),
        CrashingLedger(DynamoLedger::new(dynamodb.clone(), &settings.table)),
        GeneratedLoginsDriver::new(nile::DATABASE_TIMEOUT),
        LeasePolicy::default(),
    );
    let (database, who) = (registered.clone(), caller(&org));
    let crash = tokio::spawn(async move {
        let _ = crashing
            .issue(&who, &database, LeaseScope::default(), None)
            .await;
    });
    assert!(crash.await.is_err(), "the issue crashed");
    assert_eq!(
        target.roles(&prefix).await.len(),
        1,
        "the crash left a role"
    );

    // A crash between a registration's secret and its metadata: the secret is left behind.
    let crashing = CredentialService::new(
        CrashingRepository(strongroom_aws::DynamoRepository::new(
            dynamodb.clone(),
            &settings.table,
        )),
        strongroom_aws::SecretsManagerVault::new(harness.secrets(), &settings),
    );
    let other = format!("db_{}", unique_suffix());
    let document = DatabaseLogin {
        host: Some("127.0.0.1".into()),
        port: Some(target.port()),
        username: Some(target.admin.clone()),
        password: Some(SecretValue::text(&target.admin_password)),
        ..DatabaseLogin::default()
    }
    .document(Provider::Postgres);
    let new = NewCredential {
        document,
        attributes: RegisteredDatabase {
            name: other.clone(),
            ..registered.attributes.clone()
        },
        expires_at: None,
    };
    let (who, other_key) = (
        caller(&org),
        database_key(OrgId::parse(&org).expect("org"), &other),
    );
    let crash = tokio::spawn(async move {
        let _ = crashing
            .create(&who, other_key, CredentialId::generate(), new)
            .await;
    });
    assert!(crash.await.is_err(), "the registration crashed");
    assert_eq!(
        harness.live_secrets(&org).await.len(),
        2,
        "the crash left a secret"
    );

    // Younger than the grace period, nothing is touched; past it, both are cleaned.
    let patient = sweeper(&harness, Duration::from_secs(900));
    let report = patient.reconcile(OffsetDateTime::now_utc()).await;
    assert_eq!(
        (report.orphan_logins_dropped, report.orphan_secrets_retired),
        (0, 0)
    );
    // moto dates versions when they are listed: sweep as of a minute from now.
    let later = OffsetDateTime::now_utc() + time::Duration::minutes(1);
    let report = eager.reconcile(later).await;
    assert_eq!(report.orphan_logins_dropped, 1, "{report:?}");
    assert_eq!(report.orphan_secrets_retired, 1, "{report:?}");
    assert_eq!(
        target.roles(&prefix).await,
        Vec::<String>::new(),
        "no orphan role"
    );
    harness
        .assert_secrets_match_metadata(&org, "no orphan secret")
        .await;

    // 200 logins ending together, revoked by one sweep.
    let mut passwords = Vec::new();
    for _ in 0..200 {
        let issued = eager
            .generated
            .issue(
                &caller(&org),
                &registered,
                LeaseScope::default(),
                Some(Duration::from_secs(1)),
            )
            .await
            .expect("issued");
        passwords.push(issued.password);
    }
    assert_eq!(target.roles(&prefix).await.len(), 200);
    tokio::time::sleep(Duration::from_secs(2)).await;
    let started = std::time::Instant::now();
    let report = eager
        .expire(OffsetDateTime::now_utc())
        .await
        .expect("the sweep runs");
    let took = started.elapsed();
    println!("one sweep revoked {} logins in {took:?}", report.revoked);
    assert_eq!(report.revoked, 200, "{report:?}");
    assert!(
        took < Duration::from_secs(200),
        "within the sweeper's budget"
    );
    assert_eq!(target.roles(&prefix).await, Vec::<String>::new());
    assert!(
        eager
            .generated
            .leases(&registered)
            .await
            .expect("leases")
            .is_empty()
    );
    for password in passwords.iter().take(5) {
        assert_password_stored_nowhere(&harness, password.expose_secret()).await;
    }
}

/// RDS's master user's global privileges on MariaDB, with CONNECTION ADMIN to end sessions.
const MARIADB_ADMIN_PRIVILEGES: &str = "SELECT, INSERT, UPDATE, DELETE, CREATE, DROP, RELOAD, \
    PROCESS, REFERENCES, INDEX, ALTER, SHOW DATABASES, CREATE TEMPORARY TABLES, LOCK TABLES, \
    EXECUTE, REPLICATION SLAVE, BINLOG MONITOR, CREATE VIEW, SHOW VIEW, CREATE ROUTINE, \
    ALTER ROUTINE, CREATE USER, EVENT, TRIGGER, CONNECTION ADMIN";

/// A MariaDB database for generated logins on this machine's server: an admin with RDS's
/// privileges (not SUPER), a table logins may read and one they may not, and the event
/// scheduler running so that logins expire in the database itself.
struct MariaTarget {
    server: strongroom_local_stack::testing::ServerLogin,
    dbname: String,
    admin: String,
    admin_password: String,
}

impl MariaTarget {
    async fn new() -> Option<MariaTarget> {
        let server = strongroom_local_stack::testing::mariadb()?;
        let suffix = unique_suffix();
        let target = MariaTarget {
            server,
            dbname: format!("nile_{suffix}"),
            admin: format!("nile_admin_{suffix}"),
            admin_password: canary(),
        };
        let (db, admin) = (&target.dbname, &target.admin);
        target
            .as_root(&[
                format!("CREATE DATABASE {db}"),
                format!("CREATE TABLE {db}.orders (id int)"),
                format!("INSERT INTO {db}.orders VALUES (1)"),
                format!("CREATE TABLE {db}.salaries (id int)"),
                format!(
                    "CREATE USER {admin}@'%' IDENTIFIED BY '{}'",
                    target.admin_password
                ),
                format!("GRANT {MARIADB_ADMIN_PRIVILEGES} ON *.* TO {admin}@'%' WITH GRANT OPTION"),
                // This machine's shared server: turned on, never off (other tests rely on it).
                "SET GLOBAL event_scheduler = ON".to_owned(),
            ])
            .await;
        Some(target)
    }

    async fn as_root(&self, statements: &[String]) {
        use mysql_async::prelude::Queryable;
        let mut conn = self.root().await;
        for statement in statements {
            conn.query_drop(statement)
                .await
                .unwrap_or_else(|error| panic!("{statement}: {error}"));
        }
        let _ = conn.disconnect().await;
    }

    /// A session as `user` in the database, or what the server said.
    async fn connect(&self, user: &str, password: &str) -> Result<mysql_async::Conn, String> {
        self.session(user, password, Some(self.dbname.clone()))
            .await
    }

    /// A session as the server's administrator, in no database.
    async fn root(&self) -> mysql_async::Conn {
        let root = &self.server;
        self.session(&root.user, root.password.expose_secret(), None)
            .await
            .expect("root connects to MariaDB")
    }

    async fn session(
        &self,
        user: &str,
        password: &str,
        database: Option<String>,
    ) -> Result<mysql_async::Conn, String> {
        let options = mysql_async::OptsBuilder::default()
            .ip_or_hostname(self.server.host.clone())
            .tcp_port(self.server.port)
            .user(Some(user.to_owned()))
            .pass((!password.is_empty()).then(|| password.to_owned()))
            .db_name(database)
            .prefer_socket(false);
        mysql_async::Conn::new(options)
            .await
            .map_err(|e| e.to_string())
    }

    /// The accounts whose names start with `prefix`.
    async fn accounts(&self, prefix: &str) -> Vec<String> {
        use mysql_async::prelude::Queryable;
        let mut conn = self.root().await;
        let found: Vec<String> = conn
            .exec(
                "SELECT User FROM mysql.user WHERE LEFT(User, CHAR_LENGTH(?)) = ? ORDER BY 1",
                (prefix, prefix),
            )
            .await
            .expect("mysql.user reads");
        let _ = conn.disconnect().await;
        found
    }

    fn registration(&self, name: &str) -> Value {
        json!({
            "databaseName": name,
            "region": "AWS_US_WEST_2",
            "engine": "mariadb",
            "host": self.server.host,
            "port": self.server.port,
            "database": self.dbname,
            "sslmode": "disable",
            "admin": {"username": self.admin, "password": self.admin_password},
            "defaultLifetimeSeconds": 600,
            "maxLifetimeSeconds": 3600,
            "grants": {"tables": [{"privileges": ["SELECT"], "schema": self.dbname, "table": "orders"}]}
        })
    }

    async fn drop_all(&self) {
        self.as_root(&[
            format!("DROP DATABASE {}", self.dbname),
            format!("DROP USER {}@'%'", self.admin),
        ])
        .await;
    }
}

#[tokio::test]
async fn mariadb_over_http_with_the_dev_sweep_schedule() {
    use mysql_async::prelude::Queryable;
    let Some(harness) = Harness::start().await else {
        return;
    };
    let Some(target) = MariaTarget::new().await else {
        return;
    };
    let org = org("nile_maria");
    let token = harness.token(&org, "user_a", ALL_SCOPES);
    let name = format!("db_{}", unique_suffix());
    let registered = harness
        .post(&databases(&org), &token, &target.registration(&name))
        .await;
    assert_eq!(registered.status, 201, "{}", registered.text);
    let prefix = harness_prefix(&harness, &org, &name).await;
    // The sweeper on a short schedule, as `make dev` runs it; nothing calls it directly here.
    let schedule = strongroom_local::SweepSchedule {
        expire_every: Duration::from_millis(300),
        reconcile_every: Duration::from_secs(3600),
    };
    let sweeping = tokio::spawn(schedule.run(sweeper(&harness, Duration::from_secs(900))));

    // Issue, log in, do what the grants allow and nothing more.
    let path = credentials(&org, &name);
    let (id, password) = issue(&harness, &token, &path).await;
    assert!(id.starts_with(&prefix), "{id}");
    let mut session = target.connect(&id, &password).await.expect("logs in");
    let rows: Vec<i32> = session
        .query("SELECT id FROM orders")
        .await
        .expect("granted");
    assert_eq!(rows, [1]);
    assert!(session.query_drop("SELECT id FROM salaries").await.is_err());
    assert!(
        session
            .query_drop("INSERT INTO orders VALUES (2)")
            .await
            .is_err()
    );
    drop(session);
    let listed = harness.get(&path, &token).await;
    assert!(!listed.text.contains("password") && !listed.text.contains(&password));

    // Rotate with a 3.6 s delay: the old login works until the schedule's sweep revokes it.
    let rotated = harness
        .post(
            &format!("{path}/rotate"),
            &token,
            &json!({"delayOldSecretsExpirationHours": 0.001}),
        )
        .await;
    assert_eq!(rotated.status, 200, "{}", rotated.text);
    let new_id = rotated.json()["id"].as_str().expect("an id").to_owned();
    let new_password = rotated.json()["password"]
        .as_str()
        .expect("a password")
        .to_owned();
    target
        .connect(&id, &password)
        .await
        .expect("the old login still works");
    let mut remaining = Vec::new();
    for _ in 0..40 {
        tokio::time::sleep(Duration::from_millis(250)).await;
        let listed = harness.get(&path, &token).await.json();
        remaining = listed.as_array().cloned().unwrap_or_default();
        if remaining.len() == 1 {
            break;
        }
    }
    assert_eq!(remaining.len(), 1, "the schedule revoked the old login");
    assert_eq!(remaining[0]["id"], new_id.as_str());
    assert!(target.connect(&id, &password).await.is_err());
    assert_eq!(target.accounts(&id).await, Vec::<String>::new());

    // Delete: the open session is killed and the login refused at once.
    let mut open = target
        .connect(&new_id, &new_password)
        .await
        .expect("the new login works");
    let deleted = harness.delete(&format!("{path}/{new_id}"), &token).await;
    assert_eq!(deleted.status, 204, "{}", deleted.text);
    assert!(
        open.query_drop("SELECT 1").await.is_err(),
        "the session is killed"
    );
    assert!(target.connect(&new_id, &new_password).await.is_err());

    // With the sweeper stopped, a login past its lifetime is dropped by MariaDB's own event.
    sweeping.abort();
    let (short_id, short_password) =
        issue(&harness, &token, &format!("{path}?lifetimeSeconds=1")).await;
    target
        .connect(&short_id, &short_password)
        .await
        .expect("logs in at first");
    tokio::time::sleep(Duration::from_secs(9)).await;
    assert!(
        target.connect(&short_id, &short_password).await.is_err(),
        "the database ended the login by itself"
    );

    let forced = harness
        .delete(&format!("{}?force=true", database(&org, &name)), &token)
        .await;
    assert_eq!(forced.status, 204, "{}", forced.text);
    assert_eq!(target.accounts(&prefix).await, Vec::<String>::new());
    let logs = strongroom_e2e::captured_logs();
    for password in [&password, &new_password, &short_password] {
        assert!(!logs.contains(password.as_str()));
        assert_password_stored_nowhere(&harness, password).await;
    }
    harness.assert_never_exposed(&target.admin_password).await;
    target.drop_all().await;
}
