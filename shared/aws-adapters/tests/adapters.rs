//! The DynamoDB repository and the Secrets Manager vault against moto.

use aws_sdk_dynamodb::types::AttributeValue;
use credential_model::credential::now;
use credential_model::ports::{
    CredentialRepository, Expected, NewSecret, SecretVault, StoreError, VaultError,
};
use credential_model::{
    Attributes, CredentialId, CredentialKind, CredentialRecord, OrgId, Provider, RecordKey,
    SecretRef, UserId,
};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use serde_json::json;
use strongroom_aws::{DynamoRepository, SecretsManagerVault, StoreSettings};
use strongroom_local_stack::testing::{self, unique_suffix};
use strongroom_local_stack::{LocalStack, Template, provision, template_path};

async fn stack() -> Option<(strongroom_aws::SdkConfig, LocalStack)> {
    testing::moto()?;
    let sdk = strongroom_aws::sdk_config().expect("the environment configures AWS");
    let template = Template::load(&template_path()).expect("template");
    let key = SecretString::from("adapter-test-signing-key-0123456789abcdef");
    let stack = provision(&sdk, &template, &unique_suffix(), &key)
        .await
        .expect("stack");
    Some((sdk, stack))
}

/// A family's typed attributes, as a family declares them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Labelled {
    label: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    note: Option<String>,
    tags: Vec<String>,
}

impl Attributes for Labelled {
    const KIND: CredentialKind = CredentialKind::GenericCredential;
}

/// Another family's attributes, to read an item as the wrong kind.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Owned {}

impl Attributes for Owned {
    const KIND: CredentialKind = CredentialKind::UserWarehouseCredential;
}

fn record(org: &OrgId, id: CredentialId) -> CredentialRecord<Labelled> {
    let settings = json!({"host": "db", "port": 5432, "tls": true, "nested": {"a": [1, "b"]}});
    CredentialRecord {
        key: RecordKey::item(org.clone(), CredentialKind::GenericCredential, id),
        id,
        provider: Provider::Postgres,
        settings: settings.as_object().cloned().expect("an object"),
        attributes: Labelled {
            label: "mine".into(),
            note: None,
            tags: vec!["a".into()],
        },
        secret: SecretRef("arn:aws:secretsmanager:us-east-1:000000000000:secret:x".into()),
        secret_version: "v1".into(),
        expires_at: None,
        rotation: Default::default(),
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
        expires_at: Some(now()),
        ..first.clone()
    };
    let stale = Expected::Current {
        id: first.id,
        version: 7,
    };
    assert!(matches!(
        repository.put(&second, stale).await,
        Err(StoreError::ConditionFailed)
    ));
    // The same version of another credential under the same key is not the one read.
    let another = Expected::Current {
        id: CredentialId::generate(),
        version: 1,
    };
    assert!(matches!(
        repository.put(&second, another).await,
        Err(StoreError::ConditionFailed)
    ));
    repository
        .put(&second, Expected::record(&first))
        .await
        .expect("replaced");
    assert_eq!(
        repository.get(&second.key).await.expect("read"),
        Some(second.clone())
    );
    assert!(matches!(
        repository
            .delete(&first.key, Expected::record(&first))
            .await,
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
        .list::<Labelled>(&org_a, "generic-credential#")
        .await
        .expect("listed");
    assert_eq!(listed.len(), 4);
    assert!(listed.iter().all(|r| r.key.organization == org_a));
    assert!(listed.windows(2).all(|w| w[0].key.slot < w[1].key.slot));
    assert!(
        repository
            .list::<Owned>(&org_a, "user-warehouse-credential#")
            .await
            .expect("listed")
            .is_empty()
    );

    repository
        .delete(&second.key, Expected::record(&second))
        .await
        .expect("deleted");
    assert_eq!(
        repository.get::<Labelled>(&second.key).await.expect("read"),
        None
    );
}

#[tokio::test]
async fn items_hold_the_expiry_and_the_key_at_top_level_and_are_found_by_id() {
    let Some((sdk, stack)) = stack().await else {
        return;
    };
    let client = aws_sdk_dynamodb::Client::new(&sdk);
    let repository = DynamoRepository::new(client.clone(), &stack.table);
    let org = OrgId::parse("org_expiry").expect("org");
    let expires_at = now();
    let expiring = CredentialRecord {
        expires_at: Some(expires_at),
        ..record(&org, CredentialId::generate())
    };
    let lasting = record(&org, CredentialId::generate());
    for record in [&expiring, &lasting] {
        repository.put(record, Expected::Absent).await.expect("put");
    }
    let item = |record: &CredentialRecord<Labelled>| {
        let client = client.clone();
        let table = stack.table.clone();
        let slot = record.key.slot.clone();
        async move {
            client
                .get_item()
                .table_name(table)
                .key("pk", AttributeValue::S("ORG#org_expiry".into()))
                .key("sk", AttributeValue::S(slot))
                .send()
                .await
                .expect("read")
                .item
                .expect("an item")
        }
    };
    let stored = item(&expiring).await;
    assert_eq!(
        stored.get("expires_at"),
        Some(&AttributeValue::N(expires_at.unix_timestamp().to_string())),
        "epoch seconds, as a TTL reads them"
    );
    assert_eq!(
        stored.get("id"),
        Some(&AttributeValue::S(expiring.id.to_string()))
    );
    assert!(matches!(
        stored.get("attributes"),
        Some(AttributeValue::M(_))
    ));
    assert!(!item(&lasting).await.contains_key("expires_at"), "sparse");

    assert_eq!(
        repository.locate(&org, expiring.id).await.expect("located"),
        Some(expiring.key.clone())
    );
    let other = OrgId::parse("org_other").expect("org");
    assert_eq!(
        repository
            .locate(&other, expiring.id)
            .await
            .expect("looked"),
        None
    );
    assert_eq!(
        repository
            .locate(&org, CredentialId::generate())
            .await
            .expect("looked"),
        None
    );
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
    assert!(
        matches!(
            repository.get::<Owned>(&good.key).await,
            Err(StoreError::Corrupt(_))
        ),
        "an item of another kind is not read as this one"
    );
    for (expression, value) in [
        ("SET provider = :v", AttributeValue::S("oracle".into())),
        ("SET version = :v", AttributeValue::S("one".into())),
        ("SET attributes.label = :v", AttributeValue::N("7".into())),
        ("SET created_by = :v", AttributeValue::S("user#1".into())),
    ] {
        let damaged = record(&org, CredentialId::generate());
        repository
            .put(&damaged, Expected::Absent)
            .await
            .expect("created");
        client
            .update_item()
            .table_name(&stack.table)
            .key("pk", AttributeValue::S("ORG#org_corrupt".into()))
            .key("sk", AttributeValue::S(damaged.key.slot.clone()))
            .update_expression(expression)
            .expression_attribute_values(":v", value)
            .send()
            .await
            .expect("item damaged");
        assert!(
            matches!(
                repository.get::<Labelled>(&damaged.key).await,
                Err(StoreError::Corrupt(_))
            ),
            "{expression}"
        );
    }
    assert!(matches!(
        repository.list::<Labelled>(&org, "generic").await,
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
        audit_retention: strongroom_aws::config::DEFAULT_AUDIT_RETENTION,
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

    vault
        .tag(
            &secret,
            &[("strongroom:provider".into(), "snowflake".into())],
        )
        .await
        .expect("tagged");

    vault.retire(&secret).await.expect("retired");
    vault.retire(&secret).await.expect("retiring twice is fine");
    // A secret scheduled for deletion is gone. (moto refuses its reads, as AWS does; AWS also
    // refuses new versions and stage moves, which moto allows: `classification.rs` covers those
    // with AWS's own answers.)
    assert!(matches!(
        vault.read_version(&secret, &three).await,
        Err(VaultError::NotFound)
    ));
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
