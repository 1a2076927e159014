//! Entry point: parse the command line, start logging, dispatch.

use std::process::ExitCode;

use cicd_dashboard::cli::{Cli, Command};
use cicd_dashboard::config::ServeSettings;
use cicd_dashboard::startup::{Application, shutdown_signal};
use cicd_dashboard::store::Store;
use cicd_dashboard::{replay, telemetry};
use clap::Parser;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    telemetry::init();
    let _ = rustls::crypto::ring::default_provider().install_default();
    let result = match cli.command {
        None => serve(cli.serve).await,
        Some(Command::Serve(settings)) => serve(settings).await,
        Some(Command::Migrate(database)) => {
            async {
                let store = Store::connect(&database.database_url, &database.store_options()).await?;
                store.migrate().await?;
                println!("migrations applied");
                Ok(())
            }
            .await
        }
        Some(Command::Replay(args)) => replay::run(&args).await,
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
