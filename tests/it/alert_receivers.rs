//! Real receivers for alert tests, each on a free loopback port: an SMTP
//! server (a small tokio implementation of the commands lettre uses:
//! EHLO/HELO, MAIL, RCPT, DATA, RSET, NOOP, QUIT) that keeps every message,
//! and an HTTP server standing in for Slack and for generic webhooks that
//! records every request and answers a settable status.

use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode, Uri};
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio::time::Instant;

/// One message the SMTP server accepted.
#[derive(Debug, Clone)]
pub struct Mail {
    pub from: String,
    /// Envelope recipients (`RCPT TO`).
    pub to: Vec<String>,
    /// The message as sent (headers and MIME body), dot-unstuffed.
    pub data: String,
    /// `user\0password` from `AUTH PLAIN`, if the client authenticated.
    pub auth: Option<String>,
    pub at: Instant,
}

impl Mail {
    /// Subject, text part and HTML part, decoded.
    pub fn parts(&self) -> (String, String, String) {
        let message =
            mail_parser::MessageParser::default().parse(self.data.as_bytes()).expect("a MIME message");
        assert_eq!(message.text_body_count(), 1, "one text part: {}", self.data);
        assert_eq!(message.html_body_count(), 1, "one HTML part: {}", self.data);
        (
            message.subject().unwrap_or_default().to_owned(),
            message.body_text(0).unwrap_or_default().into_owned(),
            message.body_html(0).unwrap_or_default().into_owned(),
        )
    }
}

/// A running SMTP server.
pub struct SmtpSink {
    pub port: u16,
    mails: Arc<Mutex<Vec<Mail>>>,
    task: tokio::task::JoinHandle<()>,
}

impl SmtpSink {
    pub async fn start() -> SmtpSink {
        Self::start_on(0).await
    }

    /// Starts on `port` (0: any free port).
    pub async fn start_on(port: u16) -> SmtpSink {
        let listener = TcpListener::bind(("127.0.0.1", port)).await.expect("bind smtp");
        let port = listener.local_addr().expect("addr").port();
        let mails = Arc::new(Mutex::new(Vec::new()));
        let store = mails.clone();
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let store = store.clone();
                tokio::spawn(async move {
                    let _ = session(stream, store).await;
                });
            }
        });
        SmtpSink { port, mails, task }
    }

    pub fn mails(&self) -> Vec<Mail> {
        self.mails.lock().expect("lock").clone()
    }

    /// Waits up to `timeout` until at least `n` messages arrived; answers them.
    pub async fn wait_for(&self, n: usize, timeout: Duration) -> Vec<Mail> {
        let deadline = Instant::now() + timeout;
        loop {
            let mails = self.mails();
            if mails.len() >= n || Instant::now() >= deadline {
                return mails;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn session(stream: tokio::net::TcpStream, mails: Arc<Mutex<Vec<Mail>>>) -> std::io::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read);
    write.write_all(b"220 sink.test ESMTP test sink\r\n").await?;
    let (mut from, mut to, mut auth) = (String::new(), Vec::new(), None);
    let mut line = String::new();
    loop {
        line.clear();
        if lines.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        let command = line.trim_end().to_owned();
        let upper = command.to_ascii_uppercase();
        let reply: &[u8] = if upper.starts_with("EHLO") {
            b"250-sink.test\r\n250-8BITMIME\r\n250-AUTH PLAIN\r\n250 SMTPUTF8\r\n"
        } else if upper.starts_with("HELO") || upper.starts_with("NOOP") {
            b"250 ok\r\n"
        } else if upper.starts_with("RSET") {
            from.clear();
            to.clear();
            b"250 ok\r\n"
        } else if upper.starts_with("AUTH PLAIN ") {
            let decoded = base64_decode(&command["AUTH PLAIN ".len()..]);
            auth = Some(decoded.trim_start_matches('\0').to_owned());
            b"235 authenticated\r\n"
        } else if upper.starts_with("MAIL FROM:") {
            from = address(&command["MAIL FROM:".len()..]);
            b"250 ok\r\n"
        } else if upper.starts_with("RCPT TO:") {
            to.push(address(&command["RCPT TO:".len()..]));
            b"250 ok\r\n"
        } else if upper == "DATA" {
            write.write_all(b"354 end with <CRLF>.<CRLF>\r\n").await?;
            let mut data = String::new();
            loop {
                line.clear();
                if lines.read_line(&mut line).await? == 0 {
                    return Ok(());
                }
                if line == ".\r\n" || line == ".\n" {
                    break;
                }
                data.push_str(line.strip_prefix('.').unwrap_or(&line));
            }
            let mail = Mail {
                from: std::mem::take(&mut from),
                to: std::mem::take(&mut to),
                data,
                auth: auth.clone(),
                at: Instant::now(),
            };
            mails.lock().expect("lock").push(mail);
            b"250 queued\r\n"
        } else if upper.starts_with("QUIT") {
            write.write_all(b"221 bye\r\n").await?;
            return Ok(());
        } else {
            b"502 not implemented\r\n"
        };
        write.write_all(reply).await?;
    }
}

/// Standard base64 (as `AUTH PLAIN` uses) to text.
fn base64_decode(text: &str) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut bits = 0u32;
    let mut count = 0;
    let mut out = Vec::new();
    for c in text.trim().bytes().filter(|c| *c != b'=') {
        let Some(value) = ALPHABET.iter().position(|a| *a == c) else { continue };
        bits = (bits << 6) | value as u32;
        count += 6;
        if count >= 8 {
            count -= 8;
            out.push((bits >> count) as u8);
            bits &= (1 << count) - 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn address(text: &str) -> String {
    let text = text.trim();
    let end = text.find('>').map_or(text.len(), |i| i + 1);
    text[..end].trim_matches(|c| c == '<' || c == '>').to_owned()
}

/// One request the HTTP receiver got.
#[derive(Debug, Clone)]
pub struct Hit {
    pub path: String,
    pub headers: HeaderMap,
    pub body: Bytes,
    pub at: Instant,
}

impl Hit {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("a JSON body")
    }
}

/// A running HTTP receiver.
pub struct HttpSink {
    pub base: String,
    hits: Arc<Mutex<Vec<Hit>>>,
    status: Arc<AtomicU16>,
    task: tokio::task::JoinHandle<()>,
}

impl HttpSink {
    pub async fn start() -> HttpSink {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind http");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let hits = Arc::new(Mutex::new(Vec::new()));
        let status = Arc::new(AtomicU16::new(200));
        let (h, s) = (hits.clone(), status.clone());
        let app = axum::Router::new().fallback(move |uri: Uri, headers: HeaderMap, body: Bytes| {
            let (h, s) = (h.clone(), s.clone());
            async move {
                h.lock().expect("lock").push(Hit {
                    path: uri.path().to_owned(),
                    headers,
                    body,
                    at: Instant::now(),
                });
                let code = StatusCode::from_u16(s.load(Ordering::SeqCst)).unwrap_or(StatusCode::OK);
                (code, if code.is_success() { "ok" } else { "receiver_says_no" })
            }
        });
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        HttpSink { base, hits, status, task }
    }

    /// Makes every later answer `code`.
    pub fn answer(&self, code: u16) {
        self.status.store(code, Ordering::SeqCst);
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Requests received on `path`.
    pub fn hits(&self, path: &str) -> Vec<Hit> {
        self.hits.lock().expect("lock").iter().filter(|h| h.path == path).cloned().collect()
    }

    /// Waits up to `timeout` until `path` got at least `n` requests.
    pub async fn wait_for(&self, path: &str, n: usize, timeout: Duration) -> Vec<Hit> {
        let deadline = Instant::now() + timeout;
        loop {
            let hits = self.hits(path);
            if hits.len() >= n || Instant::now() >= deadline {
                return hits;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for HttpSink {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A loopback port nothing listens on (bound, then released).
pub fn dead_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("addr").port()
}

/// Posts an alert configuration; answers the status and body.
pub async fn configure(app: &crate::helpers::TestApp, config: &Value) -> (u16, Value) {
    let response =
        app.admin.post(app.url("/api/alerts/configure")).json(config).send().await.expect("request sent");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// Posts a configuration that must be accepted.
pub async fn configure_ok(app: &crate::helpers::TestApp, config: &Value) -> Value {
    let (status, body) = configure(app, config).await;
    assert_eq!(status, 200, "{body}");
    body
}

/// `/api/alerts` entries for `query` (e.g. `?kind=recovered`), newest first.
pub async fn alert_list(app: &crate::helpers::TestApp, query: &str) -> Vec<Value> {
    let (status, body) = app.get(&format!("/api/alerts{query}")).await;
    assert_eq!(status, 200, "{body}");
    body["alerts"].as_array().expect("alerts").clone()
}

/// Polls `/api/alerts{query}` until `done` accepts the list or `timeout`
/// passes; answers the last list.
pub async fn wait_for_alerts(
    app: &crate::helpers::TestApp,
    query: &str,
    timeout: Duration,
    done: impl Fn(&[Value]) -> bool,
) -> Vec<Value> {
    let deadline = Instant::now() + timeout;
    loop {
        let list = alert_list(app, query).await;
        if done(&list) || Instant::now() >= deadline {
            return list;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// How long to keep watching to be sure nothing more arrives: several
/// sender polls (100 ms in tests) and wake-ups.
pub const QUIET: Duration = Duration::from_millis(1500);
/// The bound from delivery to receiver.
pub const FIVE_SECONDS: Duration = Duration::from_secs(5);
