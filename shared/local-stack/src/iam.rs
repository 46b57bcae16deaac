//! Each function's own IAM identity in moto, made from the template's policies, so that a
//! function calling an AWS action its policies do not allow fails locally — in `make test` and
//! `make dev` — and not only after a deploy.
//!
//! ```no_run
//! # async fn example(admin: aws_types::SdkConfig) -> Result<(), Box<dyn std::error::Error>> {
//! use strongroom_local_stack::{Template, iam, template_path};
//!
//! let template = Template::load(&template_path())?;
//! // `admin`: the environment's configuration, which `scripts/lib.sh` points at moto's
//! // administrator user.
//! let identities = iam::function_identities(&admin, &template, "local-1a2b3c").await?;
//! // The configuration `levered-get-connection` builds its clients from: the administrator's,
//! // with the function's own static credentials.
//! let sdk = &identities["levered-get-connection"];
//! let dynamodb = aws_sdk_dynamodb::Client::new(sdk);
//! # let _ = dynamodb;
//! # Ok(())
//! # }
//! ```
//!
//! - [`function_identities`]`(admin, template, suffix)` creates one IAM user per function of the
//!   template and returns, by binary (`Metadata.BuildProperties.Binary`), an [`SdkConfig`]: the
//!   administrator's (endpoint, region, timeouts, retries) with that user's access key as static
//!   credentials.
//! - [`function_identity`]`(admin, suffix, policies)` does the same for one function's
//!   [`FunctionPolicies`] (from [`Template::function_policies`]).
//! - [`user_name`]`(suffix, binary)` is the user's name, `strongroom-{suffix}-{binary}`, unique
//!   per stack suffix and at most 64 characters (IAM's limit) — or an error.
//! - [`user_with_actions`]`(admin, user, actions)` creates a user allowed `actions` and returns
//!   its [`AccessKey`]: for tests of something that signs requests with a key it is given.
//! - [`enforced`] tells whether moto enforces IAM ([`ENFORCEMENT_VAR`] `=enforced`).
//!
//! Each user holds one inline policy per policy of its function (named after the template's
//! managed policy, or `{Function}Inline{n}`), allowing exactly that policy's actions on resource
//! `*`, without conditions. moto checks the action of every DynamoDB, Secrets Manager, KMS, IAM
//! and CloudWatch Logs request against the caller's policies, but it authorizes those services'
//! requests against resource `*` and evaluates no condition it cannot see (`kms:ViaService`), so
//! a policy scoped to an ARN would refuse everything there. Resource and condition scoping stay
//! in the template, where cfn-lint checks them; locally, the actions are what is enforced.
//!
//! moto enforces IAM only when started with `INITIAL_NO_AUTH_ACTION_COUNT` (`scripts/lib.sh`
//! `start_moto` does, bootstraps an administrator user within that allowance, exports its key as
//! `AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY` and sets [`ENFORCEMENT_VAR`]). Without
//! enforcement the identities are still created and work, they just are not checked.

use std::collections::BTreeMap;

use aws_credential_types::Credentials;
use aws_credential_types::provider::SharedCredentialsProvider;
use aws_sdk_iam::types::Tag;
use aws_types::SdkConfig;
use secrecy::{ExposeSecret, SecretString};

use crate::provision::{ProvisionError, aws, sdk_detail};
use crate::template::{FunctionPolicies, Template};

/// The environment variable `scripts/lib.sh` sets to `enforced` when moto enforces IAM.
pub const ENFORCEMENT_VAR: &str = "STRONGROOM_MOTO_IAM";

/// IAM's limit on a user name.
pub const MAX_USER_NAME: usize = 64;

/// The name of the static credentials provider of every function identity.
const PROVIDER_NAME: &str = "strongroom-local-stack";

/// Whether the moto of this run enforces IAM (`STRONGROOM_MOTO_IAM=enforced`).
pub fn enforced() -> bool {
    std::env::var(ENFORCEMENT_VAR).is_ok_and(|v| v == "enforced")
}

/// The IAM user of `binary` in the stack named by `suffix`: `strongroom-{suffix}-{binary}`.
pub fn user_name(suffix: &str, binary: &str) -> Result<String, ProvisionError> {
    let name = format!("strongroom-{suffix}-{binary}");
    if name.len() > MAX_USER_NAME {
        return Err(ProvisionError::UserNameTooLong {
            name,
            max: MAX_USER_NAME,
        });
    }
    Ok(name)
}

/// One IAM user per function of `template`, holding exactly its policies' actions (on resource
/// `*`), and the configuration each function's clients are built from, by binary: `admin` with
/// that user's static credentials. `admin` must be allowed to manage IAM users.
pub async fn function_identities(
    admin: &SdkConfig,
    template: &Template,
    suffix: &str,
) -> Result<BTreeMap<String, SdkConfig>, ProvisionError> {
    let functions = template.function_policies()?;
    // Every name first, so a suffix that is too long creates nothing.
    for binary in functions.keys() {
        user_name(suffix, binary)?;
    }
    let mut identities = BTreeMap::new();
    for (binary, policies) in &functions {
        identities.insert(
            binary.clone(),
            function_identity(admin, suffix, policies).await?,
        );
    }
    Ok(identities)
}

/// One function's IAM user, holding exactly its policies' actions (on resource `*`), and `admin`
/// with that user's static credentials.
pub async fn function_identity(
    admin: &SdkConfig,
    suffix: &str,
    function: &FunctionPolicies,
) -> Result<SdkConfig, ProvisionError> {
    let user = user_name(suffix, &function.binary)?;
    let iam = aws_sdk_iam::Client::new(admin);
    let tag = |key: &str, value: &str| {
        Tag::builder()
            .key(key)
            .value(value)
            .build()
            .map_err(|e| aws("a function's IAM user")(e.to_string()))
    };
    iam.create_user()
        .user_name(&user)
        .tags(tag("strongroom:function", &function.function)?)
        .tags(tag("strongroom:binary", &function.binary)?)
        .send()
        .await
        .map_err(|e| aws("a function's IAM user")(format!("{user}: {}", sdk_detail(e))))?;
    for policy in &function.policies {
        let actions = as_moto_checks(&policy.actions);
        iam.put_user_policy()
            .user_name(&user)
            .policy_name(&policy.name)
            .policy_document(policy_document(&actions))
            .send()
            .await
            .map_err(|e| {
                aws("a function's IAM policy")(format!("{user} {}: {}", policy.name, sdk_detail(e)))
            })?;
    }
    let key = new_access_key(&iam, &user, "a function's access key").await?;
    let credentials = Credentials::new(
        key.access_key_id,
        key.secret_access_key.expose_secret(),
        None,
        None,
        PROVIDER_NAME,
    );
    Ok(admin
        .to_builder()
        .credentials_provider(SharedCredentialsProvider::new(credentials))
        .build())
}

/// An access key of moto's IAM: its id, and its secret.
#[derive(Debug)]
pub struct AccessKey {
    pub access_key_id: String,
    pub secret_access_key: SecretString,
}

/// A new IAM user `user` allowed `actions` (none: a user that may do nothing), and its access
/// key: what a test gives a tester that signs requests with a stored key.
pub async fn user_with_actions(
    admin: &SdkConfig,
    user: &str,
    actions: &[&str],
) -> Result<AccessKey, ProvisionError> {
    let iam = aws_sdk_iam::Client::new(admin);
    iam.create_user()
        .user_name(user)
        .send()
        .await
        .map_err(|e| aws("an IAM user")(format!("{user}: {}", sdk_detail(e))))?;
    if !actions.is_empty() {
        iam.put_user_policy()
            .user_name(user)
            .policy_name("allowed")
            .policy_document(policy_document(actions))
            .send()
            .await
            .map_err(|e| aws("an IAM policy")(format!("{user}: {}", sdk_detail(e))))?;
    }
    new_access_key(&iam, user, "an access key").await
}

async fn new_access_key(
    iam: &aws_sdk_iam::Client,
    user: &str,
    what: &'static str,
) -> Result<AccessKey, ProvisionError> {
    let key = iam
        .create_access_key()
        .user_name(user)
        .send()
        .await
        .map_err(|e| aws(what)(format!("{user}: {}", sdk_detail(e))))?
        .access_key
        .ok_or_else(|| aws(what)(format!("{user}: no key returned")))?;
    Ok(AccessKey {
        access_key_id: key.access_key_id,
        secret_access_key: SecretString::from(key.secret_access_key),
    })
}

/// `actions` as moto checks them. AWS authorizes each write of a `TransactWriteItems` by its
/// own action (`dynamodb:PutItem`, `dynamodb:DeleteItem`); moto checks the operation's name,
/// `dynamodb:TransactWriteItems`, which no AWS policy needs. A policy allowing every write
/// kind of a transaction is allowed it too; the template stays as AWS reads it.
fn as_moto_checks<'a>(actions: impl IntoIterator<Item = &'a String>) -> Vec<&'a str> {
    let mut checked: Vec<&str> = actions.into_iter().map(String::as_str).collect();
    let writes_transactions = ["dynamodb:PutItem", "dynamodb:DeleteItem"]
        .iter()
        .all(|write| checked.contains(write));
    if writes_transactions {
        checked.push("dynamodb:TransactWriteItems");
    }
    checked
}

/// An identity policy allowing `actions` on every resource, without conditions.
fn policy_document(actions: &[&str]) -> String {
    serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [{ "Effect": "Allow", "Action": actions, "Resource": "*" }],
    })
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_names_are_unique_per_suffix_and_within_iam_limits() {
        assert_eq!(
            user_name("0123456789ab", "levered-get-connection").expect("name"),
            "strongroom-0123456789ab-levered-get-connection"
        );
        let template = Template::load(&crate::template_path()).expect("template");
        // The suffixes the tests (12 characters) and the local gateway (`local-` and 6) use.
        for binary in template.function_policies().expect("policies").keys() {
            user_name("0123456789ab", binary).expect("a test suffix fits");
        }
        let long = "x".repeat(40);
        assert!(matches!(
            user_name(&long, "lightdash-update-credentials"),
            Err(ProvisionError::UserNameTooLong { max: 64, .. })
        ));
    }

    #[test]
    fn transactions_are_allowed_where_aws_allows_each_of_their_writes() {
        let actions = |list: &[&str]| list.iter().map(|a| a.to_string()).collect::<Vec<_>>();
        let writes = actions(&["dynamodb:PutItem", "dynamodb:DeleteItem"]);
        assert_eq!(
            as_moto_checks(&writes),
            [
                "dynamodb:PutItem",
                "dynamodb:DeleteItem",
                "dynamodb:TransactWriteItems"
            ]
        );
        let puts = actions(&["dynamodb:PutItem"]);
        assert_eq!(as_moto_checks(&puts), ["dynamodb:PutItem"]);
    }

    #[test]
    fn policies_allow_actions_on_every_resource_without_conditions() {
        let document: serde_json::Value =
            serde_json::from_str(&policy_document(&["dynamodb:GetItem", "kms:Decrypt"]))
                .expect("JSON");
        assert_eq!(
            document,
            serde_json::json!({
                "Version": "2012-10-17",
                "Statement": [{
                    "Effect": "Allow",
                    "Action": ["dynamodb:GetItem", "kms:Decrypt"],
                    "Resource": "*",
                }],
            })
        );
    }
}
