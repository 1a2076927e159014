//! The launch seam: build the whole application (database, migrations,
//! router, listener) from settings, and run it until a shutdown signal.
//! Tests start exactly this, on port 0 with a temporary database.

mod deadline;
mod server;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::http::{HeaderName, HeaderValue, Method, Request, header};
use tokio::net::TcpListener;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;

use crate::alerts::AlertService;
use crate::alerts::sender::{Sender, SenderSettings};
use crate::api::rate_limit::{Budget, parse_trusted};
use crate::api::{self, AppState, IngestAuth, problem};
use crate::config::{AlertSettings, ServeSettings, WorkerSettings};
use crate::providers::RepoPoller;
use crate::providers::github::Poller;
use crate::scheduler::{Scheduler, retention};
use crate::secret::Secret;
use crate::store::Store;
use crate::web;

/// A bound, migrated, ready-to-run server.
pub struct Application {
    listener: TcpListener,
    router: Router,
    store: Store,
    scheduler: Option<(Scheduler, Duration)>,
    sender: Option<Sender>,
    limits: server::ConnectionLimits,
}

impl Application {
    /// Connects to the database, applies migrations and binds the listener.
    ///
    /// Errors: the database cannot be opened or migrated, or the address
    /// cannot be bound.
    pub async fn build(settings: &ServeSettings) -> anyhow::Result<Application> {
        // Installs the process's metrics recorder before anything records.
        let _ = api::prometheus::recorder();
        let store = crate::commands::open_store(
            &settings.database,
            &settings.secrets,
            crate::commands::Open::CreateIfMissing,
        )
        .await?
        .with_test_insights_budget(settings.limits.test_insights_recompute_budget_ms);
        let derived = store.deployments().derive_pending().await?;
        if derived > 0 {
            tracing::info!(streams = derived, "derived the DORA facts of deployments stored before them");
        }
        if store.alerts().seal_stored_alert_config().await? {
            tracing::info!("sealed the stored alert configuration with the configured secret key");
        }
        let (webhook_secret, ingest_token) =
            (Secret::present(&settings.github_webhook_secret), Secret::present(&settings.ingest_token));
        let gitlab_webhook_secret = Secret::present(&settings.gitlab_webhook_secret);
        if webhook_secret.is_none() && gitlab_webhook_secret.is_none() && ingest_token.is_none() {
            tracing::warn!(
                "no GITHUB_WEBHOOK_SECRET, GITLAB_WEBHOOK_SECRET or CICD_INGEST_TOKEN is set: webhook deliveries \
                 will be refused until one is"
            );
        }
        let trusted = Arc::new(parse_trusted(&settings.trusted_proxies).map_err(anyhow::Error::msg)?);
        let alerts = Arc::new(AlertService::new(
            &settings.alerts,
            crate::alerts::address_guard::AddressPolicy {
                allow_private: settings.limits.alert_allow_private_addresses,
            },
        )?);
        crate::alerts::bootstrap::apply(&store, &settings.alerts, alerts.validate).await?;
        let sender = (!settings.alerts.no_alert_sender)
            .then(|| Sender::new(store.clone(), alerts.clone(), sender_settings(&settings.alerts)));
        let state = AppState {
            known_params: Default::default(),
            alerts,
            store: store.clone(),
            ingest_auth: Arc::new(IngestAuth { webhook_secret, gitlab_webhook_secret, ingest_token }),
            public_read: settings.public_read(),
            api_budget: Budget::new("api", settings.api_rate_limit, trusted.clone()),
            webhook_budget: Budget::new("webhook", settings.webhook_rate_limit, trusted),
            webhook_bodies: Arc::new(api::body_budget::BodyBudget::new(
                settings.limits.webhook_body_budget.saturating_mul(1024 * 1024),
                api::webhook::MAX_BODY_BYTES,
            )),
            events: api::events::Hub::start(store.clone()),
            runner_cost: Arc::new(
                crate::metrics::minutes::RunnerCost::parse(
                    settings.runners.runner_cost.as_deref().unwrap_or(""),
                )
                .map_err(anyhow::Error::msg)?,
            ),
            runner_metrics: Arc::new(api::runner_metrics::RunnerMetrics::new(
                settings.runners.metrics_label_sets,
            )),
            delivery: Arc::new(
                crate::metrics::dora::config::DeliveryConfig::parse(
                    &settings.worker.delivery.production_environments,
                    &settings.worker.delivery.deployment_rules,
                )
                .map_err(anyhow::Error::msg)?,
            ),
            github_webhooks: crate::providers::github::GitHubWebhooks {
                incident_label: settings.worker.delivery.incident_label.trim().into(),
            },
        };
        let listener =
            TcpListener::bind(settings.bind).await.map_err(|err| bind_error(settings.bind, err))?;
        let scheduler = match settings.no_worker {
            true => None,
            false => Some((scheduler(&store, &settings.worker)?, tick(&settings.worker))),
        };
        let cors = cors_layer(&settings.cors_origins)?;
        let deadlines = deadline::Deadlines {
            request: Duration::from_secs(settings.limits.request_timeout.max(1)),
            upload: Duration::from_secs(settings.limits.upload_timeout.max(1)),
        };
        let limits = server::ConnectionLimits {
            max_connections: settings.limits.max_connections,
            header_read_timeout: Duration::from_secs(settings.limits.header_read_timeout.max(1)),
        };
        Ok(Application {
            listener,
            router: app_router(state, cors, deadlines),
            store,
            scheduler,
            sender,
            limits,
        })
    }

    /// The address actually bound (useful with port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.listener.local_addr().expect("a bound listener has an address")
    }

    /// The application's store.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Serves until `shutdown` completes, then finishes in-flight requests
    /// and closes the database pools.
    pub async fn run_until(self, shutdown: impl Future<Output = ()> + Send + 'static) -> std::io::Result<()> {
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let worker = self.scheduler.map(|(scheduler, every)| {
            let mut stopped = stopped.clone();
            tokio::spawn(scheduler.run(every, async move {
                let _ = stopped.changed().await;
            }))
        });
        let sender = self.sender.map(|sender| {
            let mut stopped = stopped.clone();
            tokio::spawn(sender.run(async move {
                let _ = stopped.changed().await;
            }))
        });
        let result = server::serve(self.listener, self.router, self.limits, async move {
            shutdown.await;
            let _ = stop.send(true);
        })
        .await;
        if let Some(worker) = worker {
            let _ = worker.await;
        }
        if let Some(sender) = sender {
            let _ = sender.await;
        }
        self.store.close().await;
        result
    }
}

/// Why the listen address cannot be used, naming it and the setting.
fn bind_error(address: SocketAddr, err: std::io::Error) -> anyhow::Error {
    let hint = match err.kind() {
        std::io::ErrorKind::AddrInUse => {
            "another program (another cicd-dashboard?) listens there: stop it, or \
                                          choose another address with --bind (CICD_BIND), e.g. --bind 127.0.0.1:8001"
        }
        _ => "choose another address with --bind (CICD_BIND)",
    };
    anyhow::anyhow!("cannot listen on {address}: {err}; {hint}")
}

/// The scheduler with every periodic job the settings ask for: retention
/// (run attempts and deliveries; test results),
/// alert checks, summary roll-ups, and the GitHub poller's jobs when it has something to poll.
///
/// Errors: poller settings that cannot work (bad API URL, app id without a
/// key, a key that is not RSA PEM).
pub fn scheduler(store: &Store, settings: &WorkerSettings) -> anyhow::Result<Scheduler> {
    let mut jobs: Vec<_> = retention::job(Some(settings.retention_days)).into_iter().collect();
    jobs.extend(retention::test_results_job(Some(settings.test_retention_days)));
    jobs.push(crate::alerts::periodic::job(settings.alert_check_interval as i64));
    let production =
        crate::metrics::dora::config::Environments::parse(&settings.delivery.production_environments)
            .map_err(anyhow::Error::msg)?;
    jobs.push(crate::alerts::delivery_rule::job(settings.alert_check_interval as i64, Arc::new(production)));
    jobs.push(crate::scheduler::rollups::job());
    // The providers' pollers: one registration line each.
    let mut pollers: Vec<Arc<dyn RepoPoller>> = Vec::new();
    let failures = &settings.failures;
    let classifier = Arc::new(
        crate::domain::failure::Classifier::new(&failures.infra_failure_patterns)
            .map_err(anyhow::Error::msg)?,
    );
    let fetch = crate::providers::failure_fetch::FailureFetch {
        store: store.clone(),
        classifier: classifier.clone(),
        settings: failures.clone(),
    };
    let mut fetched_by = Vec::new();
    let interval = settings.github.poll_interval as i64;
    if let Some(github) = Poller::from_settings(&settings.github, store).map_err(anyhow::Error::msg)? {
        let fetcher = crate::providers::github::failures::GitHubFailures {
            client: github.client().clone(),
            fetch: fetch.clone(),
        };
        jobs.push(Arc::new(fetcher).job(interval));
        fetched_by.push(crate::domain::ProviderKind::GitHub);
        pollers.push(Arc::new(github));
    }
    let timing = crate::providers::gitlab::poller::PollTiming {
        poll_interval: settings.github.poll_interval,
        discovery_interval: settings.github.discovery_interval,
        backfill_days: settings.github.backfill_days,
    };
    if let Some(gitlab) = crate::providers::gitlab::Poller::from_settings(&settings.gitlab, timing, store)
        .map_err(anyhow::Error::msg)?
    {
        if failures.fetch_logs {
            let fetcher = crate::providers::gitlab::failures::GitLabFailures {
                clients: gitlab.clients().to_vec(),
                fetch,
            };
            jobs.push(Arc::new(fetcher).job(interval));
            fetched_by.push(crate::domain::ProviderKind::GitLab);
        }
        pollers.push(Arc::new(gitlab));
    }
    jobs.push(crate::scheduler::failure_reasons::job(classifier, fetched_by, failures.log_retention_days));
    for poller in pollers {
        tracing::info!(provider = poller.kind().kind(), "polling the provider's REST API");
        jobs.extend(poller.jobs());
    }
    Ok(Scheduler::new(store.clone(), jobs))
}

/// The outbox sender's timing from the settings.
pub fn sender_settings(settings: &AlertSettings) -> SenderSettings {
    SenderSettings {
        poll: Duration::from_millis(settings.alert_poll_ms.max(10)),
        retry_base: Duration::from_millis(settings.alert_retry_base_ms),
        retry_cap: Duration::from_millis(settings.alert_retry_cap_ms.max(settings.alert_retry_base_ms)),
        max_attempts: settings.alert_max_attempts.max(1),
    }
}

/// The scheduler's tick period.
pub fn tick(settings: &WorkerSettings) -> Duration {
    Duration::from_secs(settings.scheduler_tick.max(1))
}

/// CORS for the listed origins only (`None` when none are listed: the
/// browser's same-origin rule applies). Bearer tokens, not cookies, so
/// credentials are never allowed and `*` is never answered.
///
/// Errors: an origin that is not `scheme://host[:port]`.
fn cors_layer(origins: &[String]) -> anyhow::Result<Option<CorsLayer>> {
    let origins: Vec<HeaderValue> = origins
        .iter()
        .map(|o| o.trim().trim_end_matches('/'))
        .filter(|o| !o.is_empty())
        .map(|o| match url::Url::parse(o) {
            Ok(url) if url.origin().ascii_serialization() == o => {
                HeaderValue::from_str(o).map_err(|err| anyhow::anyhow!("--cors-origins {o:?}: {err}"))
            }
            _ => Err(anyhow::anyhow!("--cors-origins: {o:?} is not an origin like https://ops.example.com")),
        })
        .collect::<anyhow::Result<_>>()?;
    if origins.is_empty() {
        return Ok(None);
    }
    Ok(Some(
        CorsLayer::new()
            .allow_origin(AllowOrigin::list(origins))
            .allow_methods([Method::GET, Method::POST])
            .allow_headers([
                header::AUTHORIZATION,
                header::CONTENT_TYPE,
                HeaderName::from_static("x-request-id"),
            ])
            .expose_headers([HeaderName::from_static("x-request-id"), header::RETRY_AFTER])
            .max_age(Duration::from_secs(600)),
    ))
}

fn app_router(state: AppState, cors: Option<CorsLayer>, deadlines: deadline::Deadlines) -> Router {
    let security_headers = [
        (
            header::CONTENT_SECURITY_POLICY,
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
             connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
        ),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "no-referrer"),
        (HeaderName::from_static("x-frame-options"), "DENY"),
    ];
    let mut router = api::router(state)
        .merge(web::router())
        .fallback(problem::not_found_fallback)
        .method_not_allowed_fallback(problem::method_not_allowed_fallback);
    for (name, value) in security_headers {
        router = router.layer(SetResponseHeaderLayer::if_not_present(name, HeaderValue::from_static(value)));
    }
    if let Some(cors) = cors {
        router = router.layer(cors);
    }
    router
        .layer(axum::middleware::from_fn_with_state(deadlines, deadline::enforce))
        .layer(TraceLayer::new_for_http().make_span_with(|request: &Request<_>| {
            let route = request
                .extensions()
                .get::<axum::extract::MatchedPath>()
                .map(|p| p.as_str().to_owned())
                .unwrap_or_else(|| request.uri().path().to_owned());
            let request_id =
                request.headers().get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or("-").to_owned();
            tracing::info_span!("http", method = %request.method(), route = %route, request_id = %request_id)
        })
        // 5xx answers are logged at ERROR unless their cause was logged
        // where it arose (`problem::AlreadyLogged`: database unavailable,
        // no webhook secret configured — one WARN line, not one per request).
        .on_failure(())
        .on_response(|response: &axum::http::Response<_>, latency: Duration, _span: &tracing::Span| {
            let status = response.status();
            if status.is_server_error() && response.extensions().get::<crate::api::problem::AlreadyLogged>().is_none() {
                tracing::error!(status = status.as_u16(), latency_ms = latency.as_millis() as u64, "response failed");
            } else {
                tracing::debug!(status = status.as_u16(), latency_ms = latency.as_millis() as u64, "finished processing request");
            }
        }))
        // Outermost: accept the caller's X-Request-Id or make one, so every
        // log line of the request carries it, and echo it in the answer.
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
        .layer(axum::middleware::map_request(drop_odd_request_id))
}

/// A caller's `X-Request-Id` of more than 128 bytes, or of anything but
/// visible ASCII, is dropped (a UUID is made instead): it goes into every
/// log line of the request.
async fn drop_odd_request_id(mut request: axum::extract::Request) -> axum::extract::Request {
    let odd = |v: &HeaderValue| v.len() > 128 || !v.as_bytes().iter().all(u8::is_ascii_graphic);
    if request.headers().get("x-request-id").is_some_and(odd) {
        request.headers_mut().remove("x-request-id");
    }
    request
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down");
}
