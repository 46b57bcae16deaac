//! API tokens in the credentials table with their digests from KMS, against moto: the token is
//! stored nowhere, only KMS's HMAC of it; a wrong secret, a revoked token and another
//! organization's are refused; a list reads past BatchGetItem's 100 keys; a use is written
//! once per period.

use credential_model::api_tokens::{ApiTokens, TokenRefusal, TokenRequest};
use credential_model::{Caller, OrgId, Scope, Scopes, UserId};
use secrecy::ExposeSecret;
use strongroom_aws::{DynamoTokenStore, KmsTokenMac};
use strongroom_local_stack::LocalStack;
use strongroom_local_stack::testing::{self, unique_suffix};
use time::OffsetDateTime;

struct Deployment {
    sdk: strongroom_aws::SdkConfig,
    stack: LocalStack,
    tokens: ApiTokens<DynamoTokenStore, KmsTokenMac>,
}

async fn deployment() -> Option<Deployment> {
    testing::moto()?;
    let sdk = strongroom_aws::sdk_config().expect("the environment configures AWS");
    let stack = testing::fresh_stack(&sdk).await;
    let tokens = ApiTokens::new(
        DynamoTokenStore::new(aws_sdk_dynamodb::Client::new(&sdk), &stack.table),
        KmsTokenMac::new(aws_sdk_kms::Client::new(&sdk), &stack.token_mac_key_arn),
    );
    Some(Deployment { sdk, stack, tokens })
}

impl Deployment {
    /// Every item of the table, as text.
    async fn dump(&self) -> String {
        let items = aws_sdk_dynamodb::Client::new(&self.sdk)
            .scan()
            .table_name(&self.stack.table)
            .send()
            .await
            .expect("scan");
        format!("{:?}", items.items())
    }

    async fn item_count(&self) -> usize {
        aws_sdk_dynamodb::Client::new(&self.sdk)
            .scan()
            .table_name(&self.stack.table)
            .send()
            .await
            .expect("scan")
            .items()
            .len()
    }
}

fn caller(org: &str, user: &str) -> Caller {
    Caller {
        organization: OrgId::parse(org).expect("org"),
        user: UserId::parse(user).expect("user"),
        scopes: Scopes::from_iter([Scope::Read, Scope::Write]),
        expires_at: i64::MAX,
        origin: Default::default(),
    }
}

fn request(name: &str) -> TokenRequest {
    TokenRequest {
        name: name.into(),
        scopes: Scopes::from_iter([Scope::Read]),
        expires_at: None,
    }
}

#[tokio::test]
async fn only_the_kms_digest_is_stored_and_it_checks_the_token() {
    let Some(deployment) = deployment().await else {
        return;
    };
    let org = format!("org_{}", unique_suffix());
    let issuer = caller(&org, "user_a");
    let now = OffsetDateTime::now_utc();
    let issued = deployment
        .tokens
        .issue(&issuer, request("ci"), now)
        .await
        .expect("issued");
    let token = issued.token.expose_secret().to_owned();
    let secret_part = &token[37..];
    let dump = deployment.dump().await;
    assert!(!dump.contains(secret_part), "the token is stored");
    assert_eq!(issued.record.digest.len(), 32, "an HMAC-SHA-256");
    assert_eq!(deployment.item_count().await, 2, "the token and its entry");

    let (authenticated, id) = deployment
        .tokens
        .authenticate(&token, now)
        .await
        .expect("checked")
        .expect("accepted");
    assert_eq!(
        (authenticated.user, id),
        (issuer.user.clone(), issued.record.id)
    );
    let mut wrong = token.clone();
    wrong.replace_range(40..41, if &token[40..41] == "a" { "b" } else { "a" });
    assert_eq!(
        deployment
            .tokens
            .authenticate(&wrong, now)
            .await
            .expect("checked")
            .err(),
        Some(TokenRefusal::Unknown),
        "KMS refuses the MAC of another secret"
    );

    let elsewhere = caller(&format!("org_{}", unique_suffix()), "user_a");
    assert!(deployment.tokens.revoke(&elsewhere, id).await.is_err());
    deployment
        .tokens
        .revoke(&issuer, id)
        .await
        .expect("revoked");
    assert_eq!(deployment.item_count().await, 0, "both items are gone");
    assert_eq!(
        deployment
            .tokens
            .authenticate(&token, now)
            .await
            .expect("checked")
            .err(),
        Some(TokenRefusal::Unknown)
    );
}

#[tokio::test]
async fn a_list_reads_past_one_batch_and_a_use_is_written_once_an_hour() {
    let Some(deployment) = deployment().await else {
        return;
    };
    let org = format!("org_{}", unique_suffix());
    let issuer = caller(&org, "user_a");
    let now = OffsetDateTime::now_utc();
    let mut issued = Vec::new();
    for n in 0..120 {
        issued.push(
            deployment
                .tokens
                .issue(&issuer, request(&format!("token {n}")), now)
                .await
                .expect("issued"),
        );
    }
    assert_eq!(
        deployment.tokens.list(&issuer).await.expect("listed").len(),
        120
    );

    let token = issued[0].token.expose_secret();
    for minutes in [0, 10, 50] {
        deployment
            .tokens
            .authenticate(token, now + time::Duration::minutes(minutes))
            .await
            .expect("checked")
            .expect("accepted");
    }
    let last_used = || async {
        let listed = deployment.tokens.list(&issuer).await.expect("listed");
        listed
            .iter()
            .find(|t| t.id == issued[0].record.id)
            .and_then(|t| t.last_used_at)
            .map(OffsetDateTime::unix_timestamp)
    };
    assert_eq!(
        last_used().await,
        Some(now.unix_timestamp()),
        "the first use is recorded, the next two within the hour are not"
    );
    deployment
        .tokens
        .authenticate(token, now + time::Duration::minutes(61))
        .await
        .expect("checked")
        .expect("accepted");
    assert_eq!(
        last_used().await,
        Some((now + time::Duration::minutes(61)).unix_timestamp())
    );
}
