//! The DynamoDB repository and the Secrets Manager vault against moto.

use aws_sdk_dynamodb::types::AttributeValue;
use credential_model::credential::now;
use credential_model::ports::{
    CredentialRepository, Expected, NewSecret, SecretVault, StoreError, VaultError,
};
use credential_model::{
    CredentialId, CredentialKind, CredentialRecord, OrgId, Provider, RecordKey, SecretRef,
    SettingValue, Settings, UserId,
};
use secrecy::{ExposeSecret, SecretString};
use strongroom_aws::{DynamoRepository, SecretsManagerVault, StoreSettings};
use strongroom_local_stack::testing::{self, unique_suffix};
use strongroom_local_stack::{LocalStack, Template, provision, template_path};

async fn stack() -> Option<(aws_config::SdkConfig, LocalStack)> {
    testing::moto()?;
    let sdk = strongroom_aws::sdk_config().await;
    let template = Template::load(&template_path()).expect("template");
    let key = SecretString::from("adapter-test-signing-key-0123456789abcdef");
    let stack = provision(&sdk, &template, &unique_suffix(), &key)
        .await
        .expect("stack");
    Some((sdk, stack))
}

fn record(org: &OrgId, id: CredentialId) -> CredentialRecord {
    let mut settings = Settings::new();
    settings.insert("host".into(), SettingValue::Text("db".into()));
    settings.insert("port".into(), SettingValue::Integer(5432));
    settings.insert("tls".into(), SettingValue::Flag(true));
    CredentialRecord {
        key: RecordKey::item(org.clone(), CredentialKind::GenericCredential, id),
        id,
        kind: CredentialKind::GenericCredential,
        provider: Provider::Postgres,
        settings,
        attributes: Settings::new(),
        secret: SecretRef("arn:aws:secretsmanager:us-east-1:000000000000:secret:x".into()),
        secret_version: "v1".into(),
        created_by: UserId::parse("user_1").expect("user"),
        created_at: now(),
        updated_at: now(),
        version: 1,
    }
}

#[tokio::test]
async fn repository_writes_are_conditional_and_lists_stay_in_their_tenant() {
    let Some((sdk, stack)) = stack().await else {
        return;
    };
    let repository = DynamoRepository::new(aws_sdk_dynamodb::Client::new(&sdk), &stack.table);
    let (org_a, org_b) = (
        OrgId::parse("org_a").expect("org"),
        OrgId::parse("org_b").expect("org"),
    );

    let first = record(&org_a, CredentialId::generate());
    repository
        .put(&first, Expected::Absent)
        .await
        .expect("created");
    assert!(matches!(
        repository.put(&first, Expected::Absent).await,
        Err(StoreError::ConditionFailed)
    ));
    assert_eq!(
        repository.get(&first.key).await.expect("read"),
        Some(first.clone())
    );

    let second = CredentialRecord {
        version: 2,
        ..first.clone()
    };
    assert!(matches!(
        repository.put(&second, Expected::Version(7)).await,
        Err(StoreError::ConditionFailed)
    ));
    repository
        .put(&second, Expected::Version(1))
        .await
        .expect("replaced");
    assert!(matches!(
        repository.delete(&first.key, 1).await,
        Err(StoreError::ConditionFailed)
    ));

    for _ in 0..3 {
        repository
            .put(&record(&org_a, CredentialId::generate()), Expected::Absent)
            .await
            .expect("a");
    }
    repository
        .put(&record(&org_b, CredentialId::generate()), Expected::Absent)
        .await
        .expect("b");
    let listed = repository
        .list(&org_a, "generic-credential#")
        .await
        .expect("listed");
    assert_eq!(listed.len(), 4);
    assert!(listed.iter().all(|r| r.key.organization == org_a));
    assert!(listed.windows(2).all(|w| w[0].key.slot < w[1].key.slot));
    assert!(
        repository
            .list(&org_a, "user-warehouse-credential#")
            .await
            .expect("listed")
            .is_empty()
    );

    repository.delete(&second.key, 2).await.expect("deleted");
    assert_eq!(repository.get(&second.key).await.expect("read"), None);
}

#[tokio::test]
async fn a_corrupt_item_is_an_error_not_a_panic() {
    let Some((sdk, stack)) = stack().await else {
        return;
    };
    let client = aws_sdk_dynamodb::Client::new(&sdk);
    let org = OrgId::parse("org_corrupt").expect("org");
    let good = record(&org, CredentialId::generate());
    let repository = DynamoRepository::new(client.clone(), &stack.table);
    repository
        .put(&good, Expected::Absent)
        .await
        .expect("created");
    client
        .update_item()
        .table_name(&stack.table)
        .key("pk", AttributeValue::S("ORG#org_corrupt".into()))
        .key("sk", AttributeValue::S(good.key.slot.clone()))
        .update_expression("SET provider = :p, version = :v")
        .expression_attribute_values(":p", AttributeValue::S("oracle".into()))
        .expression_attribute_values(":v", AttributeValue::S("one".into()))
        .send()
        .await
        .expect("item damaged");
    assert!(matches!(
        repository.get(&good.key).await,
        Err(StoreError::Corrupt(_))
    ));
    assert!(matches!(
        repository.list(&org, "generic").await,
        Err(StoreError::Corrupt(_))
    ));
}

#[tokio::test]
async fn vault_stages_promotes_and_retires() {
    let Some((sdk, stack)) = stack().await else {
        return;
    };
    let settings = StoreSettings {
        table: stack.table.clone(),
        kms_key_id: stack.kms_key_arn.clone(),
        recovery_window_days: 7,
        secret_prefix: format!("adapters-{}", unique_suffix()),
    };
    let vault = SecretsManagerVault::new(aws_sdk_secretsmanager::Client::new(&sdk), &settings);
    let first = SecretString::from("{\"password\":\"one\"}");
    let id = CredentialId::generate().to_string();
    let new = || NewSecret {
        name: format!("org_v/generic-credential/{id}"),
        description: "test".into(),
        document: &first,
        tags: vec![("strongroom:organization".into(), "org_v".into())],
        idempotency_token: id.clone(),
    };
    let created = vault.create(new()).await.expect("created");
    assert_eq!(
        vault
            .create(new())
            .await
            .expect("a retried create is the same secret"),
        created
    );
    let secret = created.secret;
    assert!(secret.0.contains(&format!(
        "secret:{}/org_v/generic-credential/",
        settings.secret_prefix
    )));
    let current = vault.read_current(&secret).await.expect("read");
    assert_eq!(current.document.expose_secret(), "{\"password\":\"one\"}");
    assert_eq!(current.version_id, created.version_id);

    let two = vault
        .stage(
            &secret,
            &SecretString::from("two"),
            &CredentialId::generate().to_string(),
        )
        .await
        .expect("staged");
    assert_eq!(
        vault
            .read_current(&secret)
            .await
            .expect("read")
            .document
            .expose_secret(),
        first.expose_secret()
    );
    let three = vault
        .stage(
            &secret,
            &SecretString::from("three"),
            &CredentialId::generate().to_string(),
        )
        .await
        .expect("staged");
    assert_eq!(
        vault
            .read_version(&secret, &two)
            .await
            .expect("a staged version reads by id")
            .document
            .expose_secret(),
        "two"
    );
    assert!(
        vault
            .move_current(&secret, &three, &current.version_id)
            .await
            .expect("moved")
    );
    assert_eq!(
        vault.current_version(&secret).await.expect("described"),
        three
    );
    assert_eq!(
        vault
            .read_current(&secret)
            .await
            .expect("read")
            .document
            .expose_secret(),
        "three"
    );
    // A move from a version that no longer holds AWSCURRENT changes nothing.
    assert!(
        !vault
            .move_current(&secret, &two, &current.version_id)
            .await
            .expect("a failed compare is an answer, not an error")
    );
    assert_eq!(
        vault
            .read_current(&secret)
            .await
            .expect("read")
            .document
            .expose_secret(),
        "three"
    );

    vault.retire(&secret).await.expect("retired");
    vault.retire(&secret).await.expect("retiring twice is fine");
    vault.discard(&secret).await.expect("discarded");
    vault
        .discard(&secret)
        .await
        .expect("discarding twice is fine");
    assert!(matches!(
        vault.read_current(&secret).await,
        Err(VaultError::NotFound)
    ));
}
