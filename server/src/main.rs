//! The server binary: reads the configuration, builds the application and
//! serves it until stopped.

use server::{config::Config, startup::Application, telemetry};

#[tokio::main]
async fn main() {
    // A missing .env is normal; its variables only add to the environment.
    let _ = dotenvy::dotenv();
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(2);
        }
    };
    telemetry::init(config.log_format);
    let app = match Application::build(config).await {
        Ok(app) => app,
        Err(e) => {
            tracing::error!("could not start: {e:#}");
            eprintln!("error: could not start: {e:#}");
            std::process::exit(1);
        }
    };
    tracing::info!("listening on http://{}", app.address());
    if let Err(e) = app.run_until_stopped().await {
        tracing::error!("server stopped: {e}");
        std::process::exit(1);
    }
}
