//! A route is declared once, in its family's route table: the template deploys exactly those
//! routes, to functions whose binaries the family crates build, and the API reference
//! (`openapi/strongroom.yaml`) documents exactly the routes the template deploys.

use std::collections::BTreeSet;
use std::path::Path;

use credential_model::ports::Backend;
use strongroom_local::declared_routes;
use strongroom_local_stack::{Template, template_path};

const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

fn repository() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

fn template() -> Template {
    Template::load(&template_path()).expect("the template loads")
}

/// `METHOD path` of every route the template deploys, and the binary behind it.
fn deployed() -> BTreeSet<(String, String)> {
    template()
        .routes()
        .expect("routes")
        .into_iter()
        .map(|r| (format!("{} {}", r.method, r.path), r.binary))
        .collect()
}

#[test]
fn the_template_deploys_exactly_the_routes_the_families_declare() {
    let declared: BTreeSet<(String, String)> = declared_routes()
        .into_iter()
        .map(|r| (format!("{} {}", r.method, r.path), r.binary.to_owned()))
        .collect();
    assert_eq!(deployed(), declared);
}

/// The `[[bin]]` names of every crate under `functions/`.
fn built_binaries() -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let functions = repository().join("functions");
    for family in std::fs::read_dir(&functions).expect("functions/") {
        let manifest = family.expect("an entry").path().join("Cargo.toml");
        let Ok(text) = std::fs::read_to_string(&manifest) else {
            continue;
        };
        let mut in_bin = false;
        for line in text.lines().map(str::trim) {
            if line.starts_with('[') {
                in_bin = line == "[[bin]]";
            } else if in_bin && let Some(name) = line.strip_prefix("name = ") {
                names.insert(name.trim_matches('"').to_owned());
            }
        }
    }
    names
}

#[test]
fn every_function_binary_is_in_the_template_and_every_template_function_is_built() {
    let in_template: BTreeSet<String> = template()
        .function_binaries()
        .expect("functions")
        .into_values()
        .collect();
    assert_eq!(in_template, built_binaries());
    let routed: BTreeSet<String> = declared_routes()
        .into_iter()
        .map(|r| r.binary.to_owned())
        .collect();
    let unrouted: Vec<&String> = in_template.difference(&routed).collect();
    assert_eq!(
        unrouted,
        [
            "authorizer",
            "strongroom-publish-events",
            "strongroom-rotation",
            "strongroom-sweeper"
        ],
        "only the authorizer, the stream's publisher, the rotation function and the sweeper have no route"
    );
}

/// The backends a route declares (the connections its sandbox opens during init) are the
/// services its function's IAM policies reach: DynamoDB for metadata, Secrets Manager for
/// secrets.
#[test]
fn every_route_declares_the_backends_its_policies_reach() {
    let policies = template().function_policies().expect("policies");
    for route in declared_routes() {
        let reached: BTreeSet<Backend> = policies[route.binary]
            .actions()
            .into_iter()
            .filter_map(|action| match action.split(':').next() {
                Some("dynamodb") => Some(Backend::Metadata),
                Some("secretsmanager") => Some(Backend::Secrets),
                _ => None,
            })
            .collect();
        let declared: BTreeSet<Backend> = route.backends.iter().copied().collect();
        assert_eq!(declared, reached, "{}", route.binary);
    }
}

#[test]
fn the_openapi_document_and_the_template_have_the_same_routes() {
    let path = repository().join("openapi/strongroom.yaml");
    let text = std::fs::read_to_string(&path).expect("the API reference exists");
    let document: serde_yaml_ng::Value = serde_yaml_ng::from_str(&text).expect("YAML");
    let documented: BTreeSet<String> = document["paths"]
        .as_mapping()
        .expect("paths")
        .iter()
        .flat_map(|(path, item)| {
            let path = path.as_str().expect("a path").to_owned();
            METHODS
                .iter()
                .filter(|m| item.get(**m).is_some())
                .map(move |m| format!("{} {path}", m.to_uppercase()))
        })
        .collect();
    let deployed: BTreeSet<String> = deployed().into_iter().map(|(route, _)| route).collect();
    assert_eq!(documented, deployed);
}

/// `make bench` starts every route's binary with `events/{binary}.json`: each route has one,
/// an API Gateway v2 event of that very route.
#[test]
fn every_route_has_a_sample_event_of_its_own_route() {
    for (route, binary) in deployed() {
        let path = repository().join("events").join(format!("{binary}.json"));
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("{route}: no sample event {}: {e}", path.display()));
        let event: serde_json::Value = serde_json::from_str(&text).expect("JSON");
        assert_eq!(event["routeKey"], route.as_str(), "{}", path.display());
        assert_eq!(event["requestContext"]["routeKey"], route.as_str());
        let method = route.split(' ').next().unwrap_or_default();
        assert_eq!(event["requestContext"]["http"]["method"], method);
    }
}
