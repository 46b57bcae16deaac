//! Password rotation, as every family shares it: a credential's rotation settings (schedule,
//! strategy, admin credential) and state, the database login a rotation reads from a secret in
//! the AWS standard format, the password policy, and the ports a rotation drives.
//!
//! The protocol itself (Secrets Manager's four steps) lives in `strongroom-rotation`; the
//! database statements in `strongroom-connectors`.

use std::fmt;
use std::future::Future;

use rand::Rng;
use rand::seq::SliceRandom;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use time::OffsetDateTime;

use crate::credential::{CredentialId, SecretRef};
use crate::ports::{TestFailure, VaultError};

/// How a password is rotated.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Serialize,
    Deserialize,
    strum::EnumString,
    strum::IntoStaticStr,
    strum::Display,
)]
#[serde(rename_all = "kebab-case")]
#[strum(serialize_all = "kebab-case")]
pub enum Strategy {
    /// The user changes its own password. Between the change and `finishSecret` the current
    /// secret holds a password the database no longer accepts (a window of milliseconds).
    SingleUser,
    /// Two users take turns (`app`, `app_clone`): each rotation changes the password of the
    /// one not in use, with an admin credential, so the current login keeps working throughout.
    AlternatingUsers,
}

/// When Secrets Manager rotates: `rate(N hours|days)` or `cron(…)` with six fields, as its
/// `RotationRules.ScheduleExpression` accepts them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule(String);

impl Schedule {
    /// The schedule `text`, or why Secrets Manager would refuse it.
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        if let Some(rate) = text.strip_prefix("rate(").and_then(|t| t.strip_suffix(')')) {
            let (value, unit) = rate.trim().split_once(' ').ok_or(
                "a rate is `rate(N hours)` or `rate(N days)`, N a whole number".to_owned(),
            )?;
            let value: u32 = value
                .parse()
                .map_err(|_| format!("`{value}` is not a whole number"))?;
            let allowed = match unit.trim() {
                "hour" | "hours" => 4..=23,
                "day" | "days" => 1..=1000,
                other => return Err(format!("`{other}` is not hours or days")),
            };
            if !allowed.contains(&value) {
                return Err(format!(
                    "a rate in {} must be between {} and {}",
                    unit.trim(),
                    allowed.start(),
                    allowed.end()
                ));
            }
            return Ok(Schedule(text.to_owned()));
        }
        if let Some(cron) = text.strip_prefix("cron(").and_then(|t| t.strip_suffix(')')) {
            let fields: Vec<&str> = cron.split_whitespace().collect();
            if fields.len() != 6 {
                return Err(
                    "a cron expression has six fields: minutes hours day-of-month month day-of-week year"
                        .into(),
                );
            }
            let allowed = |c: char| c.is_ascii_alphanumeric() || ",-*?/LW#".contains(c);
            if let Some(field) = fields.iter().find(|f| !f.chars().all(allowed)) {
                return Err(format!("`{field}` is not a cron field"));
            }
            if fields[2] != "?" && fields[4] != "?" {
                return Err("one of day-of-month and day-of-week must be `?`".into());
            }
            return Ok(Schedule(text.to_owned()));
        }
        Err("a schedule is `rate(…)` or `cron(…)`".into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Schedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for Schedule {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Schedule {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Schedule::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// How a credential is rotated, as set through the API.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RotationSettings {
    pub schedule: Schedule,
    pub strategy: Strategy,
    /// The credential (of the same organization) whose login may create and change users:
    /// what alternating users need when the secret names no `masterarn`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub admin_credential: Option<CredentialId>,
}

/// Where the last rotation got to.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, strum::IntoStaticStr, strum::Display,
)]
#[serde(rename_all = "kebab-case")]
#[strum(serialize_all = "kebab-case")]
pub enum RotationStatus {
    InProgress,
    Succeeded,
    Failed,
}

/// A credential's rotation state: what the last rotation did, and when.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RotationState {
    pub status: RotationStatus,
    /// The rotation's `ClientRequestToken`: the secret version it makes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    /// When the status last changed.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// When a rotation last succeeded.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "time::serde::rfc3339::option"
    )]
    pub last_rotated_at: Option<OffsetDateTime>,
    /// Why the last rotation failed: what the database or Secrets Manager said, never secret
    /// material.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// A credential's rotation: its settings (absent: not rotated on a schedule) and state
/// (absent: never rotated).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Rotation {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub settings: Option<RotationSettings>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<RotationState>,
}

impl Rotation {
    pub fn is_empty(&self) -> bool {
        self.settings.is_none() && self.state.is_none()
    }

    /// Whether a rotation has been in progress since `since` or later.
    pub fn rotating_since(&self, since: OffsetDateTime) -> bool {
        self.state
            .as_ref()
            .is_some_and(|s| s.status == RotationStatus::InProgress && s.at >= since)
    }
}

/// The database engines a rotation changes passwords on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, strum::IntoStaticStr, strum::Display)]
#[strum(serialize_all = "lowercase")]
pub enum Engine {
    Postgres,
    Redshift,
    Mysql,
    Mariadb,
}

impl Engine {
    /// The engine an AWS standard secret's `engine` names.
    pub fn parse(engine: &str) -> Option<Self> {
        Some(match engine {
            "postgres" | "aurora-postgresql" => Engine::Postgres,
            "redshift" => Engine::Redshift,
            "mysql" | "aurora-mysql" => Engine::Mysql,
            "mariadb" => Engine::Mariadb,
            _ => return None,
        })
    }

    pub fn default_port(self) -> u16 {
        match self {
            Engine::Postgres => 5432,
            Engine::Redshift => 5439,
            Engine::Mysql | Engine::Mariadb => 3306,
        }
    }

    /// Whether it speaks PostgreSQL's protocol (Redshift does).
    pub fn is_postgres(self) -> bool {
        matches!(self, Engine::Postgres | Engine::Redshift)
    }

    /// The longest user name the engine allows.
    pub fn max_username(self) -> usize {
        match self {
            Engine::Postgres | Engine::Redshift => 63,
            Engine::Mysql => 32,
            Engine::Mariadb => 80,
        }
    }

    /// Characters a generated password leaves out: those that break connection URIs, shells
    /// and the templates' quoting, and space.
    fn excluded(self) -> &'static str {
        match self {
            Engine::Postgres | Engine::Redshift => ":/@\"'\\ ",
            Engine::Mysql | Engine::Mariadb => "/@\"'\\ ",
        }
    }
}

/// How a rotation's connections are encrypted: libpq's `sslmode`. Never downgraded silently:
/// `prefer` only when the connection's own `sslmode` says so.
#[derive(Debug, Clone, Copy, PartialEq, Eq, strum::IntoStaticStr)]
#[strum(serialize_all = "kebab-case")]
pub enum TlsMode {
    Disable,
    Prefer,
    Require,
    VerifyFull,
}

impl TlsMode {
    fn parse(mode: &str) -> Option<Self> {
        Some(match mode {
            "disable" => TlsMode::Disable,
            "prefer" => TlsMode::Prefer,
            "require" => TlsMode::Require,
            "verify-full" | "verify-ca" => TlsMode::VerifyFull,
            _ => return None,
        })
    }
}

/// A database login read from a secret in the AWS standard format (`engine`, `host`, `port`,
/// `username`, `password`, `dbname`, `ssl`/`sslmode`, `masterarn`).
#[derive(Debug, Clone)]
pub struct DatabaseLogin {
    pub engine: Engine,
    pub host: String,
    pub port: u16,
    pub username: String,
    pub password: SecretString,
    /// The database to connect to (PostgreSQL: `postgres` when absent).
    pub dbname: Option<String>,
    pub tls: TlsMode,
    /// The secret of an admin login, for alternating users.
    pub masterarn: Option<String>,
}

/// A secret a rotation cannot read as a database login; the message names the key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct FormatError(pub String);

/// A secret document as a JSON object, its keys in their order.
fn object(document: &SecretString) -> Result<Map<String, Value>, FormatError> {
    serde_json::from_str(document.expose_secret())
        .map_err(|_| FormatError("the secret is not a JSON object".into()))
}

fn text<'a>(object: &'a Map<String, Value>, key: &str) -> Result<&'a str, FormatError> {
    match object.get(key) {
        Some(Value::String(text)) if !text.is_empty() => Ok(text),
        Some(_) => Err(FormatError(format!("`{key}` must be a non-empty string"))),
        None => Err(FormatError(format!("the secret has no `{key}`"))),
    }
}

impl DatabaseLogin {
    /// Reads a secret document. `engine` is required (a rotation must know which statements
    /// to send); `port` may be a number or a string of one.
    pub fn parse(document: &SecretString) -> Result<Self, FormatError> {
        let object = object(document)?;
        let engine_name = text(&object, "engine")?;
        let engine = Engine::parse(engine_name).ok_or_else(|| {
            FormatError(format!(
                "`engine` `{engine_name}` cannot be rotated: postgres, aurora-postgresql, redshift, mysql, aurora-mysql or mariadb"
            ))
        })?;
        let port = match object.get("port") {
            None | Some(Value::Null) => Some(engine.default_port()),
            Some(Value::Number(n)) => n.as_u64().and_then(|n| u16::try_from(n).ok()),
            Some(Value::String(s)) => s.trim().parse().ok(),
            Some(_) => None,
        }
        .filter(|port| *port > 0);
        let port = port.ok_or_else(|| FormatError("`port` must be 1-65535".into()))?;
        let tls = match (object.get("sslmode"), object.get("ssl")) {
            (Some(Value::String(mode)), _) => TlsMode::parse(mode).ok_or_else(|| {
                FormatError("`sslmode` must be disable, prefer, require or verify-full".into())
            })?,
            (Some(_), _) => return Err(FormatError("`sslmode` must be a string".into())),
            (None, Some(Value::Bool(false))) => TlsMode::Disable,
            (None, Some(Value::String(s))) if s.eq_ignore_ascii_case("false") => TlsMode::Disable,
            _ => TlsMode::VerifyFull,
        };
        let optional = |key: &str| match object.get(key) {
            Some(Value::String(s)) if !s.is_empty() => Ok(Some(s.clone())),
            None | Some(Value::Null) => Ok(None),
            Some(_) => Err(FormatError(format!("`{key}` must be a string"))),
        };
        Ok(DatabaseLogin {
            engine,
            host: text(&object, "host")?.to_owned(),
            port,
            username: text(&object, "username")?.to_owned(),
            password: SecretString::from(text(&object, "password")?.to_owned()),
            dbname: optional("dbname")?,
            tls,
            masterarn: optional("masterarn")?,
        })
    }

    /// The database to connect to: `dbname`, or the engine's default one.
    pub fn database(&self) -> Option<&str> {
        match (&self.dbname, self.engine) {
            (Some(name), _) => Some(name),
            (None, Engine::Postgres) => Some("postgres"),
            (None, Engine::Redshift) => Some("dev"),
            (None, _) => None,
        }
    }

    /// The same login as another user with another password.
    pub fn as_user(&self, username: &str, password: SecretString) -> Self {
        DatabaseLogin {
            username: username.to_owned(),
            password,
            ..self.clone()
        }
    }
}

/// `document` with its `username` and `password` replaced (and its `masterarn`, when one is
/// given), every other key kept as it was.
pub fn with_login(
    document: &SecretString,
    username: &str,
    password: &SecretString,
    masterarn: Option<&str>,
) -> Result<SecretString, FormatError> {
    let mut object = object(document)?;
    object.insert("username".into(), Value::from(username));
    object.insert("password".into(), Value::from(password.expose_secret()));
    if let Some(masterarn) = masterarn {
        object.insert("masterarn".into(), Value::from(masterarn));
    }
    let text = serde_json::to_string(&Value::Object(object)).unwrap_or_default();
    Ok(SecretString::from(text))
}

/// The user alternating rotation changes next: `name` without its `_clone` suffix, or with one.
pub fn alternate_username(name: &str, engine: Engine) -> Result<String, FormatError> {
    let alternate = match name.strip_suffix("_clone") {
        Some(original) if !original.is_empty() => original.to_owned(),
        _ => format!("{name}_clone"),
    };
    if alternate.len() > engine.max_username() {
        return Err(FormatError(format!(
            "`username` is too long for an alternate user: {engine} allows {} characters",
            engine.max_username()
        )));
    }
    Ok(alternate)
}

/// What generated passwords look like.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PasswordPolicy {
    pub length: usize,
}

impl Default for PasswordPolicy {
    fn default() -> Self {
        PasswordPolicy { length: 32 }
    }
}

const PUNCTUATION: &str = "!#$%&()*+,-.;<=>?[]^_`{|}~";

impl PasswordPolicy {
    /// A new password from the operating system's CSPRNG: `length` characters with at least
    /// one lower-case letter, upper-case letter, digit and punctuation mark, none the engine
    /// excludes.
    pub fn generate(&self, engine: Engine) -> SecretString {
        let excluded = engine.excluded();
        let classes: [Vec<char>; 4] = [
            ('a'..='z').collect(),
            ('A'..='Z').collect(),
            ('0'..='9').collect(),
            PUNCTUATION
                .chars()
                .filter(|c| !excluded.contains(*c))
                .collect(),
        ];
        let all: Vec<char> = classes.iter().flatten().copied().collect();
        let mut rng = rand::rngs::OsRng;
        let length = self.length.max(classes.len());
        let mut chars: Vec<char> = classes
            .iter()
            .map(|class| class[rng.gen_range(0..class.len())])
            .collect();
        chars.extend((chars.len()..length).map(|_| all[rng.gen_range(0..all.len())]));
        chars.shuffle(&mut rng);
        SecretString::from(chars.into_iter().collect::<String>())
    }
}

/// Changes database passwords: what a rotation's `setSecret` and `testSecret` do to a
/// database. Implemented by `strongroom-connectors` for PostgreSQL/Redshift and
/// MySQL/MariaDB. Failures carry what the database said, never a password.
pub trait DatabaseAccounts: Send + Sync {
    /// Logs in as `login` and runs a trivial query.
    fn check_login(
        &self,
        login: &DatabaseLogin,
    ) -> impl Future<Output = Result<(), TestFailure>> + Send;

    /// As `login` itself, changes its own password to `password` (single user).
    fn change_own_password(
        &self,
        login: &DatabaseLogin,
        password: &SecretString,
    ) -> impl Future<Output = Result<(), TestFailure>> + Send;

    /// As `admin`, makes `alternate` a login that may do what `source`'s user may: creates it
    /// when absent, brings its memberships and grants in step with `source`'s (on every
    /// rotation, not only the first), and sets its password to `alternate.password`.
    ///
    /// `alternate` must be `alternate_username(source)`. The base user (the name without
    /// `_clone`) holds the privileges and the clone follows it, so grants are made to the base
    /// user: a rotation to the base user only sets its password (and, on MySQL, adds the base
    /// user's grants to the clone), never copying the clone's back over the base user's.
    fn provision_alternate(
        &self,
        admin: &DatabaseLogin,
        source: &DatabaseLogin,
        alternate: &DatabaseLogin,
    ) -> impl Future<Output = Result<(), TestFailure>> + Send;
}

/// Rotation as Secrets Manager runs it for a secret: on a schedule, or now.
pub trait RotationControl: Send + Sync {
    /// Rotates `secret` on `schedule` with Strongroom's rotation function, without rotating
    /// now.
    fn schedule(
        &self,
        secret: &SecretRef,
        schedule: &Schedule,
    ) -> impl Future<Output = Result<(), VaultError>> + Send;

    /// Stops rotating `secret` on a schedule.
    fn cancel(&self, secret: &SecretRef) -> impl Future<Output = Result<(), VaultError>> + Send;

    /// Starts a rotation of `secret` now, as the version `token`.
    fn rotate_now(
        &self,
        secret: &SecretRef,
        token: &str,
    ) -> impl Future<Output = Result<(), VaultError>> + Send;
}

/// The staging labels of Secrets Manager's rotation protocol.
pub const CURRENT: &str = "AWSCURRENT";
/// Strongroom's own label of a version a change has written but not made current yet: never
/// one Secrets Manager's rotation uses (`AWSPENDING`).
pub const STAGED: &str = "STRONGROOM_STAGED";
pub const PENDING: &str = "AWSPENDING";
pub const PREVIOUS: &str = "AWSPREVIOUS";

/// A secret as rotation sees it (`DescribeSecret`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretDescription {
    pub arn: String,
    pub name: String,
    pub rotation_enabled: bool,
    /// Every version's id and its staging labels.
    pub versions: Vec<(String, Vec<String>)>,
    pub tags: Vec<(String, String)>,
}

impl SecretDescription {
    /// The labels of version `id`, if there is such a version.
    pub fn stages_of(&self, id: &str) -> Option<&[String]> {
        self.versions
            .iter()
            .find(|(version, _)| version == id)
            .map(|(_, stages)| stages.as_slice())
    }

    /// The version that holds `stage`.
    pub fn holder_of(&self, stage: &str) -> Option<&str> {
        self.versions
            .iter()
            .find(|(_, stages)| stages.iter().any(|s| s == stage))
            .map(|(version, _)| version.as_str())
    }

    pub fn tag(&self, key: &str) -> Option<&str> {
        self.tags
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, value)| value.as_str())
    }
}

/// One version's value, with where it is.
#[derive(Debug, Clone)]
pub struct StagedValue {
    /// The secret's name (the ARN may be abbreviated by the caller; the name never is).
    pub name: String,
    pub arn: String,
    pub version_id: String,
    pub stages: Vec<String>,
    pub document: SecretString,
}

/// Which version of a secret to read: by id, by label, or a version that must hold a label.
#[derive(Debug, Clone, Copy)]
pub struct Selector<'a> {
    pub version_id: Option<&'a str>,
    pub stage: Option<&'a str>,
}

impl<'a> Selector<'a> {
    pub fn stage(stage: &'a str) -> Self {
        Selector {
            version_id: None,
            stage: Some(stage),
        }
    }

    pub fn version(version_id: &'a str, stage: &'a str) -> Self {
        Selector {
            version_id: Some(version_id),
            stage: Some(stage),
        }
    }
}

/// What Secrets Manager's rotation protocol needs of the vault: the calls a rotation
/// function makes on the secret it rotates (and on the admin secret it names).
pub trait RotationVault: Send + Sync {
    fn describe(
        &self,
        secret_id: &str,
    ) -> impl Future<Output = Result<SecretDescription, VaultError>> + Send;

    /// The value `selector` names; `None` when there is no such version or it has no value
    /// yet (the version Secrets Manager stages before `createSecret`).
    fn value(
        &self,
        secret_id: &str,
        selector: Selector<'_>,
    ) -> impl Future<Output = Result<Option<StagedValue>, VaultError>> + Send;

    /// Stores `document` as the version `token`, labelled `AWSPENDING`.
    fn put_pending(
        &self,
        secret_id: &str,
        token: &str,
        document: &SecretString,
    ) -> impl Future<Output = Result<(), VaultError>> + Send;

    /// Moves `stage` to version `to` (or removes it, `None`) from version `from`: `Ok(false)`
    /// when `from` does not hold it, and nothing changed.
    fn move_stage(
        &self,
        secret_id: &str,
        stage: &str,
        to: Option<&str>,
        from: Option<&str>,
    ) -> impl Future<Output = Result<bool, VaultError>> + Send;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedules_are_those_secrets_manager_accepts() {
        for good in [
            "rate(4 hours)",
            "rate(1 day)",
            "rate(30 days)",
            "cron(0 16 1,15 * ? *)",
            "cron(0 8 ? * MON-FRI *)",
        ] {
            assert_eq!(Schedule::parse(good).map(|s| s.0), Ok(good.to_owned()));
        }
        for bad in [
            "",
            "rate(1 hour)",
            "rate(0 days)",
            "rate(1001 days)",
            "rate(2 weeks)",
            "rate(x days)",
            "cron(0 16 * * *)",
            "cron(0 16 1 * MON *)",
            "cron(0 16 1 * ? *; drop)",
            "every day",
        ] {
            assert!(Schedule::parse(bad).is_err(), "{bad}");
        }
    }

    fn secret(text: &str) -> SecretString {
        SecretString::from(text.to_owned())
    }

    #[test]
    fn a_login_reads_the_aws_standard_format_and_names_the_missing_key() {
        let login = DatabaseLogin::parse(&secret(
            r#"{"engine":"aurora-postgresql","host":"db","port":"6543","username":"app","password":"pw","extra":1}"#,
        ))
        .expect("valid");
        assert_eq!(
            (login.engine, login.port, login.database()),
            (Engine::Postgres, 6543, Some("postgres"))
        );
        assert_eq!(login.tls, TlsMode::VerifyFull, "no silent downgrade");
        assert!(!format!("{login:?}").contains("pw"));
        for (document, named) in [
            (
                r#"{"engine":"postgres","username":"u","password":"p"}"#,
                "`host`",
            ),
            (
                r#"{"engine":"mysql","host":"h","password":"p"}"#,
                "`username`",
            ),
            (
                r#"{"engine":"mariadb","host":"h","username":"u"}"#,
                "`password`",
            ),
            (
                r#"{"engine":"oracle","host":"h","username":"u","password":"p"}"#,
                "`engine`",
            ),
            (r#"{"host":"h","username":"u","password":"p"}"#, "`engine`"),
            (
                r#"{"engine":"mysql","host":"h","username":"u","password":"p","port":0}"#,
                "`port`",
            ),
        ] {
            let error = DatabaseLogin::parse(&secret(document)).expect_err(document);
            assert!(error.0.contains(named), "{error} / {named}");
        }
        let plain = DatabaseLogin::parse(&secret(
            r#"{"engine":"mysql","host":"h","username":"u","password":"p","ssl":false}"#,
        ))
        .expect("valid");
        assert_eq!((plain.tls, plain.port), (TlsMode::Disable, 3306));
        let mode = DatabaseLogin::parse(&secret(
            r#"{"engine":"mysql","host":"h","username":"u","password":"p","ssl":true,"sslmode":"require"}"#,
        ))
        .expect("valid");
        assert_eq!(mode.tls, TlsMode::Require, "sslmode decides");
    }

    #[test]
    fn a_new_login_keeps_every_other_key_in_place() {
        let document = secret(
            r#"{"engine":"postgres","host":"db","username":"app","password":"old","custom":{"a":1}}"#,
        );
        let new = with_login(&document, "app_clone", &secret("new"), None).expect("object");
        assert_eq!(
            new.expose_secret(),
            r#"{"engine":"postgres","host":"db","username":"app_clone","password":"new","custom":{"a":1}}"#
        );
        let new = with_login(&document, "app", &secret("new"), Some("arn:admin")).expect("object");
        assert!(new.expose_secret().ends_with(r#""masterarn":"arn:admin"}"#));
    }

    #[test]
    fn alternate_users_toggle_a_clone_suffix_within_the_engine_limit() {
        assert_eq!(
            alternate_username("app", Engine::Postgres).as_deref(),
            Ok("app_clone")
        );
        assert_eq!(
            alternate_username("app_clone", Engine::Postgres).as_deref(),
            Ok("app")
        );
        assert_eq!(
            alternate_username("_clone", Engine::Mysql).as_deref(),
            Ok("_clone_clone")
        );
        assert!(alternate_username(&"a".repeat(27), Engine::Mysql).is_err());
        assert!(alternate_username(&"a".repeat(57), Engine::Postgres).is_ok());
        assert!(alternate_username(&"a".repeat(58), Engine::Postgres).is_err());
    }

    #[test]
    fn generated_passwords_follow_the_policy() {
        for engine in [Engine::Postgres, Engine::Mysql] {
            let mut seen = std::collections::HashSet::new();
            for _ in 0..10_000 {
                let password = PasswordPolicy::default().generate(engine);
                let text = password.expose_secret();
                assert_eq!(text.chars().count(), 32);
                assert!(
                    !text.chars().any(|c| engine.excluded().contains(c)),
                    "{text}"
                );
                assert!(text.chars().any(|c| c.is_ascii_lowercase()));
                assert!(text.chars().any(|c| c.is_ascii_uppercase()));
                assert!(text.chars().any(|c| c.is_ascii_digit()));
                assert!(text.chars().any(|c| PUNCTUATION.contains(c)));
                assert!(seen.insert(text.to_owned()), "a repeat");
            }
        }
    }
}
