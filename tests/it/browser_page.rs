//! The page's rough edges a new user met, in a real (headless) Chromium:
//! the builds list follows the window; final outcomes per run; running
//! builds and jobs show their elapsed time and long runs are flagged;
//! repository suggestions; failed job bars; sortable health table with a
//! branch column; tables that fit 1 440 and 1 280 px and stack on phones;
//! integer chart ticks and an empty chart's state; alert states and the
//! write-token gate. Screenshots in `target/screenshots/`.

use std::time::Duration;

use chrono::Duration as Span;
use serde_json::json;

use crate::alert_receivers::{FIVE_SECONDS, HttpSink, configure_ok, wait_for_alerts};
use crate::auth::create_token;
use crate::browser_harness::Browser;
use crate::helpers::TestApp;
use crate::on_both_backends;
use crate::payloads::{Run, job_payload, minutes_ago};

const SECOND: Duration = Duration::from_secs(1);

/// A run of `repo`/`workflow` on `branch`, started `minutes` ago, ended as `end`.
#[allow(clippy::too_many_arguments)]
async fn run(
    app: &TestApp,
    id: i64,
    attempt: i64,
    repo: &str,
    workflow: &str,
    branch: &str,
    minutes: i64,
    end: (&str, Option<&str>),
) -> Run {
    let mut run = Run::new(id, minutes_ago(minutes));
    run.attempt = attempt;
    run.repo = repo.into();
    run.workflow = workflow.into();
    run.branch = branch.into();
    let run = run.at(end.0, end.1, 95);
    app.deliver_json("workflow_run", &run.payload(), "stored").await;
    run
}

async fn click(browser: &Browser, selector: &str) {
    let script = format!("document.querySelector({}).click(); return true;", json!(selector));
    browser.client.execute(&script, vec![]).await.expect("click");
}

async fn resize(browser: &Browser, width: u32, height: u32) {
    browser.client.set_window_size(width, height).await.expect("resize");
    browser
        .expect(&format!("Math.abs(window.innerWidth - {width}) <= 20"), 5 * SECOND, "window.innerWidth")
        .await;
}

async fn axe_clean(browser: &Browser, what: &str) {
    if let Some(violations) = browser.axe_serious().await {
        assert!(
            violations.is_empty(),
            "axe ({what}): {}",
            serde_json::to_string_pretty(&violations).unwrap_or_default()
        );
    }
}

fn backend(app: &TestApp) -> &'static str {
    if app.database_url.starts_with("sqlite") { "sqlite" } else { "postgres" }
}

/// The builds table's rows: [status, repository, workflow, duration cell].
const ROWS: &str = "[...document.querySelectorAll('#builds tbody tr')].map(r => [r.cells[0].textContent, r.cells[1].querySelector('.repo').textContent, \
    r.cells[2].textContent, r.querySelector('[data-label=Duration]').textContent])";

on_both_backends! {
    async fn the_builds_list_follows_the_window_and_shows_final_outcomes(app: TestApp) {
        // In the last 24 hours: run 1 failed then fixed by a re-run; run 2 failed;
        // run 3 running for 5 minutes; run 4 "running" for 30 hours (stuck?).
        // Two and three days ago: runs 5 and 6 (in the 7-day window only).
        run(&app, 1, 1, "octo-org/app", "CI", "main", 60, ("completed", Some("failure"))).await;
        run(&app, 1, 2, "octo-org/app", "CI", "main", 50, ("completed", Some("success"))).await;
        run(&app, 2, 1, "octo-org/app", "CI", "main", 40, ("completed", Some("failure"))).await;
        let running = run(&app, 3, 1, "octo-org/api", "Deploy", "main", 5, ("in_progress", None)).await;
        run(&app, 4, 1, "octo-org/api", "Nightly", "main", 30 * 60, ("in_progress", None)).await;
        run(&app, 5, 1, "octo-org/web", "CI", "main", 2 * 24 * 60, ("completed", Some("success"))).await;
        run(&app, 6, 1, "octo-org/web", "CI", "main", 3 * 24 * 60, ("completed", Some("failure"))).await;
        // Run 3's jobs: one failed after 40 s, one still running, one still queued.
        let t0 = running.started_at;
        app.deliver_json("workflow_job", &job_payload(31, &running, "completed", Some("failure"), t0, t0 + Span::seconds(5), Some(t0 + Span::seconds(45))), "stored").await;
        app.deliver_json("workflow_job", &job_payload(32, &running, "completed", Some("success"), t0, t0 + Span::seconds(5), Some(t0 + Span::seconds(60))), "stored").await;
        app.deliver_json("workflow_job", &job_payload(33, &running, "in_progress", None, t0, t0 + Span::seconds(10), None), "stored").await;
        app.deliver_json("workflow_job", &job_payload(34, &running, "queued", None, t0 + Span::seconds(20), t0 + Span::seconds(20), None), "stored").await;

        let Some(browser) = Browser::start("UTC").await else { return };
        // The 24-hour window: the cards and the list count the same 4 attempts (run 4 started 30 hours ago).
        browser.client.goto(&app.url("/?window=1")).await.expect("open page");
        browser.expect("document.body.dataset.loaded && document.querySelectorAll('#builds tbody tr').length === 4", 10 * SECOND,
            "[document.getElementById('builds-count').textContent, document.querySelectorAll('#builds tbody tr').length]").await;
        assert_eq!(browser.eval("document.querySelector('[data-kpi=\"total\"] .value').textContent").await, "4");
        assert_eq!(browser.eval("document.getElementById('builds-count').textContent").await,
            "Showing 1–4 of 4 builds started in the last 24 hours");
        let csv = browser.eval("document.getElementById('export-csv').href").await;
        assert!(csv.as_str().is_some_and(|h| h.contains("since=")), "the export follows the window too: {csv}");
        // The 7-day window: all 7 attempts; the Started-after filter overrides the window.
        browser.client.execute("const w = document.getElementById('f-window'); w.value = '7';
            w.dispatchEvent(new Event('change')); return true;", vec![]).await.expect("window");
        browser.expect("document.querySelectorAll('#builds tbody tr').length === 7", 5 * SECOND,
            "document.getElementById('builds-count').textContent").await;
        assert_eq!(browser.eval("document.getElementById('builds-count').textContent").await,
            "Showing 1–7 of 7 builds started in the last 7 days");

        // Elapsed time of running builds, and the 30-hour one flagged in words.
        let rows = browser.eval(ROWS).await;
        let deploy = rows.as_array().expect("rows").iter().find(|r| r[2] == "Deploy").expect("Deploy row").clone();
        let text = deploy[3].as_str().expect("text");
        assert!(text.starts_with("running for ") && text.contains(" min "), "{deploy}");
        let nightly = rows.as_array().expect("rows").iter().find(|r| r[2] == "Nightly").expect("Nightly row").clone();
        let text = nightly[3].as_str().expect("text");
        assert!(text.starts_with("running for 30 h ") && text.contains("stuck?"), "{nightly}");
        assert_eq!(browser.eval("document.querySelectorAll('#builds .stuck').length").await, json!(1));
        let why = browser.eval("document.querySelector('#builds .stuck').textContent").await;
        assert!(why.as_str().is_some_and(|t| t.contains("over 24 hours")), "the badge explains itself: {why}");

        // Final outcome per run: the failed filter lists run 1's first attempt too;
        // with "latest attempt only" just run 2 (and the 3-day-old run 6).
        browser.client.goto(&app.url("/?status=failed")).await.expect("failed");
        browser.expect("document.body.dataset.loaded && document.querySelectorAll('#builds tbody tr').length === 3", 10 * SECOND,
            "document.getElementById('builds-count').textContent").await;
        click(&browser, "#f-latest").await;
        click(&browser, "#builds-form button[type=submit]").await;
        browser.expect("document.querySelectorAll('#builds tbody tr').length === 2", 5 * SECOND,
            "document.getElementById('builds-count').textContent").await;
        let ids = browser.eval("[...document.querySelectorAll('#builds tbody tr')].map(r => r.cells[1].querySelector('.repo').textContent + ' ' + r.cells[2].textContent)").await;
        assert_eq!(ids, json!(["octo-org/app CI", "octo-org/web CI"]));
        assert!(browser.eval("location.search").await.as_str().is_some_and(|s| s.contains("latest=1")));
        let csv = browser.eval("document.getElementById('export-csv').href").await;
        assert!(csv.as_str().is_some_and(|h| h.contains("latest_attempt=true")), "{csv}");
        // A shared URL keeps it.
        let url = browser.eval("location.href").await;
        browser.client.goto(url.as_str().expect("url")).await.expect("reload");
        browser.expect("document.body.dataset.loaded && document.getElementById('f-latest').checked \
            && document.querySelectorAll('#builds tbody tr').length === 2", 10 * SECOND, "location.search").await;

        // Repository suggestions come from every stored repository, even with one chosen.
        browser.client.goto(&app.url("/?repo=octo-org/app")).await.expect("repo");
        browser.expect("document.body.dataset.loaded && document.querySelectorAll('#repo-list option').length === 3", 10 * SECOND,
            "[...document.querySelectorAll('#repo-list option')].map(o => o.value)").await;
        assert_eq!(browser.eval("[...document.querySelectorAll('#repo-list option')].map(o => o.value)").await,
            json!(["octo-org/api", "octo-org/app", "octo-org/web"]));

        // The running build: elapsed time in its attempt; its jobs' elapsed run and queue
        // time; the failed job's bar is not the passing colour.
        browser.client.goto(&app.url(&format!("/?build={}", app.builds().await.iter()
            .find(|b| b["workflow"] == "Deploy").expect("deploy")["id"]))).await.expect("detail");
        browser.expect("document.querySelectorAll('#detail table.jobs tbody tr').length === 4", 10 * SECOND,
            "document.getElementById('detail-body').innerText").await;
        let attempt = browser.eval("[...document.querySelectorAll('#detail table.attempts tbody tr')]
            .find(r => r.cells[0].textContent === 'Duration').cells[1].textContent").await;
        assert!(attempt.as_str().is_some_and(|t| t.starts_with("running for ")), "{attempt}");
        let jobs = browser.eval("Object.fromEntries([...document.querySelectorAll('#detail table.jobs tbody tr')]
            .map(r => [r.cells[0].textContent, [r.cells[3].textContent, r.cells[4].textContent]]))").await;
        assert_eq!(jobs["job-31"], json!(["5 s", "40 s"]));
        let job33 = jobs["job-33"][1].as_str().expect("run");
        assert!(job33.starts_with("running for ") && job33.contains(" min "), "{jobs}");
        let job34 = jobs["job-34"][0].as_str().expect("queue");
        assert!(job34.starts_with("waiting for ") && job34.contains(" min "), "{jobs}");
        let fills = browser.eval("(() => { const bar = (name) => [...document.querySelectorAll('#detail table.jobs tbody tr')]
              .find(r => r.cells[0].textContent === name).querySelector('rect.seg-run');
            const failed = bar('job-31'), passed = bar('job-32');
            return { failed: getComputedStyle(failed).fill, passed: getComputedStyle(passed).fill,
              status: failed.dataset.status, title: failed.querySelector('title').textContent,
              hatch: !!failed.parentNode.querySelector('.seg-hatch'),
              label: failed.closest('svg').getAttribute('aria-label') }; })()").await;
        assert_ne!(fills["failed"], fills["passed"], "{fills}");
        assert_eq!(fills["status"], "failed");
        assert_eq!(fills["hatch"], true, "failed is not told by colour alone: {fills}");
        assert!(fills["title"].as_str().is_some_and(|t| t.contains("failed")), "{fills}");
        assert!(fills["label"].as_str().is_some_and(|t| t.contains("failed")), "{fills}");
        axe_clean(&browser, "detail").await;
        for (width, height) in [(1440, 900), (1280, 800), (390, 844)] {
            resize(&browser, width, height).await;
            browser.client.execute("document.querySelector('#detail table.jobs').scrollIntoView(); return true;", vec![]).await.expect("scroll");
            browser.screenshot(&format!("page-detail-failed-job-{width}x{height}-{}", backend(&app))).await;
        }
        browser.color_scheme("dark").await;
        browser.expect("matchMedia('(prefers-color-scheme: dark)').matches", 5 * SECOND, "1").await;
        axe_clean(&browser, "detail, dark").await;
        browser.screenshot(&format!("page-detail-failed-job-dark-390x844-{}", backend(&app))).await;
        browser.color_scheme("light").await;
        assert_eq!(browser.console_errors().await, Vec::<String>::new());
        browser.close().await;
    }

    async fn tables_fit_wide_screens_stack_on_phones_and_health_sorts(app: TestApp) {
        // Realistic long values: dependabot branches, long workflow names, re-runs, hours-long durations.
        let mut id = 100;
        for (repo, workflow, branch, conclusion) in [
            ("octo-org/payments-service", "Build, test and deploy to staging", "dependabot/npm_and_yarn/eslint-plugin-react-7.37.2", Some("success")),
            ("octo-org/payments-service", "Nightly integration tests", "main", Some("failure")),
            ("octo-org/web-frontend", "Lighthouse and accessibility audit", "feature/checkout-redesign-step-3", Some("success")),
            ("octo-org/web-frontend", "Release", "release/2026.12", None),
            ("octo-org/infrastructure-as-code", "Terraform plan", "renovate/hashicorp-terraform-1.x", Some("cancelled")),
        ] {
            for k in 0..2 {
                id += 1;
                let end = match conclusion { Some(c) if k == 1 => ("completed", Some(c)), Some(_) => ("completed", Some("success")), None => ("in_progress", None) };
                let mut r = Run::new(id, minutes_ago(300 - id));
                r.attempt = 1 + k;
                r.repo = repo.into();
                r.workflow = workflow.into();
                r.branch = branch.into();
                let r = r.at(end.0, end.1, 3 * 3600 + 125);
                app.deliver_json("workflow_run", &r.payload(), "stored").await;
            }
        }
        let Some(browser) = Browser::start("UTC").await else { return };
        browser.client.goto(&app.url("/")).await.expect("open page");
        browser.expect("document.body.dataset.loaded && document.querySelectorAll('#builds tbody tr').length === 10", 10 * SECOND,
            "document.getElementById('builds-count').textContent").await;

        // Health: a branch column, and sorting by status (failures first), name and success rate.
        let branch = "[...document.querySelectorAll('#health tbody tr')].find(r => r.cells[1].textContent === 'Build, test and deploy to staging')\
            .querySelector('[data-label=Branch]').textContent";
        assert_eq!(browser.eval(branch).await, "dependabot/npm_and_yarn/eslint-plugin-react-7.37.2");
        click(&browser, "#health button.sort[data-key=status]").await;
        browser.expect("document.querySelector('#health th[data-sort=status]').getAttribute('aria-sort') !== 'none'", 5 * SECOND, "1").await;
        let order = browser.eval("[...document.querySelectorAll('#health tbody tr')].map(r => r.cells[1].textContent)").await;
        assert_eq!(order, json!(["Nightly integration tests", "Terraform plan", "Release", "Build, test and deploy to staging",
            "Lighthouse and accessibility audit"]), "failed, cancelled, running, then the passing ones by name");
        assert!(browser.eval("location.search").await.as_str().is_some_and(|s| s.contains("hsort=status")));
        click(&browser, "#health button.sort[data-key=rate]").await;
        let order = browser.eval("[...document.querySelectorAll('#health tbody tr')].map(r => r.cells[1].textContent)").await;
        assert_eq!(order[0], "Nightly integration tests", "lowest success rate first (50 %)");
        click(&browser, "#health button.sort[data-key=name]").await;
        let order = browser.eval("[...document.querySelectorAll('#health tbody tr')].map(r => r.cells[0].textContent)").await;
        assert_eq!(order, json!(["octo-org/infrastructure-as-code on GitHub Actions", "octo-org/payments-service on GitHub Actions",
            "octo-org/payments-service on GitHub Actions", "octo-org/web-frontend on GitHub Actions", "octo-org/web-frontend on GitHub Actions"]));

        let fits = "(() => { const out = []; for (const id of ['builds', 'health']) {
              const t = document.getElementById(id), wrap = t.closest('.table-wrap');
              if (t.offsetWidth > wrap.clientWidth + 1) out.push(id + ' ' + t.offsetWidth + ' > ' + wrap.clientWidth); }
            for (const b of document.querySelectorAll('#builds tbody button.link')) {
              if (b.getBoundingClientRect().right > window.innerWidth) out.push('details at ' + b.getBoundingClientRect().right); }
            if (document.documentElement.scrollWidth > window.innerWidth) out.push('page ' + document.documentElement.scrollWidth);
            return out; })()";
        let name = backend(&app);
        for (width, height) in [(1440, 900), (1280, 800)] {
            resize(&browser, width, height).await;
            assert_eq!(browser.eval(fits).await, json!([]), "at {width} px");
            browser.client.execute("window.scrollTo(0, 0); return true;", vec![]).await.expect("scroll");
            browser.screenshot(&format!("page-overview-{width}x{height}-{name}")).await;
            browser.client.execute("document.getElementById('health-title').scrollIntoView(); return true;", vec![]).await.expect("scroll");
            browser.screenshot(&format!("page-tables-{width}x{height}-{name}")).await;
            browser.client.execute("document.getElementById('builds-title').scrollIntoView(); return true;", vec![]).await.expect("scroll");
            browser.screenshot(&format!("page-builds-{width}x{height}-{name}")).await;
        }
        axe_clean(&browser, "light, 1280").await;
        browser.color_scheme("dark").await;
        browser.expect("matchMedia('(prefers-color-scheme: dark)').matches", 5 * SECOND, "1").await;
        axe_clean(&browser, "dark, 1280").await;
        browser.screenshot(&format!("page-builds-dark-1280x800-{name}")).await;
        browser.client.execute("document.getElementById('health-title').scrollIntoView(); return true;", vec![]).await.expect("scroll");
        browser.screenshot(&format!("page-tables-dark-1280x800-{name}")).await;
        browser.color_scheme("light").await;

        // Phones: both tables stack as labelled cards, nothing scrolls sideways.
        resize(&browser, 390, 844).await;
        let stacked = browser.eval("['builds', 'health'].map(id => [getComputedStyle(document.querySelector('#' + id + ' tbody tr')).display,
            document.getElementById(id).closest('.table-wrap').scrollWidth <= document.getElementById(id).closest('.table-wrap').clientWidth])").await;
        assert_eq!(stacked, json!([["block", true], ["block", true]]));
        assert_eq!(browser.eval("document.documentElement.scrollWidth <= window.innerWidth").await, true);
        let label = browser.eval("getComputedStyle(document.querySelector('#builds tbody td[data-label=Branch]'), '::before').content").await;
        assert_eq!(label, "\"Branch: \"");
        // The headers (with their sort buttons) are gone on phones: a select sorts instead.
        assert_eq!(browser.eval("[getComputedStyle(document.querySelector('#health thead')).display,
            getComputedStyle(document.getElementById('health-sort')).display !== 'none']").await, json!(["none", true]));
        browser.client.execute("const s = document.getElementById('health-sort'); s.value = 'status';
            s.dispatchEvent(new Event('change')); return true;", vec![]).await.expect("sort");
        let order = browser.eval("[...document.querySelectorAll('#health tbody tr')].map(r => r.cells[1].textContent)").await;
        assert_eq!(order[0], "Nightly integration tests");
        browser.client.execute("const s = document.getElementById('builds-sort'); s.value = '-duration';
            s.dispatchEvent(new Event('change')); return true;", vec![]).await.expect("sort");
        browser.expect("location.search.includes('sort=-duration')", 5 * SECOND, "location.search").await;
        axe_clean(&browser, "390").await;
        browser.client.execute("document.getElementById('health-title').scrollIntoView(); return true;", vec![]).await.expect("scroll");
        browser.screenshot(&format!("page-tables-390x844-{name}")).await;
        browser.client.execute("document.getElementById('builds-title').scrollIntoView(); return true;", vec![]).await.expect("scroll");
        browser.screenshot(&format!("page-builds-390x844-{name}")).await;
        browser.color_scheme("dark").await;
        browser.screenshot(&format!("page-builds-dark-390x844-{name}")).await;
        browser.color_scheme("light").await;
        assert_eq!(browser.console_errors().await, Vec::<String>::new());
        browser.close().await;
    }

    async fn chart_axes_count_in_whole_builds_and_say_when_empty(app: TestApp) {
        let Some(browser) = Browser::start("UTC").await else { return };
        let ticks = "[...document.querySelectorAll('#chart-outcomes svg .axis text:not(.axis-title)')]\
            .filter(t => t.getAttribute('text-anchor') === 'end').map(t => t.textContent)";
        browser.client.goto(&app.url("/")).await.expect("open page");
        browser.expect("document.body.dataset.loaded", 10 * SECOND, "1").await;
        assert_eq!(browser.eval(ticks).await, json!(["0"]), "an empty chart has no fractional builds");
        for chart in ["outcomes", "rate", "duration"] {
            let empty = browser.eval(&format!("document.querySelector('#chart-{chart} .chart-empty').textContent")).await;
            assert!(empty.as_str().is_some_and(|t| t.starts_with("No ")), "{chart}: {empty}");
        }
        for (width, height) in [(1440, 900), (1280, 800)] {
            resize(&browser, width, height).await;
            browser.client.execute("document.getElementById('charts-title').scrollIntoView(); return true;", vec![]).await.expect("scroll");
            browser.screenshot(&format!("page-charts-empty-{width}x{height}-{}", backend(&app))).await;
        }
        // One build, then three on a day: whole numbers only.
        run(&app, 1, 1, "octo-org/app", "CI", "main", 30, ("completed", Some("success"))).await;
        browser.client.goto(&app.url("/")).await.expect("reload");
        browser.expect("document.body.dataset.loaded && !document.querySelector('#chart-outcomes .chart-empty')", 10 * SECOND, "1").await;
        assert_eq!(browser.eval(ticks).await, json!(["0", "1"]));
        for id in 2..=3 {
            run(&app, id, 1, "octo-org/app", "CI", "main", 30 - id, ("completed", Some("failure"))).await;
        }
        browser.client.goto(&app.url("/")).await.expect("reload");
        browser.expect("document.body.dataset.loaded && document.querySelectorAll('#builds tbody tr').length === 3", 10 * SECOND, "1").await;
        assert_eq!(browser.eval(ticks).await, json!(["0", "1", "2", "3"]));
        axe_clean(&browser, "charts").await;
        browser.client.execute("document.getElementById('charts-title').scrollIntoView(); return true;", vec![]).await.expect("scroll");
        browser.screenshot(&format!("page-charts-1280x800-{}", backend(&app))).await;
        resize(&browser, 390, 844).await;
        browser.client.execute("document.getElementById('charts-title').scrollIntoView(); return true;", vec![]).await.expect("scroll");
        browser.screenshot(&format!("page-charts-390x844-{}", backend(&app))).await;
        assert_eq!(browser.console_errors().await, Vec::<String>::new());
        browser.close().await;
    }

    async fn alerts_show_their_real_state_and_writes_ask_for_a_token(app: TestApp) {
        let http = HttpSink::start().await;
        configure_ok(&app, &json!({
            "channels": [{"id": "hook", "type": "webhook", "url": http.url("/hook")}],
            "rules": [
                {"id": "main-failures", "kind": "build_failed", "channels": ["hook"]},
                {"id": "fixed", "kind": "recovered", "branch": "*", "channels": ["hook"]}
            ]
        })).await;
        // main: failed then fixed (an open failure alert and a sent recovery);
        // dev: failed (no rule for dev failures) then fixed: the recovery is suppressed.
        run(&app, 1, 1, "octo-org/app", "CI", "main", 30, ("completed", Some("failure"))).await;
        run(&app, 2, 1, "octo-org/app", "CI", "main", 20, ("completed", Some("success"))).await;
        run(&app, 3, 1, "octo-org/app", "CI", "dev", 15, ("completed", Some("failure"))).await;
        run(&app, 4, 1, "octo-org/app", "CI", "dev", 10, ("completed", Some("success"))).await;
        let alerts = wait_for_alerts(&app, "", FIVE_SECONDS, |a| a.len() == 3 && a.iter().all(|x| x["status"] != "pending")).await;
        let statuses: Vec<(String, String)> = alerts.iter().map(|a| (a["kind"].as_str().unwrap_or_default().to_owned(), a["status"].as_str().unwrap_or_default().to_owned())).collect();
        assert_eq!(statuses, [("recovered".to_owned(), "suppressed".to_owned()), ("recovered".to_owned(), "sent".to_owned()),
            ("build_failed".to_owned(), "sent".to_owned())]);

        let Some(browser) = Browser::start("UTC").await else { return };
        browser.client.goto(&app.url("/?view=alerts")).await.expect("open alerts");
        browser.expect("document.querySelectorAll('#alerts tbody tr').length === 3", 10 * SECOND, "document.body.innerText").await;
        let states = browser.eval("[...document.querySelectorAll('#alerts tbody tr')].map(r => r.querySelector('[data-label=State]').textContent)").await;
        assert_eq!(states, json!(["⊘ suppressed (not sent)", "✓ recovery (for information)", "! open"]));
        let red = browser.eval("[...document.querySelectorAll('#alerts tbody .state')].map(s => s.classList.contains('state-open'))").await;
        assert_eq!(red, json!([false, false, true]));

        // Reads are public, writes need a token: the buttons say so instead of failing.
        let gate = browser.eval("[...document.querySelectorAll('#alerts tbody button[data-action]')].map(b => b.disabled)").await;
        assert_eq!(gate, json!([true, true, true, true, true, true]));
        let note = browser.eval("document.getElementById('alerts-write-note').textContent").await;
        assert!(note.as_str().is_some_and(|t| t.contains("write role")), "{note}");
        assert_eq!(browser.eval("document.querySelector('#alerts tbody button[data-action]').getAttribute('aria-describedby')").await, "alerts-write-note");
        assert_eq!(browser.eval("document.getElementById('token-form').hidden").await, false, "a place to enter one");
        axe_clean(&browser, "alerts without a token").await;
        let name = backend(&app);
        for (width, height) in [(1440, 900), (1280, 800), (390, 844)] {
            resize(&browser, width, height).await;
            browser.client.execute("window.scrollTo(0, 0); return true;", vec![]).await.expect("scroll");
            browser.screenshot(&format!("page-alerts-states-{width}x{height}-{name}")).await;
        }
        browser.color_scheme("dark").await;
        browser.expect("matchMedia('(prefers-color-scheme: dark)').matches", 5 * SECOND, "1").await;
        axe_clean(&browser, "alerts dark").await;
        browser.screenshot(&format!("page-alerts-states-dark-390x844-{name}")).await;
        browser.color_scheme("light").await;
        resize(&browser, 1280, 800).await;

        // A write token enables them; acknowledging the open alert works.
        let write = create_token(&app.database_url, "on-call", "write");
        browser.client.execute(&format!("document.getElementById('token').value = '{write}';
            document.querySelector('#token-form button[type=submit]').click(); return true;"), vec![]).await.expect("token");
        browser.expect("!document.querySelector('#alerts tbody tr:last-child button[data-action=ack]').disabled", 10 * SECOND,
            "document.getElementById('alerts').innerText").await;
        assert_eq!(browser.eval("document.getElementById('alerts-write-note').hidden").await, true);
        click(&browser, "#alerts tbody tr:last-child button[data-action=ack]").await;
        browser.expect("document.querySelector('#alerts tbody tr:last-child [data-label=State]').textContent.startsWith('acknowledged ')",
            5 * SECOND, "document.getElementById('alerts-status').textContent").await;
        let refused: Vec<String> = browser.console_errors().await.into_iter().filter(|m| !m.contains("401") && !m.contains("403")).collect();
        assert_eq!(refused, Vec::<String>::new());
        browser.close().await;
    }
}
