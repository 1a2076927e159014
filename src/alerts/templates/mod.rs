//! Message templates (minijinja): per channel, one file per part, shipped in
//! the binary and overridable from `--alert-templates-dir`.
//!
//! Names: `email/subject.txt`, `email/body.txt`, `email/body.html`,
//! `slack/message.json`, `webhook/body.json`. A kind-specific file
//! (`email/build_failed/subject.txt`) in the override folder wins over the
//! general one, and any file there wins over the shipped one. Escaping
//! follows the file's extension: `.html` escapes HTML, `.json` writes every
//! value as a JSON value, `.txt` writes text as is; Slack text also goes
//! through the `mrkdwn` filter (escapes `&`, `<`, `>`). The values are
//! [`TemplateContext`]. This module must not send anything.

use std::path::{Path, PathBuf};

use minijinja::{Environment, ErrorKind};

use super::message::TemplateContext;

/// The shipped templates, by name.
const SHIPPED: &[(&str, &str)] = &[
    ("email/subject.txt", include_str!("email/subject.txt")),
    ("email/body.txt", include_str!("email/body.txt")),
    ("email/body.html", include_str!("email/body.html")),
    ("slack/message.json", include_str!("slack/message.json")),
    ("webhook/body.json", include_str!("webhook/body.json")),
];

/// A rendered email.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailParts {
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// The template set.
#[derive(Debug)]
pub struct Templates {
    env: Environment<'static>,
}

/// Escapes text for Slack mrkdwn: `&`, `<` and `>` become entities.
pub fn mrkdwn(text: String) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

impl Templates {
    /// Loads the shipped templates, overridden by files in `dir` if given,
    /// and compiles every template in use so that a broken override stops
    /// start-up instead of an alert.
    ///
    /// Errors: an override cannot be read or does not compile.
    pub fn load(dir: Option<&Path>) -> anyhow::Result<Templates> {
        let dir: Option<PathBuf> = dir.map(Path::to_path_buf);
        let mut env = Environment::new();
        env.add_filter("mrkdwn", mrkdwn);
        env.set_loader(move |name| {
            if let Some(dir) = &dir {
                let path = dir.join(name);
                if name.split('/').all(|part| !part.is_empty() && part != "..") && path.is_file() {
                    return std::fs::read_to_string(&path).map(Some).map_err(|err| {
                        minijinja::Error::new(
                            ErrorKind::InvalidOperation,
                            format!("cannot read {}: {err}", path.display()),
                        )
                    });
                }
            }
            Ok(SHIPPED.iter().find(|(n, _)| *n == name).map(|(_, text)| (*text).to_owned()))
        });
        let templates = Templates { env };
        for (name, _) in SHIPPED {
            templates
                .env
                .get_template(name)
                .map_err(|err| anyhow::anyhow!("alert template {name}: {err:#}"))?;
        }
        Ok(templates)
    }

    /// Renders `channel/part` for `kind` (the kind's own file if there is one).
    fn render(&self, channel: &str, part: &str, ctx: &TemplateContext) -> Result<String, String> {
        let specific = format!("{channel}/{}/{part}", ctx.kind);
        let template = match self.env.get_template(&specific) {
            Ok(t) => t,
            Err(err) if err.kind() == ErrorKind::TemplateNotFound => self
                .env
                .get_template(&format!("{channel}/{part}"))
                .map_err(|err| format!("template {channel}/{part}: {err}"))?,
            Err(err) => return Err(format!("template {specific}: {err}")),
        };
        template.render(ctx).map_err(|err| format!("template {channel}/{part}: {err}"))
    }

    /// Subject (one line), text and HTML of an email.
    pub fn email(&self, ctx: &TemplateContext) -> Result<EmailParts, String> {
        let subject = self.render("email", "subject.txt", ctx)?;
        let subject: String =
            subject.lines().map(str::trim).filter(|l| !l.is_empty()).collect::<Vec<_>>().join(" ");
        Ok(EmailParts {
            subject,
            text: self.render("email", "body.txt", ctx)?,
            html: self.render("email", "body.html", ctx)?,
        })
    }

    /// The Slack message (JSON text, checked to parse).
    pub fn slack(&self, ctx: &TemplateContext) -> Result<String, String> {
        json_checked(self.render("slack", "message.json", ctx)?, "slack/message.json")
    }

    /// The generic webhook body (JSON text, checked to parse).
    pub fn webhook(&self, ctx: &TemplateContext) -> Result<String, String> {
        json_checked(self.render("webhook", "body.json", ctx)?, "webhook/body.json")
    }
}

fn json_checked(text: String, name: &str) -> Result<String, String> {
    match serde_json::from_str::<serde_json::Value>(&text) {
        Ok(_) => Ok(text),
        Err(err) => Err(format!("template {name} did not render valid JSON: {err}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alerts::message::AlertDetails;

    fn context() -> TemplateContext {
        let details = AlertDetails {
            kind: "build_failed".into(),
            title: "Build failed: a/b <script>&\"x\"".into(),
            repo: Some("a/<b>".into()),
            url: Some("https://github.com/a/b/actions/runs/1?x=1&y=2".into()),
            ..AlertDetails::default()
        };
        TemplateContext::new(7, "r1", 0, &details)
    }

    #[test]
    fn each_format_escapes_its_way() {
        let templates = Templates::load(None).expect("templates");
        let email = templates.email(&context()).expect("email");
        assert!(email.subject.contains("<script>"), "subjects are plain text: {}", email.subject);
        assert!(email.html.contains("&lt;script&gt;") && !email.html.contains("<script>"), "{}", email.html);
        let slack: serde_json::Value =
            serde_json::from_str(&templates.slack(&context()).expect("slack")).expect("json");
        let text = slack["attachments"][0]["blocks"][0]["text"]["text"].as_str().expect("text");
        assert!(text.contains("&lt;script&gt;&amp;\"x\""), "{text}");
        let hook: serde_json::Value =
            serde_json::from_str(&templates.webhook(&context()).expect("hook")).expect("json");
        assert_eq!(hook["title"], "Build failed: a/b <script>&\"x\"");
        assert_eq!(hook["build"]["repo"], "a/<b>");
        assert_eq!(hook["build"]["workflow"], serde_json::Value::Null);
    }

    #[test]
    fn failure_facts_are_escaped_per_format() {
        let details = AlertDetails {
            kind: "build_failed".into(),
            title: "Build failed: a/b".into(),
            repo: Some("a/b".into()),
            failed_job: Some("test <unit>".into()),
            failed_step: Some("Run `cargo test`".into()),
            error_line: Some("##[error]<img src=x onerror=alert(1)> & `boom`".into()),
            failure_class: Some("code".into()),
            signature_history: Some("seen 14 times in the last 7 days, last on main".into()),
            ..AlertDetails::default()
        };
        let ctx = TemplateContext::new(7, "r1", 0, &details);
        let templates = Templates::load(None).expect("templates");
        let email = templates.email(&ctx).expect("email");
        assert!(email.html.contains("&lt;img src=x onerror=alert(1)&gt; &amp;"), "{}", email.html);
        assert!(!email.html.contains("<img"), "{}", email.html);
        assert!(
            email.text.contains("Error:        ##[error]<img src=x onerror=alert(1)> & `boom`"),
            "{}",
            email.text
        );
        assert!(email.text.contains("Failed job:   test <unit> → step Run `cargo test`"), "{}", email.text);
        assert!(
            email.text.contains("This error:   seen 14 times in the last 7 days, last on main"),
            "{}",
            email.text
        );
        let slack: serde_json::Value =
            serde_json::from_str(&templates.slack(&ctx).expect("slack")).expect("json");
        let blocks = slack["attachments"][0]["blocks"].as_array().expect("blocks");
        let failure =
            blocks.iter().find_map(|b| b["text"]["text"].as_str().filter(|t| t.starts_with("*Failed job*")));
        let failure = failure.expect("a failure block");
        assert!(failure.contains("test &lt;unit&gt;") && failure.contains("&lt;img src=x"), "{failure}");
        assert!(
            failure.contains("`##[error]&lt;img src=x onerror=alert(1)&gt; &amp; 'boom'`"),
            "backticks cannot end the code span: {failure}"
        );
        let hook: serde_json::Value =
            serde_json::from_str(&templates.webhook(&ctx).expect("hook")).expect("json");
        assert_eq!(hook["failure"]["error_line"], "##[error]<img src=x onerror=alert(1)> & `boom`");
        assert_eq!(hook["failure"]["class"], "code");
        assert_eq!(hook["failure"]["signature_history"], "seen 14 times in the last 7 days, last on main");
    }

    #[test]
    fn overrides_win_and_bad_ones_stop_start_up() {
        let dir = tempfile::tempdir().expect("dir");
        std::fs::create_dir_all(dir.path().join("email/build_failed")).expect("mkdir");
        std::fs::write(dir.path().join("email/build_failed/subject.txt"), "FAILED {{ repo }}")
            .expect("write");
        let templates = Templates::load(Some(dir.path())).expect("templates");
        assert_eq!(templates.email(&context()).expect("email").subject, "FAILED a/<b>");
        std::fs::write(dir.path().join("email/body.txt"), "{% if %}").expect("write");
        assert!(Templates::load(Some(dir.path())).is_err());
    }
}
