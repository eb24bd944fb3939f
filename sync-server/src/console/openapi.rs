//! The console's HTTP API as an OpenAPI 3.1 document, generated from the
//! handlers' annotations and the payload types (utoipa), served at
//! `GET /api/v1/openapi.json`. A test keeps the console's client in
//! `ui/src/console/api/http.ts` within it.

use axum::Json;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, SecurityScheme};
use utoipa::{Modify, OpenApi};

use super::{directory, plans, tasks};
use crate::error::ErrorAnswer;

/// The session cookie as a security scheme.
struct SessionCookie;

impl Modify for SessionCookie {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                super::COOKIE,
                "the console session (POST /api/v1/console/login); every request that is not GET or HEAD also carries X-CSRF-Token",
            ))),
        );
        components.add_security_scheme(
            "channel_key",
            SecurityScheme::Http(utoipa::openapi::security::Http::new(
                utoipa::openapi::security::HttpAuthScheme::Bearer,
            )),
        );
    }
}

/// The console API.
#[derive(Debug, OpenApi)]
#[openapi(
    info(
        title = "Fieldloop console API",
        description = "What the supervisors' console uses. The sync protocol of the tablets (CBOR) and the blob upload (tus) are described in docs/protocol.md.",
        version = "1"
    ),
    paths(
        super::post_login,
        super::get_session,
        super::post_logout,
        tasks::list,
        tasks::export,
        tasks::dashboard,
        tasks::record,
        tasks::review,
        tasks::create,
        super::print::record_pdf,
        super::print::notice_pdf,
        super::feedback::list,
        super::feedback::verify,
        super::feedback::revoke,
        directory::directory,
        directory::subjects,
        directory::handbook,
        directory::blob,
        directory::config,
        directory::set_active,
        directory::catalog,
        super::import::import,
        plans::list,
        plans::create,
        plans::import,
        plans::get_plan,
        plans::update,
        plans::delete,
        plans::fix,
        plans::entropy,
        plans::pools,
        plans::preview,
        plans::commit,
        plans::draws_list,
        plans::draw_pools,
        plans::conflicts,
        plans::declare,
        plans::withdraw,
        crate::leads::console::list,
        crate::leads::console::create,
        crate::leads::console::get_lead,
        crate::leads::console::post_step,
        crate::leads::console::start_task,
        crate::leads::console::package,
        crate::leads::console::package_received,
        crate::leads::console::package_accepted,
        crate::leads::console::keys,
        crate::leads::console::create_key,
        crate::leads::console::revoke_key,
        crate::leads::api::post_lead,
        crate::leads::api::get_lead,
        crate::rectify::get_list,
        crate::rectify::post_recheck,
    ),
    components(schemas(ErrorAnswer)),
    modifiers(&SessionCookie),
    tags(
        (name = "session", description = "signing in and out"),
        (name = "tasks", description = "the task list, export, dashboard, records and decisions"),
        (name = "feedback", description = "亮码检查: the businesses' feedback, verify codes and their revocation"),
        (name = "directory", description = "people, subjects, handbooks, files, settings"),
        (name = "plans", description = "plans, verifiable draws and joint visits, declared conflicts"),
        (name = "leads", description = "leads (案源线索): the inbox, steps, tasks from leads, evidence packages, channel keys; and the outside channels' API (`Authorization: Bearer <channel key>`)"),
        (name = "rectifications", description = "整改复查: rectification orders past their deadline and their re-check tasks"),
    )
)]
pub struct ConsoleApi;

/// `GET /api/v1/openapi.json`.
pub async fn openapi_json() -> Json<utoipa::openapi::OpenApi> {
    Json(ConsoleApi::openapi())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The paths of the document, with `{name}` placeholders.
    fn documented() -> Vec<(String, Vec<String>)> {
        let doc = serde_json::to_value(ConsoleApi::openapi()).expect("json");
        doc["paths"]
            .as_object()
            .expect("paths")
            .iter()
            .map(|(path, item)| {
                let methods = item
                    .as_object()
                    .expect("path item")
                    .keys()
                    .map(|m| m.to_uppercase())
                    .collect();
                (path.clone(), methods)
            })
            .collect()
    }

    fn matches(template: &str, path: &str) -> bool {
        let (t, p): (Vec<&str>, Vec<&str>) =
            (template.split('/').collect(), path.split('/').collect());
        t.len() == p.len()
            && t.iter()
                .zip(&p)
                .all(|(a, b)| a == b || (a.starts_with('{') && b.starts_with('{')))
    }

    /// Every call of the console's client (`#send("METHOD", "/path", …)` and
    /// `url("/path", …)` in `ui/src/console/api/http.ts`) is in the document.
    #[test]
    fn the_console_uses_nothing_that_is_not_in_the_document() {
        let path =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../ui/src/console/api/http.ts");
        let client = std::fs::read_to_string(&path).expect("ui/src/console/api/http.ts");
        let documented = documented();
        let mut calls = 0;
        for line in client.lines() {
            let (method, rest) = if let Some(i) = line.find("#send") {
                let rest = &line[i..];
                let Some(open) = rest.find('"') else { continue };
                let rest = &rest[open + 1..];
                let Some(close) = rest.find('"') else {
                    continue;
                };
                (rest[..close].to_owned(), rest[close + 1..].to_owned())
            } else if let Some(i) = line.find("this.url(") {
                ("GET".to_owned(), line[i + "this.url(".len()..].to_owned())
            } else {
                continue;
            };
            let Some(start) = rest.find(['"', '`']) else {
                continue;
            };
            let quote = rest[start..].chars().next().expect("quote");
            let body = &rest[start + 1..];
            let Some(end) = body.find(quote) else {
                continue;
            };
            // `${encodeURIComponent(id)}` → `{param}`.
            let mut tail = String::new();
            let mut rest = &body[..end];
            while let Some(i) = rest.find("${") {
                tail.push_str(&rest[..i]);
                tail.push_str("{param}");
                let Some(j) = rest[i..].find('}') else { break };
                rest = &rest[i + j + 1..];
            }
            tail.push_str(rest);
            let full = format!("/api/v1/console{tail}");
            calls += 1;
            assert!(
                documented
                    .iter()
                    .any(|(p, methods)| matches(p, &full) && methods.contains(&method)),
                "{method} {full} is not in the OpenAPI document"
            );
        }
        assert!(calls >= 14, "read {calls} calls from http.ts");
    }

    #[test]
    fn every_payload_type_is_in_the_document() {
        let doc = serde_json::to_value(ConsoleApi::openapi()).expect("json");
        let schemas = doc["components"]["schemas"].as_object().expect("schemas");
        for name in [
            "TaskPage",
            "ConsoleTaskRow",
            "Dashboard",
            "ConsoleRecord",
            "RecordView",
            "TimelineEntry",
            "FlagView",
            "DecisionRequest",
            "NewTaskRequest",
            "ConsoleDirectory",
            "SubjectHit",
            "HandbookView",
            "MapConfig",
            "SessionView",
            "LoginRequest",
            "ErrorAnswer",
        ] {
            assert!(schemas.contains_key(name), "{name} missing");
        }
        assert!(doc["components"]["securitySchemes"]["session"].is_object());
        for path in ["/api/v1/console/tasks", "/api/v1/console/tasks/export"] {
            let names: Vec<&str> = doc["paths"][path]["get"]["parameters"]
                .as_array()
                .expect("parameters")
                .iter()
                .filter_map(|p| p["name"].as_str())
                .collect();
            for name in ["status", "department", "q", "due_from", "sort"] {
                assert!(names.contains(&name), "{path} lacks {name}: {names:?}");
            }
        }
    }
}
