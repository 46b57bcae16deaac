//! The API reference (`openapi/strongroom.yaml`) documents exactly the routes the template
//! deploys.

use std::collections::BTreeSet;
use std::path::Path;

use strongroom_local_stack::{Template, template_path};

const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

#[test]
fn the_openapi_document_and_the_template_have_the_same_routes() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../openapi/strongroom.yaml");
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
    let deployed: BTreeSet<String> = Template::load(&template_path())
        .expect("template")
        .routes()
        .expect("routes")
        .into_iter()
        .map(|r| format!("{} {}", r.method, r.path))
        .collect();
    assert_eq!(documented, deployed);
}
