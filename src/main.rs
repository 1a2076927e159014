//! Entry point: parse the command line, start logging, dispatch.

use std::process::ExitCode;

use cicd_dashboard::cli::{Cli, Command, DbCommand};
use cicd_dashboard::config::{ServeSettings, WorkerCommandSettings};
use cicd_dashboard::providers::github::replay;
use cicd_dashboard::startup::{self, Application, shutdown_signal};
use cicd_dashboard::store::{Store, StoreOptions, copy_database};
use cicd_dashboard::{commands, telemetry};
use clap::Parser;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    telemetry::init_with(cli.log_format);
    let _ = rustls::crypto::ring::default_provider().install_default();
    let result = match cli.command {
        None => serve(cli.serve).await,
        Some(Command::Serve(settings)) => serve(settings).await,
        Some(Command::Migrate(database)) => {
            async {
                let store =
                    Store::connect(&database.database_url, &commands::store_options(&database)).await?;
                store.migrate().await?;
                println!("migrations applied");
                Ok(())
            }
            .await
        }
        Some(Command::Worker(settings)) => worker(settings).await,
        Some(Command::Replay(args)) => replay::run(&args).await,
        Some(Command::Poll(args)) => commands::poll::run(args).await,
        Some(Command::Token(command)) => commands::token::run(command).await,
        Some(Command::Db(DbCommand::Copy { from, to })) => db_copy(&from, &to).await,
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(settings: ServeSettings) -> anyhow::Result<()> {
    let app = Application::build(&settings).await?;
    tracing::info!(address = %app.local_addr(), "cicd-dashboard listening; open http://{}/", app.local_addr());
    app.run_until(shutdown_signal()).await?;
    Ok(())
}

async fn db_copy(from: &str, to: &str) -> anyhow::Result<()> {
    let options = StoreOptions { statement_timeout: None, ..StoreOptions::default() };
    let source = Store::connect(from, &options).await?;
    let target = Store::connect(to, &options).await?;
    let report = copy_database(&source, &target, |table, done, total| {
        eprintln!("copying {table}: {done}/{total}");
    })
    .await?;
    for table in report {
        println!("{}: {} rows in the source, {} written", table.table, table.rows, table.written);
    }
    source.close().await;
    target.close().await;
    Ok(())
}

async fn worker(settings: WorkerCommandSettings) -> anyhow::Result<()> {
    let store = commands::open_store(&settings.database, &settings.secrets).await?;
    let scheduler = startup::scheduler(&store, &settings.worker)?;
    tracing::info!(owner = scheduler.owner(), "worker running the periodic jobs");
    scheduler.run(startup::tick(&settings.worker), shutdown_signal()).await;
    store.close().await;
    Ok(())
}
