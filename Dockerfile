# syntax=docker/dockerfile:1
# Multi-stage build: dependencies are compiled in their own layer (cached
# until Cargo.toml / Cargo.lock / vendor change), the runtime image holds
# only the binary, runs as a non-root user and checks its own /health.

FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY vendor ./vendor
# Stub targets so `cargo build` compiles (and caches) only the dependencies.
RUN mkdir -p src benches tests/it \
    && echo 'fn main() {}' > src/main.rs && touch src/lib.rs \
    && echo 'fn main() {}' > benches/ingest.rs && touch tests/it/main.rs \
    && cargo build --release --locked --bin cicd-dashboard \
    && rm -rf src
COPY src ./src
RUN touch src/main.rs src/lib.rs && cargo build --release --locked --bin cicd-dashboard

FROM debian:bookworm-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates curl \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --create-home --home-dir /var/lib/cicd-dashboard cicd
COPY --from=build /src/target/release/cicd-dashboard /usr/local/bin/cicd-dashboard
USER cicd
WORKDIR /var/lib/cicd-dashboard
ENV CICD_BIND=0.0.0.0:8000 \
    DATABASE_URL=sqlite:///var/lib/cicd-dashboard/data/cicd-dashboard.db \
    CICD_LOG_FORMAT=json
VOLUME ["/var/lib/cicd-dashboard/data"]
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=3s --start-period=15s --retries=3 \
    CMD curl -fsS http://127.0.0.1:8000/health || exit 1
ENTRYPOINT ["cicd-dashboard"]
CMD ["serve"]
