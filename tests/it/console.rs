//! Signing in to the console through the real router on a real port: the
//! cookie's attributes, CSRF on what changes state, expiry, the lock after
//! repeated failures, and bad input, each answered with a code and
//! changing nothing.

use fieldloop_core::Role;
use fieldloop_server::console::{self, CSRF_HEADER, MAX_FAILED_LOGINS};
use fieldloop_server::store::ConsoleUser;
use fieldloop_tests::TestServer;
use reqwest::blocking::{Client, Response};
use serde_json::{Value, json};

const PASSWORD: &str = "correct horse battery";

fn server_with_supervisor() -> TestServer {
    let server = TestServer::start(0, Default::default());
    let user = ConsoleUser {
        id: "S-001".into(),
        name: "王主管".into(),
        role: Role::Supervisor,
        teams: vec!["T-QX-01".into()],
        departments: Vec::new(),
    };
    console::add_user(
        server.store.as_ref(),
        &user,
        PASSWORD,
        fieldloop_server::now_ms(),
    )
    .expect("user");
    server
}

fn login(client: &Client, server: &TestServer, user: &str, password: &str) -> Response {
    client
        .post(format!("{}/api/v1/console/login", server.url))
        .json(&json!({ "user": user, "password": password }))
        .send()
        .expect("login")
}

/// The session cookie's `name=value` and its attributes, from `Set-Cookie`.
fn set_cookie(response: &Response) -> Option<String> {
    response
        .headers()
        .get(reqwest::header::SET_COOKIE)
        .map(|v| v.to_str().expect("ascii").to_owned())
}

fn code(response: Response) -> (u16, String) {
    let status = response.status().as_u16();
    let body: Value = response.json().expect("a JSON error");
    (status, body["code"].as_str().unwrap_or_default().to_owned())
}

fn session(client: &Client, server: &TestServer, cookie: &str) -> Response {
    client
        .get(format!("{}/api/v1/console/session", server.url))
        .header(reqwest::header::COOKIE, cookie)
        .send()
        .expect("session")
}

fn logout(client: &Client, server: &TestServer, cookie: &str, csrf: Option<&str>) -> Response {
    let mut request = client
        .post(format!("{}/api/v1/console/logout", server.url))
        .header(reqwest::header::COOKIE, cookie);
    if let Some(csrf) = csrf {
        request = request.header(CSRF_HEADER, csrf);
    }
    request.send().expect("logout")
}

#[test]
fn a_supervisor_signs_in_reads_the_session_and_signs_out_with_the_csrf_token() {
    let server = server_with_supervisor();
    let client = Client::new();

    let answer = login(&client, &server, "S-001", PASSWORD);
    assert_eq!(answer.status().as_u16(), 200);
    let cookie = set_cookie(&answer).expect("a session cookie");
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/", "Max-Age=28800"] {
        assert!(cookie.contains(attribute), "{attribute} in {cookie}");
    }
    let pair = cookie.split(';').next().expect("name=value").to_owned();
    assert!(
        pair.starts_with("fieldloop_session=") && pair.len() > 60,
        "{pair}"
    );
    let body: Value = answer.json().expect("json");
    assert_eq!(body["user"]["id"], "S-001");
    assert_eq!(body["user"]["role"], "supervisor");
    assert_eq!(body["user"]["teams"], json!(["T-QX-01"]));
    let csrf = body["csrf"].as_str().expect("csrf").to_owned();
    assert_eq!(csrf.len(), 64);

    let read: Value = session(&client, &server, &pair).json().expect("json");
    assert_eq!(
        (read["user"]["name"].as_str(), read["csrf"].as_str()),
        (Some("王主管"), Some(csrf.as_str()))
    );

    // Signing out changes state: without the token, or with another, it is
    // refused and the session stays.
    assert_eq!(
        code(logout(&client, &server, &pair, None)),
        (403, "console.csrf".into())
    );
    assert_eq!(
        code(logout(&client, &server, &pair, Some(&"0".repeat(64)))),
        (403, "console.csrf".into())
    );
    assert_eq!(session(&client, &server, &pair).status().as_u16(), 200);

    let out = logout(&client, &server, &pair, Some(&csrf));
    assert_eq!(out.status().as_u16(), 204);
    let removal = set_cookie(&out).expect("the cookie is removed");
    assert!(removal.contains("Max-Age=0"), "{removal}");
    assert_eq!(
        code(session(&client, &server, &pair)),
        (401, "console.no_session".into())
    );
}

#[test]
fn wrong_names_and_passwords_are_not_told_apart_and_lock_the_account() {
    let server = server_with_supervisor();
    let client = Client::new();
    let unknown = login(&client, &server, "S-404", PASSWORD);
    assert!(set_cookie(&unknown).is_none());
    assert_eq!(code(unknown), (401, "console.bad_login".into()));

    for attempt in 1..=MAX_FAILED_LOGINS {
        let answer = login(&client, &server, "S-001", "wrong password!");
        assert!(set_cookie(&answer).is_none());
        if attempt < MAX_FAILED_LOGINS {
            assert_eq!(
                code(answer),
                (401, "console.bad_login".into()),
                "attempt {attempt}"
            );
        } else {
            let retry: u64 = answer.headers()[reqwest::header::RETRY_AFTER]
                .to_str()
                .expect("ascii")
                .parse()
                .expect("seconds");
            assert!((890..=900).contains(&retry), "Retry-After {retry}");
            assert_eq!(code(answer), (429, "console.locked".into()));
        }
    }
    // Locked: the right password does not open it either.
    let answer = login(&client, &server, "S-001", PASSWORD);
    assert!(set_cookie(&answer).is_none());
    assert_eq!(code(answer), (429, "console.locked".into()));
}

#[test]
fn missing_unknown_and_expired_sessions_and_bad_bodies_are_refused() {
    let server = server_with_supervisor();
    let client = Client::new();
    let none = client
        .get(format!("{}/api/v1/console/session", server.url))
        .send()
        .expect("session");
    assert_eq!(code(none), (401, "console.no_session".into()));
    assert_eq!(
        code(session(
            &client,
            &server,
            "fieldloop_session=../../etc/passwd"
        )),
        (401, "console.no_session".into())
    );

    // A session past its expiry, as the store holds it after eight hours.
    let now = fieldloop_server::now_ms();
    let token = "a".repeat(64);
    server
        .store
        .create_console_session(
            &fieldloop_server::auth::secret_hash(&token),
            "S-001",
            &"b".repeat(64),
            now - 9 * 3_600_000,
            now - 3_600_000,
        )
        .expect("session row");
    assert_eq!(
        code(session(
            &client,
            &server,
            &format!("fieldloop_session={token}")
        )),
        (401, "console.session_expired".into())
    );

    // The next sign-in clears sessions that ran out.
    assert_eq!(
        login(&client, &server, "S-001", PASSWORD).status().as_u16(),
        200
    );
    let expired = fieldloop_server::auth::secret_hash(&token);
    assert!(
        server
            .store
            .console_session(&expired)
            .expect("read")
            .is_none()
    );

    let url = format!("{}/api/v1/console/login", server.url);
    let malformed = client
        .post(&url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .body("{\"user\": \"S-001\", \"password\": ")
        .send()
        .expect("send");
    assert_eq!(code(malformed), (400, "http.bad_json".into()));
    let extra = client
        .post(&url)
        .json(&json!({ "user": "S-001", "password": PASSWORD, "role": "admin" }))
        .send()
        .expect("send");
    assert_eq!(code(extra), (400, "http.bad_json".into()));
    let long = login(&client, &server, "S-001", &"x".repeat(10_000));
    assert_eq!(code(long), (401, "console.bad_login".into()));
    // None of it counted against the account or opened a session.
    let account = server
        .store
        .console_account("S-001")
        .expect("read")
        .expect("S-001");
    assert_eq!((account.failed_logins, account.locked_until), (0, None));
}
