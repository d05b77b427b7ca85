//! The server: configuration, composition of the app, the JSON API, health
//! checks, metrics and logging. `main.rs` only starts it.

pub mod api_docs;
pub mod api_v1;
pub mod cli;
pub mod config;
pub mod dev;
pub mod health;
pub mod language;
pub mod metrics;
pub mod oidc;
pub mod renders;
pub mod security;
pub mod serve;
pub mod startup;
pub mod static_files;
pub mod telemetry;
