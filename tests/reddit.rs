//! Reddit from a real HTTP server on 127.0.0.1 serving recorded API
//! listings: the app signs in with client credentials, signs in again when
//! a 401 says its token is gone, waits out a 429; the complaint, its
//! crosspost and an angry comment are read, a malformed and a removed
//! comment skipped; polled again, nothing is read twice.

mod common;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::IntoResponse;
use common::*;
use std::sync::{Arc, Mutex};

#[derive(Default)]
struct Reddit {
    sign_ins: Vec<String>,
    /// (path, bearer token) of every listing asked for.
    listings: Vec<(String, String)>,
    revoked_once: bool,
    limited_once: bool,
}

async fn handle(
    State(site): State<Arc<Mutex<Reddit>>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: String,
) -> impl IntoResponse {
    let mut r = site.lock().unwrap();
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    let mut out = HeaderMap::new();
    out.insert("content-type", "application/json".parse().unwrap());
    if method == Method::POST && uri.path() == "/api/v1/access_token" {
        if header("authorization") != "Basic Y2lkOmNzZWM=" || body != "grant_type=client_credentials" {
            return (StatusCode::UNAUTHORIZED, out, "{\"error\": 401}".to_owned());
        }
        r.sign_ins.push(header("user-agent"));
        let token = format!("tok-{}", r.sign_ins.len());
        return (
            StatusCode::OK,
            out,
            format!(
                "{{\"access_token\": \"{token}\", \"token_type\": \"bearer\", \"expires_in\": 86400, \"scope\": \"*\"}}"
            ),
        );
    }
    let token = header("authorization").trim_start_matches("Bearer ").to_owned();
    r.listings.push((uri.path().to_owned(), token.clone()));
    let file = match uri.path() {
        "/r/indonesia/new" => "new.json",
        "/r/indonesia/comments" => "comments.json",
        _ => return (StatusCode::NOT_FOUND, out, String::new()),
    };
    if !r.revoked_once {
        r.revoked_once = true;
        return (
            StatusCode::UNAUTHORIZED,
            out,
            "{\"message\": \"Unauthorized\", \"error\": 401}".into(),
        );
    }
    if token != format!("tok-{}", r.sign_ins.len()) {
        return (
            StatusCode::UNAUTHORIZED,
            out,
            "{\"message\": \"Unauthorized\", \"error\": 401}".into(),
        );
    }
    if file == "comments.json" && !r.limited_once {
        r.limited_once = true;
        out.insert("retry-after", "1".parse().unwrap());
        return (StatusCode::TOO_MANY_REQUESTS, out, String::new());
    }
    out.insert("x-ratelimit-remaining", "598.0".parse().unwrap());
    out.insert("x-ratelimit-reset", "320".parse().unwrap());
    let body = std::fs::read_to_string(repo().join("fixtures/reddit").join(file)).unwrap();
    (StatusCode::OK, out, body)
}

#[test]
fn subreddits_are_read_once_with_app_credentials() {
    let site = Arc::new(Mutex::new(Reddit::default()));
    let port = serve(Router::new().fallback(handle).with_state(site.clone()));
    let source = format!(
        "[[sources]]\ntype = \"reddit\"\nname = \"reddit\"\nsubreddits = [\"r/indonesia\"]\n\
         client_id_env = \"EARSHOT_TEST_REDDIT_ID\"\nclient_secret_env = \"EARSHOT_TEST_REDDIT_SECRET\"\n\
         api = \"http://127.0.0.1:{port}\"\ntoken_url = \"http://127.0.0.1:{port}/api/v1/access_token\"\nonce = true\n"
    );
    let w = Workdir::with_sources(&source, "");
    let run = || {
        w.run_with_env(&[
            ("EARSHOT_TEST_REDDIT_ID", "cid"),
            ("EARSHOT_TEST_REDDIT_SECRET", "csec"),
        ])
    };
    let out = run();
    assert_ok(&out);
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(!log.contains("csec") && !log.contains("tok-"), "no secrets in the log");

    let tickets = w.tickets();
    let first: Vec<&str> = tickets.iter().map(|t| t["post_ids"][0].as_str().unwrap()).collect();
    assert!(first.contains(&"reddit:t3_1h8q1aa"), "{first:?}");
    let complaint = tickets
        .iter()
        .find(|t| t["post_ids"][0] == "reddit:t3_1h8q1aa")
        .unwrap();
    assert_eq!(complaint["provider"], "rs-harapan-sehat");
    assert_eq!(complaint["channels"][0], "reddit");
    assert_eq!(complaint["posts"][0]["author"], "u/dewi_l");
    assert_eq!(
        complaint["posts"][0]["url"],
        "https://www.reddit.com/r/indonesia/comments/1h8q1aa/rs_harapan_sehat_menolak_memberikan_rekam_medis/"
    );
    // The crosspost joined the original's incident.
    let incidents = w.command(&["incidents", "list", "--json", "--status", "all"]);
    let incidents = lines(&String::from_utf8_lossy(&incidents.stdout));
    let all_posts: Vec<String> = incidents
        .iter()
        .flat_map(|i| {
            i["post_ids"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| p.as_str().unwrap().to_owned())
        })
        .collect();
    let inc = incidents
        .iter()
        .find(|i| i["post_ids"][0] == "reddit:t3_1h8q1aa")
        .unwrap();
    assert!(
        inc["post_ids"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p == "reddit:t3_1h8q2ka"),
        "{inc}"
    );
    // The angry comment was read; the soto question is no incident; the
    // removed and the malformed comments are skipped.
    assert!(all_posts.iter().any(|p| p == "reddit:t1_m1a0ab9"), "{all_posts:?}");
    assert!(
        !all_posts
            .iter()
            .any(|p| p.contains("1h8q0zb") || p.contains("m1a0aa0") || p.contains("m1a0ab1"))
    );

    {
        let r = site.lock().unwrap();
        assert_eq!(r.sign_ins.len(), 2, "signed in again after the 401");
        assert!(
            r.sign_ins[0].starts_with("earshot/"),
            "a descriptive User-Agent: {:?}",
            r.sign_ins
        );
        let asked: Vec<&str> = r.listings.iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(
            asked,
            [
                "/r/indonesia/new",
                "/r/indonesia/new",
                "/r/indonesia/comments",
                "/r/indonesia/new",
                "/r/indonesia/comments"
            ]
        );
    }

    // Again: the same listings, nothing new.
    let before = site.lock().unwrap().listings.len();
    assert_ok(&run());
    assert_eq!(keys(&w.tickets()), keys(&tickets));
    let r = site.lock().unwrap();
    assert_eq!(r.listings.len(), before + 2);
}

/// (path?query, User-Agent, Authorization) of each request.
type Asked = Arc<Mutex<Vec<(String, String, String)>>>;

/// The public site's listings, for the public-mode test.
async fn public_site(State(asked): State<Asked>, uri: Uri, headers: HeaderMap) -> impl IntoResponse {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    asked
        .lock()
        .unwrap()
        .push((uri.to_string(), header("user-agent"), header("authorization")));
    let file = match uri.path() {
        "/search.json" => "search.json",
        "/r/indonesia/new.json" => "new.json",
        _ => return (StatusCode::NOT_FOUND, String::new()),
    };
    (
        StatusCode::OK,
        std::fs::read_to_string(repo().join("fixtures/reddit").join(file)).unwrap(),
    )
}

#[test]
fn without_an_app_the_public_listings_and_a_search_are_read() {
    let asked = Arc::new(Mutex::new(Vec::new()));
    let port = serve(Router::new().fallback(public_site).with_state(asked.clone()));
    let source = format!(
        "[[sources]]\ntype = \"reddit\"\nname = \"reddit\"\nsubreddits = [\"r/indonesia\"]\ncomments = false\n\
         searches = [\"Klinik Medika Utama\"]\napi = \"http://127.0.0.1:{port}\"\nonce = true\n"
    );
    let w = Workdir::with_sources(&source, "");
    assert_ok(&w.run());
    let asked = asked.lock().unwrap().clone();
    let targets: Vec<&str> = asked.iter().map(|(u, _, _)| u.as_str()).collect();
    assert_eq!(
        targets,
        [
            "/r/indonesia/new.json?limit=100&raw_json=1",
            "/search.json?limit=100&raw_json=1&q=Klinik%20Medika%20Utama&sort=new&type=link"
        ]
    );
    // A descriptive User-Agent, as Reddit asks; no token.
    assert!(
        asked
            .iter()
            .all(|(_, ua, auth)| ua.starts_with("earshot/") && auth.is_empty())
    );
    let tickets = w.tickets();
    assert!(
        tickets.iter().any(|t| t["post_ids"][0] == "reddit:t3_1h9c7zb"),
        "the search's complaint: {tickets:?}"
    );
    // Again: the search's cursor holds; nothing new.
    assert_ok(&w.run());
    assert_eq!(keys(&w.tickets()), keys(&tickets));
}
