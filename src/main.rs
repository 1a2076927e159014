//! Entry point: parse the command line, start logging, dispatch.

use std::process::ExitCode;

use cicd_dashboard::cli::{Cli, Command, DbCommand};
use cicd_dashboard::config::{ServeSettings, WorkerCommandSettings};
use cicd_dashboard::domain::words::count;
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
        Some(Command::Report(command)) => return commands::report::main(command).await,
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
            eprintln!("error: {}", one_line(&err));
            ExitCode::FAILURE
        }
    }
}

/// The error and its causes on one line, each said once: a cause whose
/// text an outer message already holds is left out.
fn one_line(err: &anyhow::Error) -> String {
    let mut line = String::new();
    for cause in err.chain() {
        let text = cause.to_string();
        if !line.contains(&text) {
            if !line.is_empty() {
                line.push_str(": ");
            }
            line.push_str(&text);
        }
    }
    line
}

async fn serve(settings: ServeSettings) -> anyhow::Result<()> {
    let app = Application::build(&settings).await?;
    tracing::info!(address = %app.local_addr(), "cicd-dashboard listening; open http://{}/", app.local_addr());
    app.run_until(shutdown_signal()).await?;
    Ok(())
}

async fn db_copy(from: &str, to: &str) -> anyhow::Result<()> {
    let options = StoreOptions { statement_timeout: None, ..StoreOptions::default() };
    let source = Store::connect_existing(from, &options).await?;
    let target = Store::connect(to, &options).await?;
    let report = copy_database(&source, &target, |table, done, total| {
        eprintln!("copying {table}: {done}/{total}");
    })
    .await?;
    let mut refused = 0;
    for table in &report {
        println!(
            "{}: {} in the source, {} written",
            table.table,
            count(table.rows, "row", "rows"),
            table.written
        );
        for row in &table.refused {
            println!("  not copied: {} id {}: {}", row.table, row.id, row.reason);
        }
        refused += table.refused.len();
    }
    source.close().await;
    target.close().await;
    if refused > 0 {
        anyhow::bail!(
            "{} could not be copied (listed above); everything else was",
            count(refused, "row", "rows")
        );
    }
    Ok(())
}

async fn worker(settings: WorkerCommandSettings) -> anyhow::Result<()> {
    let store =
        commands::open_store(&settings.database, &settings.secrets, commands::Open::CreateIfMissing).await?;
    let scheduler = startup::scheduler(&store, &settings.worker)?;
    tracing::info!(owner = scheduler.owner(), "worker running the periodic jobs");
    scheduler.run(startup::tick(&settings.worker), shutdown_signal()).await;
    store.close().await;
    Ok(())
}
