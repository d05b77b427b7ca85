//! `GET /api/v1/openapi.json`: the document describes every route the
//! server answers under `/api/v1` and the OpenID Connect endpoints, and
//! nothing else; it validates as OpenAPI 3.1 by openapi-spec-validator (a
//! validator no one here wrote: PyPI, pinned in bench/fuzz/, its python in
//! `FUZZ_PYTHON`), and its examples by openapi-schema-validator; it names
//! the rules in force and shows an example of every body. `/api/docs`, the page that
//! draws it for people, runs only this site's scripts (Playwright draws it
//! in Chromium: end2end/tests/api-reference.spec.ts).

use crate::helpers::{Spawn, body, spawn, spawn_app, spawn_production};
use serde_json::{Value, json};

const METHODS: [&str; 7] = ["get", "post", "put", "patch", "delete", "options", "head"];

async fn document(app: &crate::helpers::TestApp) -> Value {
    let response = app.get("/api/v1/openapi.json").await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/json");
    body(response).await
}

/// A request with `method` to `path`, its parameters filled with something:
/// the status and, for a JSON answer, its `code`.
async fn probe(app: &crate::helpers::TestApp, method: &str, path: &str) -> (u16, Option<String>) {
    let concrete = path.split('/').map(|s| if s.starts_with('{') { "x" } else { s }).collect::<Vec<_>>().join("/");
    let method = reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
    let response = app
        .client
        .request(method, app.url(&concrete))
        .header("content-type", "application/json")
        .body("{}")
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let code = response.json::<Value>().await.ok().and_then(|v| v["code"].as_str().map(str::to_owned));
    (status, code)
}

#[tokio::test]
async fn the_document_describes_every_route_and_nothing_else() {
    let app = spawn_app().await;
    let document = document(&app).await;
    assert!(document["openapi"].as_str().unwrap().starts_with("3.1."), "{}", document["openapi"]);
    let paths = document["paths"].as_object().unwrap();

    // Each documented operation reaches a handler: not a 405, not the
    // fallback's 404.
    let mut operations = 0;
    for (path, item) in paths {
        assert!(path.starts_with("/api/v1/") || path.starts_with("/oauth2/") || path.starts_with("/.well-known/"));
        for method in METHODS {
            let (status, code) = probe(&app, method, path).await;
            if item.get(method).is_some() {
                operations += 1;
                assert_ne!(status, 405, "{method} {path} is documented and not routed");
                assert!(!(status == 404 && code.as_deref() == Some("not_found")), "{method} {path}: the fallback");
            } else if method != "head" || item.get("get").is_none() {
                // HEAD is answered wherever GET is, by HTTP's rule.
                assert_eq!(status, 405, "{method} {path} is routed and not documented");
            }
        }
    }
    // The list the handlers were written for (and the development outbox's,
    // on in tests): a route dropped from the list drops out of both.
    assert_eq!(operations, 52, "{:#?}", paths.keys().collect::<Vec<_>>());

    // A route can only be added through `routes!`, which documents it: the
    // routers have no plain `.route(` call.
    for file in ["src/api_v1/mod.rs", "src/oidc.rs"] {
        let source = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/").to_owned() + file).unwrap();
        assert!(!source.contains(".route("), "{file} adds a route the document does not describe");
    }
}

#[tokio::test]
async fn the_development_routes_are_documented_only_where_they_exist() {
    let app = spawn_production().await;
    let document = document(&app).await;
    assert!(document["paths"].get("/api/v1/dev/outbox").is_none());
    assert_eq!(probe(&app, "get", "/api/v1/dev/outbox").await, (404, Some("not_found".into())));
    reference_page(&app).await;
}

/// `/api/docs` loads its renderer and its start from this site only, each
/// script with the nonce the page's policy names (so nothing injected runs),
/// and links the document for a reader without script.
async fn reference_page(app: &crate::helpers::TestApp) {
    let response = app.get("/api/docs").await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "text/html; charset=utf-8");
    let policy = response.headers()["content-security-policy"].to_str().unwrap().to_owned();
    let html = response.text().await.unwrap();
    let nonce = policy.split("'nonce-").nth(1).and_then(|rest| rest.split('\'').next()).unwrap();
    assert!(policy.contains("'strict-dynamic'") && !policy.contains("unsafe-inline"), "{policy}");
    let scripts: Vec<&str> = html.split("<script").skip(1).collect();
    assert_eq!(scripts.len(), 2, "{html}");
    for script in scripts {
        assert!(script.starts_with(&format!(" nonce=\"{nonce}\" src=\"/")), "{script}");
    }
    for link in html.split(" href=\"").skip(1).chain(html.split(" src=\"").skip(1)) {
        assert!(link.starts_with('/') && !link.starts_with("//"), "not from this site: {link}");
    }
    assert!(html.contains("href=\"/api/v1/openapi.json\""), "{html}");
    // Another request, another nonce.
    let again = app.get("/api/docs").await;
    assert!(!again.headers()["content-security-policy"].to_str().unwrap().contains(nonce));
}

#[tokio::test]
async fn the_reference_page_is_served_in_development_too() {
    reference_page(&spawn_app().await).await;
}

#[tokio::test]
async fn the_document_names_the_rules_in_force_and_every_error_code() {
    let app = spawn(Spawn {
        env: vec![("PASSWORD_MIN_LENGTH", "10".into()), ("PASSWORD_MAX_LENGTH", "30".into())],
        ..Spawn::default()
    })
    .await
    .unwrap();
    let document = document(&app).await;
    let schemas = &document["components"]["schemas"];
    let register = &schemas["RegisterForm"]["properties"];
    assert_eq!(register["mobile"]["pattern"], app::rules::MOBILE_PATTERN);
    assert_eq!(register["sms_code"]["pattern"], "^[0-9]{6}$");
    assert_eq!(
        (register["password"]["minLength"].clone(), register["password"]["maxLength"].clone()),
        (json!(10), json!(30))
    );
    assert_eq!(register["username"]["pattern"], app::rules::USERNAME_PATTERN);
    assert_eq!(schemas["SendSmsCodeForm"]["properties"]["purpose"]["enum"].as_array().unwrap().len(), 5);
    let codes: Vec<&str> =
        schemas["ErrorCode"]["enum"].as_array().unwrap().iter().map(|c| c.as_str().unwrap()).collect();
    let all: Vec<&str> = app::error::ErrorCode::ALL.iter().map(|c| c.as_str()).collect();
    assert_eq!(codes, all);
    assert!(codes.contains(&"sms_cooldown") && codes.contains(&"wrong_credentials"));
    // A limit's answer says when to come back.
    let limited = &document["paths"]["/api/v1/sms_codes"]["post"]["responses"]["429"];
    assert!(limited["headers"]["Retry-After"].is_object(), "{limited}");
    // Both ways to send the token.
    let schemes = &document["components"]["securitySchemes"];
    assert_eq!(
        (schemes["bearer"]["scheme"].as_str(), schemes["cookie"]["in"].as_str()),
        (Some("bearer"), Some("cookie"))
    );
    assert_eq!(document["paths"]["/api/v1/me"]["get"]["security"], json!([{ "bearer": [] }, { "cookie": [] }]));
}

/// openapi-spec-validator, the reference validator of the OpenAPI
/// Initiative's schemas, reads the document as served.
#[tokio::test]
async fn the_document_validates_as_openapi_3_1() {
    let Ok(python) = std::env::var("FUZZ_PYTHON") else {
        assert!(std::env::var("REQUIRE_SERVICES").is_err(), "FUZZ_PYTHON must be set when services are required");
        eprintln!("skipped: FUZZ_PYTHON is not set");
        return;
    };
    let app = spawn_app().await;
    let file = std::env::temp_dir().join(format!("openapi-{}.json", uuid::Uuid::new_v4()));
    std::fs::write(&file, serde_json::to_vec(&document(&app).await).unwrap()).unwrap();
    let run = |args: &[&str]| {
        let mut command = std::process::Command::new(&python);
        command.args(args).arg(&file);
        let out = command.output().unwrap();
        let said = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        (out.status.success(), said)
    };
    let document = run(&["-m", "openapi_spec_validator", "--schema", "3.1.0"]);
    // Each example against its schema, by openapi-schema-validator (the
    // checker is ours, the validation is not).
    let examples = run(&[concat!(env!("CARGO_MANIFEST_DIR"), "/../bench/fuzz/check_examples.py")]);
    let _ = std::fs::remove_file(&file);
    for (passed, said) in [document, examples] {
        assert!(passed && said.contains("OK"), "{said}");
    }
}

/// Every request body and every successful JSON answer shows an example:
/// a reader (and a client's author) sees a whole body, and Schemathesis
/// sends the examples first. A schema is shown when it, or its media type,
/// carries one, or when each of its properties (each item, each branch) is
/// shown; an enum and a boolean show their own values.
#[tokio::test]
async fn every_body_and_answer_has_an_example() {
    let app = spawn_app().await;
    let document = document(&app).await;
    let mut missing = Vec::new();
    for (path, item) in document["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            let mut bodies: Vec<(String, &Value)> = Vec::new();
            for (media, content) in operation["requestBody"]["content"].as_object().into_iter().flatten() {
                bodies.push((format!("{method} {path} request {media}"), content));
            }
            for (status, response) in operation["responses"].as_object().unwrap() {
                if !status.starts_with('2') {
                    continue;
                }
                if let Some(content) = response["content"].get("application/json") {
                    bodies.push((format!("{method} {path} {status}"), content));
                }
            }
            for (place, content) in bodies {
                if content.get("example").is_none() && content.get("examples").is_none() {
                    unexemplified(&document, &content["schema"], &place, &mut missing, 0);
                }
            }
        }
    }
    assert!(missing.is_empty(), "without an example:\n{}", missing.join("\n"));

    // And every example finds its place (a renamed type would leave one
    // behind): here the development outbox is on, so all of them.
    for name in server::api_v1::examples::schemas().keys() {
        assert!(document["components"]["schemas"][name]["examples"].is_array(), "no schema {name}");
    }
    for (path, method, status, _) in server::api_v1::examples::answers() {
        let answer = &document["paths"][path][method]["responses"][status]["content"]["application/json"];
        assert!(answer["example"].is_object(), "no answer {method} {path} {status}");
    }
}

/// Where `schema` (at `place`) shows no example, into `missing`.
fn unexemplified(document: &Value, schema: &Value, place: &str, missing: &mut Vec<String>, depth: usize) {
    assert!(depth < 16, "{place}: schemas nested too deep (a cycle?)");
    if schema.get("example").is_some() || schema.get("examples").is_some() || schema.get("enum").is_some() {
        return;
    }
    if let Some(target) = schema["$ref"].as_str() {
        let name = target.trim_start_matches("#/components/schemas/");
        let place = format!("{place} ({name})");
        return unexemplified(document, &document["components"]["schemas"][name], &place, missing, depth + 1);
    }
    for key in ["oneOf", "anyOf", "allOf"] {
        if let Some(branches) = schema[key].as_array() {
            for branch in branches.iter().filter(|b| b["type"] != "null") {
                unexemplified(document, branch, place, missing, depth + 1);
            }
            return;
        }
    }
    let types: Vec<&str> = match &schema["type"] {
        Value::String(one) => vec![one.as_str()],
        Value::Array(many) => many.iter().filter_map(Value::as_str).filter(|t| *t != "null").collect(),
        _ => vec![],
    };
    match types.as_slice() {
        ["boolean"] => {}
        ["object"] if schema["properties"].is_object() => {
            for (name, property) in schema["properties"].as_object().unwrap() {
                unexemplified(document, property, &format!("{place}.{name}"), missing, depth + 1);
            }
        }
        ["array"] => unexemplified(document, &schema["items"], &format!("{place}[]"), missing, depth + 1),
        _ => missing.push(place.to_owned()),
    }
}
