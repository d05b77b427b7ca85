//! The server binary: serves the site (the default), or runs an operator's
//! `user` command against the same configuration.

use clap::Parser;
use server::{
    cli::{Cli, Command},
    config::Config,
    startup::{Application, build_core, run_worker, shutdown_signal},
    telemetry,
};

#[tokio::main]
async fn main() {
    let cli = Cli::parse();
    // A missing .env is normal; its variables only add to the environment.
    let _ = dotenvy::dotenv();
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(e) => fail(2, &format!("error: {e}")),
    };
    match cli.command {
        None | Some(Command::Serve) => serve(config).await,
        Some(Command::Worker) => {
            telemetry::init(config.log_format);
            let core = build_core(&config).await.unwrap_or_else(|e| fail(1, &format!("error: {e:#}")));
            run_worker(core, shutdown_signal()).await;
        }
        Some(Command::User(command)) => {
            let core = build_core(&config).await.unwrap_or_else(|e| fail(1, &format!("error: {e:#}")));
            match server::cli::run_user_command(&core, command).await {
                Ok(shown) => println!("{shown}"),
                Err(e) => fail(1, &format!("error: {e}")),
            }
        }
        Some(Command::Mail(command)) => {
            let core = build_core(&config).await.unwrap_or_else(|e| fail(1, &format!("error: {e:#}")));
            if let Err(e) = server::cli::run_mail_command(&core, command).await {
                fail(1, &format!("error: {e}"));
            }
        }
        Some(Command::Sms(command)) => {
            let core = build_core(&config).await.unwrap_or_else(|e| fail(1, &format!("error: {e:#}")));
            if let Err(e) = server::cli::run_sms_command(&core, command).await {
                fail(1, &format!("error: {e}"));
            }
        }
        Some(Command::Clients(command)) => {
            let core = build_core(&config).await.unwrap_or_else(|e| fail(1, &format!("error: {e:#}")));
            if let Err(e) = server::cli::run_clients_command(&core, command).await {
                fail(1, &format!("error: {e}"));
            }
        }
        Some(Command::Keys(command)) => {
            let core = build_core(&config).await.unwrap_or_else(|e| fail(1, &format!("error: {e:#}")));
            if let Err(e) = server::cli::run_keys_command(&core, command).await {
                fail(1, &format!("error: {e}"));
            }
        }
        Some(Command::Jobs(command)) => {
            let core = build_core(&config).await.unwrap_or_else(|e| fail(1, &format!("error: {e:#}")));
            if let Err(e) = server::cli::run_jobs_command(&core, command).await {
                fail(1, &format!("error: {e}"));
            }
        }
    }
}

async fn serve(config: Config) {
    telemetry::init(config.log_format);
    let app = match Application::build(config).await {
        Ok(app) => app,
        Err(e) => {
            tracing::error!("could not start: {e:#}");
            fail(1, &format!("error: could not start: {e:#}"))
        }
    };
    tracing::info!("listening on http://{}", app.address());
    if let Err(e) = app.run_until_stopped().await {
        tracing::error!("server stopped: {e}");
        std::process::exit(1);
    }
}

fn fail(code: i32, message: &str) -> ! {
    eprintln!("{message}");
    std::process::exit(code)
}
