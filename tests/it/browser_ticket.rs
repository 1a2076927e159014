//! The page on a server whose reads need a token: the token entered in the
//! page's prompt is traded for a stream ticket, the live stream opens with
//! `?ticket=` (so a webhook shows within 2 s, not at the next poll), no
//! request URL ever holds the token, and when the stream drops after its
//! ticket expired the page comes back live with a fresh ticket.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use sqlx::Connection;
use tokio::net::{TcpListener, TcpStream};

use crate::browser_harness::Browser;
use crate::helpers::{ADMIN_TOKEN, TestApp};
use crate::on_both_backends;
use crate::payloads::{Run, minutes_ago};

const SECOND: Duration = Duration::from_secs(1);

/// A TCP proxy in front of the server whose open connections can be cut
/// (the listener stays, so the browser can reconnect through it).
struct Proxy {
    base: String,
    connections: Arc<Mutex<Vec<tokio::task::JoinHandle<()>>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Proxy {
    async fn start(target_base: &str) -> Proxy {
        let target = target_base.trim_start_matches("http://").to_owned();
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let connections = Arc::new(Mutex::new(Vec::new()));
        let kept = connections.clone();
        let task = tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                let target = target.clone();
                let handle = tokio::spawn(async move {
                    if let Ok(mut outbound) = TcpStream::connect(&target).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
                kept.lock().expect("lock").push(handle);
            }
        });
        Proxy { base, connections, task }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Drops every open connection (as a restarting proxy or a network blip would).
    fn cut(&self) {
        for connection in self.connections.lock().expect("lock").drain(..) {
            connection.abort();
        }
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.cut();
        self.task.abort();
    }
}

fn stream_urls(urls: &[String]) -> Vec<&String> {
    urls.iter().filter(|u| u.contains("/api/events") && !u.contains("/api/events/ticket")).collect()
}

on_both_backends! {
    async fn with_a_token_the_page_streams_through_a_ticket(app: TestApp) {
        let private = TestApp::spawn_replica_with(&app, &app.database_url, |s| s.public_read = Some(false)).await;
        let anonymous = private.client.get(private.url("/api/builds")).send().await.expect("sent");
        assert_eq!(anonymous.status().as_u16(), 401, "reads need a token on this server");
        private.deliver_json("workflow_run", &Run::new(1, minutes_ago(10)).at("completed", Some("success"), 60).payload(), "stored").await;

        let proxy = Proxy::start(&private.base).await;
        let Some(browser) = Browser::start("UTC").await else { return };
        browser.client.goto(&proxy.url("/")).await.expect("open page");
        browser.expect("!document.getElementById('token-form').hidden \
            && document.getElementById('banner').textContent.includes('API answered 401 — enter a token')",
            10 * SECOND, "document.getElementById('banner').textContent").await;
        // Without a token the page tried the plain stream (refused with 401).
        let before = browser.request_urls().await;
        assert!(before.iter().any(|u| u.ends_with("/api/events")), "{before:#?}");
        browser.client.execute(&format!("document.getElementById('token').value = '{ADMIN_TOKEN}';
            document.querySelector('#token-form button[type=submit]').click(); return true;"), vec![]).await.expect("token");
        browser.expect("document.getElementById('live-text').textContent === 'live' \
            && document.querySelectorAll('#builds tbody tr').length === 1", 10 * SECOND,
            "[document.getElementById('live-text').textContent, document.getElementById('banner').textContent]").await;
        browser.expect("document.getElementById('banner').hidden", 5 * SECOND,
            "document.getElementById('banner').textContent").await;
        // Before the token, the browser logged the 401 answers (and only those).
        let early = browser.console_errors().await;
        assert!(early.iter().all(|m| m.contains("401")), "{early:#?}");

        // A webhook: the row arrives through the stream (polling is every 30 s).
        browser.client.execute("window.__sameDocument = true; return true;", vec![]).await.expect("mark");
        let response = private.deliver("workflow_run",
            &serde_json::to_vec(&Run::new(2, minutes_ago(1)).at("completed", Some("failure"), 30).payload()).expect("json")).await;
        assert_eq!(response.status().as_u16(), 202);
        browser.expect("document.querySelectorAll('#builds tbody tr').length === 2", 2 * SECOND,
            "document.getElementById('builds-count').textContent").await;
        assert_eq!(browser.eval("document.getElementById('live-text').textContent").await, "live");
        assert_eq!(browser.eval("window.__sameDocument === true").await, true, "no reload");

        // Every request the browser sent since the token: the stream was opened with a ticket,
        // and the token is in no URL (it travels only in the Authorization header).
        let urls = browser.request_urls_until("/api/events?ticket=").await;
        let streams = stream_urls(&urls);
        assert!(!streams.is_empty(), "the stream was opened: {urls:#?}");
        assert!(streams.iter().all(|u| u.contains("/api/events?ticket=")), "{streams:#?}");
        assert!(urls.iter().all(|u| !u.contains(ADMIN_TOKEN)), "the token is in a URL: {urls:#?}");
        let entries = browser.eval("performance.getEntriesByType('resource').map(e => e.name)").await;
        assert!(!entries.to_string().contains(ADMIN_TOKEN), "{entries}");
        assert_eq!(browser.console_errors().await, Vec::<String>::new());
        let first_ticket = streams.last().map(|u| (*u).clone()).expect("a stream URL");

        // The ticket expires (made so in the database), then the connection
        // drops: the browser's own reconnect presents the expired ticket and
        // gets 401, so the page fetches a fresh ticket and is live again.
        sqlx::any::install_default_drivers();
        let mut db = sqlx::AnyConnection::connect(&app.database_url).await.expect("connect");
        sqlx::query("UPDATE stream_tickets SET expires_at = 0").execute(&mut db).await.expect("expire tickets");
        proxy.cut();
        browser.expect("document.getElementById('live').dataset.state !== 'live'", 5 * SECOND,
            "document.getElementById('live-text').textContent").await;
        browser.expect("document.getElementById('live-text').textContent === 'live'", 20 * SECOND,
            "document.getElementById('live-text').textContent").await;
        let urls = browser.request_urls().await;
        let streams = stream_urls(&urls);
        assert!(urls.iter().any(|u| u.ends_with("/api/events/ticket")), "a fresh ticket was asked for: {urls:#?}");
        let last = streams.last().expect("a new stream");
        assert!(last.contains("/api/events?ticket=") && **last != first_ticket, "a new ticket: {streams:#?}");
        assert!(urls.iter().all(|u| !u.contains(ADMIN_TOKEN)), "the token is in a URL: {urls:#?}");
        let response = private.deliver("workflow_run",
            &serde_json::to_vec(&Run::new(3, minutes_ago(1)).at("completed", Some("success"), 20).payload()).expect("json")).await;
        assert_eq!(response.status().as_u16(), 202);
        browser.expect("document.querySelectorAll('#builds tbody tr').length === 3", 2 * SECOND,
            "document.getElementById('builds-count').textContent").await;
        // The console saw the cut stream and the expired ticket's 401, both on the old ticket, nothing else.
        let errors = browser.console_errors().await;
        assert!(errors.iter().any(|m| m.starts_with(&first_ticket) && m.contains("401")), "{errors:#?}");
        assert!(errors.iter().all(|m| m.starts_with(&first_ticket)
            && (m.contains("401") || m.contains("ERR_INCOMPLETE_CHUNKED_ENCODING"))), "{errors:#?}");
        browser.close().await;
    }
}
