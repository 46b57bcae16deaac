//! Reading `infra/template.yaml`: the HTTP routes and the function binary behind each, the
//! authorizer and its cache, the table definition with its indexes, and the IAM actions each
//! function's policies allow.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde_yaml_ng::{Mapping, Value};

#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{0} is not valid YAML: {1}")]
    Yaml(String, serde_yaml_ng::Error),
    #[error("template: {0}")]
    Shape(String),
}

fn shape(message: impl Into<String>) -> TemplateError {
    TemplateError::Shape(message.into())
}

/// One HTTP route of the API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    pub method: String,
    /// Path with `{parameter}` segments, as API Gateway writes it.
    pub path: String,
    /// The function's logical id in the template.
    pub function: String,
    /// The Cargo binary that implements it (`Metadata.BuildProperties.Binary`).
    pub binary: String,
    /// Whether the API's default authorizer guards it.
    pub authorized: bool,
}

/// The API's Lambda authorizer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorizerSpec {
    pub binary: String,
    /// The header whose value keys the cache, lower-case.
    pub identity_header: String,
    pub cache_seconds: u64,
}

/// A DynamoDB table's key schema: (attribute, `HASH`/`RANGE`), attribute types and global
/// secondary indexes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableSpec {
    pub key_schema: Vec<(String, String)>,
    pub attribute_types: Vec<(String, String)>,
    pub global_secondary_indexes: Vec<IndexSpec>,
    /// The stream's `StreamViewType`, when the table has a stream.
    pub stream_view_type: Option<String>,
}

/// A global secondary index: its name, key schema (attribute, `HASH`/`RANGE`) and projection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexSpec {
    pub name: String,
    pub key_schema: Vec<(String, String)>,
    /// `ALL`, `KEYS_ONLY` or `INCLUDE`.
    pub projection_type: String,
    /// The attributes an `INCLUDE` projection adds.
    pub non_key_attributes: Vec<String>,
}

/// What one function may do, read from its `Policies`: each managed policy it `!Ref`s and each
/// inline policy document, down to the IAM actions they allow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionPolicies {
    /// The function's logical id in the template.
    pub function: String,
    /// The Cargo binary that implements it (`Metadata.BuildProperties.Binary`).
    pub binary: String,
    /// In the order of the function's `Policies`.
    pub policies: Vec<PolicyActions>,
}

/// One policy of a function and the actions it allows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyActions {
    /// The managed policy's logical id, or `{Function}Inline{n}` for the n-th inline document.
    pub name: String,
    pub actions: BTreeSet<String>,
}

impl FunctionPolicies {
    /// Every action any of the function's policies allows.
    pub fn actions(&self) -> BTreeSet<&str> {
        self.policies
            .iter()
            .flat_map(|p| p.actions.iter().map(String::as_str))
            .collect()
    }
}

pub struct Template {
    resources: Mapping,
    parameters: Mapping,
}

fn get<'a>(value: &'a Value, key: &str) -> Option<&'a Value> {
    value.as_mapping().and_then(|m| m.get(key))
}

fn text<'a>(value: &'a Value, key: &str) -> Option<&'a str> {
    get(value, key).and_then(Value::as_str)
}

impl Template {
    pub fn load(path: &Path) -> Result<Template, TemplateError> {
        let source = std::fs::read_to_string(path).map_err(|source| TemplateError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Template::parse(&source, &path.display().to_string())
    }

    pub fn parse(source: &str, name: &str) -> Result<Template, TemplateError> {
        let document: Value =
            serde_yaml_ng::from_str(source).map_err(|e| TemplateError::Yaml(name.to_owned(), e))?;
        let section = |key: &str| {
            get(&document, key)
                .and_then(Value::as_mapping)
                .cloned()
                .unwrap_or_default()
        };
        Ok(Template {
            resources: section("Resources"),
            parameters: section("Parameters"),
        })
    }

    fn resources_of_type<'a>(
        &'a self,
        kind: &'a str,
    ) -> impl Iterator<Item = (&'a str, &'a Value)> {
        self.resources.iter().filter_map(move |(id, resource)| {
            (text(resource, "Type") == Some(kind)).then_some((id.as_str()?, resource))
        })
    }

    fn resource(&self, id: &str) -> Result<&Value, TemplateError> {
        self.resources
            .get(id)
            .ok_or_else(|| shape(format!("no resource {id}")))
    }

    /// A scalar, with `!Ref Parameter` resolved to the parameter's default.
    fn scalar(&self, value: &Value) -> Option<String> {
        match value {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            Value::Tagged(tagged) if tagged.tag == "Ref" => {
                let name = tagged.value.as_str()?;
                self.parameters
                    .get(name)
                    .and_then(|p| get(p, "Default"))
                    .and_then(|d| self.scalar(d))
            }
            _ => None,
        }
    }

    fn binary(&self, function: &str, resource: &Value) -> Result<String, TemplateError> {
        get(resource, "Metadata")
            .and_then(|m| get(m, "BuildProperties"))
            .and_then(|b| text(b, "Binary"))
            .map(str::to_owned)
            .ok_or_else(|| shape(format!("{function} has no Metadata.BuildProperties.Binary")))
    }

    /// Every `HttpApi` event of every function, sorted by path and method.
    pub fn routes(&self) -> Result<Vec<Route>, TemplateError> {
        let mut routes = Vec::new();
        for (function, resource) in self.resources_of_type("AWS::Serverless::Function") {
            let events = get(resource, "Properties")
                .and_then(|p| get(p, "Events"))
                .and_then(Value::as_mapping);
            for event in events.into_iter().flat_map(|e| e.values()) {
                if text(event, "Type") != Some("HttpApi") {
                    continue;
                }
                let properties = get(event, "Properties").ok_or_else(|| {
                    shape(format!("{function}: HttpApi event without Properties"))
                })?;
                let field = |key: &str| {
                    text(properties, key)
                        .map(str::to_owned)
                        .ok_or_else(|| shape(format!("{function}: HttpApi event without {key}")))
                };
                let authorizer = get(properties, "Auth").and_then(|a| text(a, "Authorizer"));
                routes.push(Route {
                    method: field("Method")?.to_ascii_uppercase(),
                    path: field("Path")?,
                    function: function.to_owned(),
                    binary: self.binary(function, resource)?,
                    authorized: authorizer != Some("NONE"),
                });
            }
        }
        routes.sort_by(|a, b| (&a.path, &a.method).cmp(&(&b.path, &b.method)));
        Ok(routes)
    }

    /// The HTTP API's default authorizer.
    pub fn authorizer(&self) -> Result<AuthorizerSpec, TemplateError> {
        let (_, api) = self
            .resources_of_type("AWS::Serverless::HttpApi")
            .next()
            .ok_or_else(|| shape("no AWS::Serverless::HttpApi"))?;
        let auth = get(api, "Properties")
            .and_then(|p| get(p, "Auth"))
            .ok_or_else(|| shape("the HTTP API has no Auth"))?;
        let name = text(auth, "DefaultAuthorizer").ok_or_else(|| shape("no DefaultAuthorizer"))?;
        let spec = get(auth, "Authorizers")
            .and_then(|a| get(a, name))
            .ok_or_else(|| shape(format!("no authorizer {name}")))?;
        let function = match get(spec, "FunctionArn") {
            Some(Value::Tagged(tagged)) if tagged.tag == "GetAtt" => tagged
                .value
                .as_str()
                .and_then(|s| s.strip_suffix(".Arn"))
                .map(str::to_owned),
            _ => None,
        }
        .ok_or_else(|| {
            shape(format!(
                "authorizer {name}: FunctionArn must be !GetAtt <Function>.Arn"
            ))
        })?;
        let identity = get(spec, "Identity").ok_or_else(|| shape("authorizer without Identity"))?;
        let identity_header = get(identity, "Headers")
            .and_then(Value::as_sequence)
            .and_then(|h| h.first())
            .and_then(Value::as_str)
            .ok_or_else(|| shape("authorizer Identity without Headers"))?
            .to_ascii_lowercase();
        let cache_seconds = get(identity, "ReauthorizeEvery")
            .and_then(|v| self.scalar(v))
            .and_then(|s| s.parse().ok())
            .unwrap_or(300);
        Ok(AuthorizerSpec {
            binary: self.binary(&function, self.resource(&function)?)?,
            identity_header,
            cache_seconds,
        })
    }

    /// The key schema of the table `logical_id`.
    pub fn table(&self, logical_id: &str) -> Result<TableSpec, TemplateError> {
        let properties = get(self.resource(logical_id)?, "Properties")
            .ok_or_else(|| shape(format!("{logical_id} has no Properties")))?;
        let pairs = |within: &Value,
                     list: &str,
                     a: &str,
                     b: &str|
         -> Result<Vec<(String, String)>, TemplateError> {
            get(within, list)
                .and_then(Value::as_sequence)
                .ok_or_else(|| shape(format!("{logical_id} has no {list}")))?
                .iter()
                .map(|entry| match (text(entry, a), text(entry, b)) {
                    (Some(x), Some(y)) => Ok((x.to_owned(), y.to_owned())),
                    _ => Err(shape(format!("{logical_id}: malformed {list}"))),
                })
                .collect()
        };
        Ok(TableSpec {
            key_schema: pairs(properties, "KeySchema", "AttributeName", "KeyType")?,
            attribute_types: pairs(
                properties,
                "AttributeDefinitions",
                "AttributeName",
                "AttributeType",
            )?,
            global_secondary_indexes: get(properties, "GlobalSecondaryIndexes")
                .map(|list| {
                    list.as_sequence()
                        .ok_or_else(|| {
                            shape(format!(
                                "{logical_id}: GlobalSecondaryIndexes is not a list"
                            ))
                        })?
                        .iter()
                        .map(|index| {
                            let name = text(index, "IndexName").ok_or_else(|| {
                                shape(format!("{logical_id}: an index without IndexName"))
                            })?;
                            let projection = get(index, "Projection");
                            Ok(IndexSpec {
                                name: name.to_owned(),
                                key_schema: pairs(index, "KeySchema", "AttributeName", "KeyType")
                                    .map_err(|e| {
                                    shape(format!("{logical_id} index {name}: {e}"))
                                })?,
                                projection_type: projection
                                    .and_then(|p| text(p, "ProjectionType"))
                                    .unwrap_or("ALL")
                                    .to_owned(),
                                non_key_attributes: projection
                                    .and_then(|p| get(p, "NonKeyAttributes"))
                                    .and_then(Value::as_sequence)
                                    .into_iter()
                                    .flatten()
                                    .filter_map(Value::as_str)
                                    .map(str::to_owned)
                                    .collect(),
                            })
                        })
                        .collect::<Result<Vec<_>, TemplateError>>()
                })
                .transpose()?
                .unwrap_or_default(),
            stream_view_type: get(properties, "StreamSpecification")
                .and_then(|stream| text(stream, "StreamViewType"))
                .map(str::to_owned),
        })
    }

    /// Checks that `logical_id` is a resource of type `kind`.
    pub fn expect_resource(&self, logical_id: &str, kind: &str) -> Result<(), TemplateError> {
        match text(self.resource(logical_id)?, "Type") {
            Some(found) if found == kind => Ok(()),
            found => Err(shape(format!("{logical_id} is a {found:?}, not a {kind}"))),
        }
    }

    /// The binaries of every function, by logical id.
    pub fn function_binaries(&self) -> Result<BTreeMap<String, String>, TemplateError> {
        self.resources_of_type("AWS::Serverless::Function")
            .map(|(id, resource)| Ok((id.to_owned(), self.binary(id, resource)?)))
            .collect()
    }

    /// Every function's policies and the IAM actions they allow, by binary.
    ///
    /// A function's `Policies` may hold `!Ref <ManagedPolicy>` (an `AWS::IAM::ManagedPolicy` of
    /// this template) and inline documents (`Statement: [...]`). Resources and conditions are
    /// not read: the local stack grants actions, the template and cfn-lint keep the scoping.
    /// Anything whose actions cannot be read here — an AWS managed policy by name or ARN, a SAM
    /// policy template, a `Deny` or `NotAction` statement — is an error rather than a silently
    /// different grant.
    pub fn function_policies(&self) -> Result<BTreeMap<String, FunctionPolicies>, TemplateError> {
        let mut functions = BTreeMap::new();
        for (function, resource) in self.resources_of_type("AWS::Serverless::Function") {
            let binary = self.binary(function, resource)?;
            let listed = match get(resource, "Properties").and_then(|p| get(p, "Policies")) {
                None => Vec::new(),
                Some(Value::Sequence(list)) => list.iter().collect(),
                Some(single) => vec![single],
            };
            let mut policies = Vec::new();
            for (position, entry) in listed.into_iter().enumerate() {
                policies.push(self.policy_actions(function, position + 1, entry)?);
            }
            let entry = FunctionPolicies {
                function: function.to_owned(),
                binary: binary.clone(),
                policies,
            };
            if let Some(other) = functions.insert(binary.clone(), entry) {
                return Err(shape(format!(
                    "{function} and {} both build binary {binary}",
                    other.function
                )));
            }
        }
        Ok(functions)
    }

    /// One entry of a function's `Policies`.
    fn policy_actions(
        &self,
        function: &str,
        position: usize,
        entry: &Value,
    ) -> Result<PolicyActions, TemplateError> {
        let referenced = match entry {
            Value::Tagged(tagged) if tagged.tag == "Ref" => tagged.value.as_str(),
            Value::Mapping(m) if m.len() == 1 => m.get("Ref").and_then(Value::as_str),
            _ => None,
        };
        if let Some(name) = referenced {
            let policy = self
                .resources
                .get(name)
                .filter(|r| text(r, "Type") == Some("AWS::IAM::ManagedPolicy"))
                .ok_or_else(|| {
                    shape(format!(
                        "{function}: Policies refers to {name}, which is not an \
                         AWS::IAM::ManagedPolicy of this template"
                    ))
                })?;
            let document = get(policy, "Properties")
                .and_then(|p| get(p, "PolicyDocument"))
                .ok_or_else(|| shape(format!("{name} has no PolicyDocument")))?;
            return Ok(PolicyActions {
                name: name.to_owned(),
                actions: statement_actions(name, document)?,
            });
        }
        if get(entry, "Statement").is_some() {
            let name = format!("{function}Inline{position}");
            return Ok(PolicyActions {
                actions: statement_actions(&name, entry)?,
                name,
            });
        }
        Err(shape(format!(
            "{function}: policy #{position} is neither `!Ref <ManagedPolicy>` nor an inline \
             `Statement` document, so its actions cannot be read (AWS managed policies and SAM \
             policy templates are not supported by the local stack)"
        )))
    }
}

/// The actions a policy document's `Allow` statements grant.
fn statement_actions(policy: &str, document: &Value) -> Result<BTreeSet<String>, TemplateError> {
    let statements = match get(document, "Statement") {
        Some(Value::Sequence(list)) => list.iter().collect(),
        Some(single @ Value::Mapping(_)) => vec![single],
        _ => {
            return Err(shape(format!(
                "{policy}: the policy document has no Statement"
            )));
        }
    };
    let mut actions = BTreeSet::new();
    for statement in statements {
        if text(statement, "Effect") != Some("Allow") {
            return Err(shape(format!(
                "{policy}: only Allow statements are supported (a Deny would be widened to every \
                 resource locally)"
            )));
        }
        let listed = match get(statement, "Action") {
            Some(Value::String(one)) => vec![one.as_str()],
            Some(Value::Sequence(list)) => list
                .iter()
                .map(|a| {
                    a.as_str()
                        .ok_or_else(|| shape(format!("{policy}: an Action is not a string")))
                })
                .collect::<Result<_, _>>()?,
            _ => {
                return Err(shape(format!(
                    "{policy}: every statement needs an Action (NotAction is not supported)"
                )));
            }
        };
        actions.extend(listed.into_iter().map(str::to_owned));
    }
    if actions.is_empty() {
        return Err(shape(format!("{policy}: allows no action")));
    }
    Ok(actions)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn template() -> Template {
        Template::load(&crate::template_path()).expect("the project's template loads")
    }

    #[test]
    fn reads_the_levered_routes() {
        let routes = template().routes().expect("routes");
        let levered: Vec<_> = routes
            .iter()
            .filter(|r| r.path.starts_with("/api/v2/warehouse"))
            .map(|r| (r.method.as_str(), r.path.as_str(), r.binary.as_str()))
            .collect();
        assert_eq!(
            levered,
            [
                (
                    "DELETE",
                    "/api/v2/warehouse/connections",
                    "levered-delete-connection"
                ),
                (
                    "GET",
                    "/api/v2/warehouse/connections",
                    "levered-get-connection"
                ),
                (
                    "POST",
                    "/api/v2/warehouse/connections",
                    "levered-create-connection"
                ),
                (
                    "POST",
                    "/api/v2/warehouse/connections/test",
                    "levered-test-connection"
                ),
            ]
        );
        assert!(routes.iter().all(|r| r.authorized));
    }

    #[test]
    fn reads_the_cached_authorizer() {
        let authorizer = template().authorizer().expect("authorizer");
        assert_eq!(authorizer.binary, "authorizer");
        assert_eq!(authorizer.identity_header, "authorization");
        assert_eq!(authorizer.cache_seconds, 300);
    }

    #[test]
    fn reads_the_table_keys() {
        let table = template().table("CredentialsTable").expect("table");
        assert_eq!(
            table.key_schema,
            [
                ("pk".to_owned(), "HASH".to_owned()),
                ("sk".to_owned(), "RANGE".to_owned())
            ]
        );
    }

    #[test]
    fn reads_the_table_stream_and_the_event_bus() {
        let template = template();
        let table = template.table("CredentialsTable").expect("table");
        assert_eq!(
            table.stream_view_type.as_deref(),
            Some("NEW_AND_OLD_IMAGES")
        );
        template
            .expect_resource("StrongroomEvents", "AWS::Events::EventBus")
            .expect("the bus");
        assert!(
            template
                .expect_resource("CredentialsTable", "AWS::Events::EventBus")
                .is_err()
        );
    }

    #[test]
    fn reads_the_by_id_and_due_indexes() {
        let table = template().table("CredentialsTable").expect("table");
        let keys_only = |name: &str, hash: &str, range: &str| IndexSpec {
            name: name.to_owned(),
            key_schema: vec![
                (hash.to_owned(), "HASH".to_owned()),
                (range.to_owned(), "RANGE".to_owned()),
            ],
            projection_type: "KEYS_ONLY".to_owned(),
            non_key_attributes: vec![],
        };
        assert_eq!(
            table.global_secondary_indexes,
            [
                keys_only("ById", "pk", "id"),
                keys_only("Due", "due_shard", "due_at")
            ]
        );
        let type_of = |attribute: &str| {
            table
                .attribute_types
                .iter()
                .find(|(name, _)| name == attribute)
                .map(|(_, t)| t.as_str())
        };
        assert_eq!(type_of("id"), Some("S"));
        assert_eq!(type_of("due_shard"), Some("S"));
        assert_eq!(type_of("due_at"), Some("N"));
    }

    #[test]
    fn every_function_has_actions() {
        let template = template();
        let policies = template.function_policies().expect("policies");
        let binaries: BTreeSet<_> = template
            .function_binaries()
            .expect("binaries")
            .into_values()
            .collect();
        assert_eq!(policies.keys().cloned().collect::<BTreeSet<_>>(), binaries);
        // Testing an unsaved connection reaches no AWS service at all.
        let storeless = ["credible-test-connection"];
        for (binary, function) in &policies {
            assert_eq!(
                function.actions().is_empty(),
                storeless.contains(&binary.as_str()),
                "{binary}"
            );
            assert!(
                function.policies.iter().all(|p| !p.actions.is_empty()),
                "{binary} has a policy without actions"
            );
        }
    }

    #[test]
    fn levered_get_connection_only_reads_metadata() {
        let policies = template().function_policies().expect("policies");
        let get = &policies["levered-get-connection"];
        assert_eq!(get.function, "LeveredGetConnectionFunction");
        assert_eq!(
            get.actions(),
            BTreeSet::from([
                "dynamodb:BatchGetItem",
                "dynamodb:GetItem",
                "dynamodb:Query",
                "kms:Decrypt"
            ])
        );
    }

    /// The template reads like the API table: which managed policies each function holds.
    #[test]
    fn functions_hold_the_managed_policies_of_what_they_do() {
        let policies = template().function_policies().expect("policies");
        let held: BTreeMap<&str, Vec<&str>> = policies
            .iter()
            .map(|(binary, f)| {
                let names = f.policies.iter().map(|p| p.name.as_str()).collect();
                (binary.as_str(), names)
            })
            .collect();
        let read = "MetadataReadPolicy";
        let write = "MetadataWritePolicy";
        let expected = BTreeMap::from([
            (
                "authorizer",
                vec!["TokenKeyReadPolicy", "ApiTokenCheckPolicy"],
            ),
            (
                "levered-create-connection",
                vec![read, write, "SecretCreatePolicy", "SecretRetirePolicy"],
            ),
            ("levered-get-connection", vec![read]),
            ("levered-test-connection", vec![read, "SecretReadPolicy"]),
            (
                "levered-delete-connection",
                vec![read, write, "SecretRetirePolicy"],
            ),
            (
                "lightdash-create-credentials",
                vec![read, write, "SecretCreatePolicy"],
            ),
            ("lightdash-list-credentials", vec![read]),
            (
                "lightdash-update-credentials",
                vec![read, write, "SecretUpdatePolicy"],
            ),
            (
                "lightdash-delete-credentials",
                vec![read, write, "SecretRetirePolicy"],
            ),
            (
                "mielto-create-credential",
                vec![read, write, "SecretCreatePolicy"],
            ),
            ("mielto-list-credentials", vec![read]),
            ("mielto-get-credential", vec![read]),
            (
                "mielto-update-credential",
                vec![read, write, "SecretUpdatePolicy"],
            ),
            (
                "mielto-delete-credential",
                vec![read, write, "SecretRetirePolicy"],
            ),
            ("credible-list-connections", vec![read]),
            ("credible-get-connection", vec![read]),
            (
                "credible-create-connection",
                vec![read, write, "SecretCreatePolicy"],
            ),
            (
                "credible-update-connection",
                vec![read, write, "SecretUpdatePolicy"],
            ),
            (
                "credible-delete-connection",
                vec![read, write, "SecretRetirePolicy"],
            ),
            ("credible-test-connection", vec![]),
            (
                "strongroom-publish-events",
                vec!["ChangeStreamReadPolicy", "EventPublishPolicy"],
            ),
            (
                "credible-test-stored-connection",
                vec![read, "SecretReadPolicy"],
            ),
            (
                "strongroom-get-credential",
                vec![read, "SecretDescribePolicy"],
            ),
            (
                "strongroom-set-rotation",
                vec![read, write, "SecretDescribePolicy", "SecretRotationPolicy"],
            ),
            (
                "strongroom-delete-rotation",
                vec![read, write, "SecretRotationPolicy"],
            ),
            (
                "strongroom-rotate-credential",
                vec![read, write, "SecretRotationPolicy"],
            ),
            (
                "strongroom-rotation",
                vec![read, write, "SecretUpdatePolicy", "SecretRotationPolicy"],
            ),
            (
                "nile-create-database",
                vec![read, write, "SecretCreatePolicy"],
            ),
            ("nile-list-databases", vec![read]),
            ("nile-get-database", vec![read]),
            (
                "nile-delete-database",
                vec![read, write, "SecretReadPolicy", "SecretRetirePolicy"],
            ),
            (
                "nile-create-credential",
                vec![read, write, "SecretReadPolicy"],
            ),
            ("nile-list-credentials", vec![read]),
            (
                "nile-delete-credential",
                vec![read, write, "SecretReadPolicy"],
            ),
            (
                "nile-rotate-credentials",
                vec![read, write, "SecretReadPolicy"],
            ),
            (
                "strongroom-create-token",
                vec![read, write, "ApiTokenIssuePolicy"],
            ),
            ("strongroom-list-tokens", vec![read]),
            ("strongroom-revoke-token", vec![read, write]),
            (
                "strongroom-reveal-credential",
                vec![read, write, "SecretReadPolicy"],
            ),
            ("strongroom-list-audit", vec![read]),
            (
                "strongroom-sweeper",
                vec![
                    read,
                    write,
                    "SecretReadPolicy",
                    "SecretUpdatePolicy",
                    "SecretRetirePolicy",
                    "SecretInventoryPolicy",
                ],
            ),
        ]);
        assert_eq!(held, expected);
        let update = policies["mielto-update-credential"].actions();
        assert!(update.contains("secretsmanager:PutSecretValue"));
        assert!(!update.contains("secretsmanager:CreateSecret"));
    }

    fn one_function(policies: &str) -> Result<BTreeMap<String, FunctionPolicies>, TemplateError> {
        let source = format!(
            r#"
Resources:
  Shared:
    Type: AWS::IAM::ManagedPolicy
    Properties:
      PolicyDocument:
        Statement:
          Effect: Allow
          Action: dynamodb:GetItem
          Resource: "*"
  Table:
    Type: AWS::DynamoDB::Table
  Fn:
    Type: AWS::Serverless::Function
    Metadata:
      BuildProperties:
        Binary: fn
    Properties:
      Policies:
{policies}
"#
        );
        Template::parse(&source, "test.yaml")?.function_policies()
    }

    #[test]
    fn reads_inline_statements_and_managed_policies() {
        let policies = one_function(
            r#"        - !Ref Shared
        - Statement:
            - Effect: Allow
              Action: [secretsmanager:GetSecretValue, kms:Decrypt]
              Resource: "*"
              Condition: {StringEquals: {kms:ViaService: x}}
        - Ref: Shared"#,
        )
        .expect("policies");
        let function = &policies["fn"];
        let names: Vec<_> = function.policies.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["Shared", "FnInline2", "Shared"]);
        assert_eq!(
            function.actions(),
            BTreeSet::from([
                "dynamodb:GetItem",
                "kms:Decrypt",
                "secretsmanager:GetSecretValue"
            ])
        );
    }

    #[test]
    fn refuses_policies_whose_actions_it_cannot_read() {
        for (policies, expected) in [
            ("        - AWSXRayDaemonWriteAccess", "cannot be read"),
            (
                "        - DynamoDBReadPolicy: {TableName: !Ref Table}",
                "cannot be read",
            ),
            ("        - !Ref Table", "not an AWS::IAM::ManagedPolicy"),
            (
                "        - Statement: [{Effect: Deny, Action: '*', Resource: '*'}]",
                "only Allow",
            ),
            (
                "        - Statement: [{Effect: Allow, NotAction: 'iam:*', Resource: '*'}]",
                "NotAction",
            ),
        ] {
            let error = one_function(policies).expect_err(policies).to_string();
            assert!(error.contains(expected), "{policies}: {error}");
        }
    }
}
