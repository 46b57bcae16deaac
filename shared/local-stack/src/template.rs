//! Reading `infra/template.yaml`: the HTTP routes and the function binary behind each, the
//! authorizer and its cache, and the table definition.

use std::collections::BTreeMap;
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

/// A DynamoDB table's key schema: (attribute, `HASH`/`RANGE`) and attribute types.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableSpec {
    pub key_schema: Vec<(String, String)>,
    pub attribute_types: Vec<(String, String)>,
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
        let pairs =
            |list: &str, a: &str, b: &str| -> Result<Vec<(String, String)>, TemplateError> {
                get(properties, list)
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
            key_schema: pairs("KeySchema", "AttributeName", "KeyType")?,
            attribute_types: pairs("AttributeDefinitions", "AttributeName", "AttributeType")?,
        })
    }

    /// The binaries of every function, by logical id.
    pub fn function_binaries(&self) -> Result<BTreeMap<String, String>, TemplateError> {
        self.resources_of_type("AWS::Serverless::Function")
            .map(|(id, resource)| Ok((id.to_owned(), self.binary(id, resource)?)))
            .collect()
    }
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
}
