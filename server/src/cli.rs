//! The command line: `server` (or `server serve`) serves; `server worker`
//! only delivers; `server user ...`, `server jobs ...`, `server mail test`,
//! `server sms test`, `server clients ...` and `server keys ...` let
//! operators manage accounts, the delivery queue, the mail and SMS settings,
//! the sites that sign in through us and the signing keys, through the same
//! use cases as the pages.

use crate::{
    config::Config,
    startup::{Application, build_core, run_worker, shutdown_signal},
    telemetry,
};
use app::core::{Core, db::UserRow, delivery::DeliveryRecord, use_cases};
use clap::{Parser, Subcommand};

/// What the binary runs: `main.rs` calls only this.
///
/// In the library, and never inlined, so that it is compiled once, here:
/// the binary is a crate of its own, and compiled at the server's
/// opt-level 3 (no generics shared with the crates below it) it built again
/// everything its `main` reached — the worker, the queue's backends, the
/// commands — a minute of every release build (issue 23).
#[inline(never)]
pub fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap_or_else(|e| fail(1, &format!("error: could not start the runtime: {e}")));
    runtime.block_on(run());
}

async fn run() {
    let cli = Cli::parse();
    // A missing .env is normal; its variables only add to the environment.
    let _ = dotenvy::dotenv();
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(e) => fail(2, &format!("error: {e}")),
    };
    let done = match cli.command {
        None | Some(Command::Serve) => return serve(config).await,
        Some(Command::Worker) => {
            telemetry::init(config.log_format);
            return run_worker(core_or_exit(&config).await, shutdown_signal()).await;
        }
        Some(Command::User(command)) => run_user_command(&core_or_exit(&config).await, command)
            .await
            .map(|out| println!("{out}"))
            .map_err(|e| e.to_string()),
        Some(Command::Mail(command)) => {
            run_mail_command(&core_or_exit(&config).await, command).await.map_err(|e| e.to_string())
        }
        Some(Command::Sms(command)) => {
            run_sms_command(&core_or_exit(&config).await, command).await.map_err(|e| e.to_string())
        }
        Some(Command::Clients(command)) => {
            run_clients_command(&core_or_exit(&config).await, command).await.map_err(|e| e.to_string())
        }
        Some(Command::Keys(command)) => {
            run_keys_command(&core_or_exit(&config).await, command).await.map_err(|e| e.to_string())
        }
        Some(Command::Jobs(command)) => {
            run_jobs_command(&core_or_exit(&config).await, command).await.map_err(|e| e.to_string())
        }
    };
    if let Err(e) = done {
        fail(1, &format!("error: {e}"));
    }
}

/// The core an operator's command runs on; a clear message and exit 1 when
/// it cannot be built (the database or the store unreachable).
async fn core_or_exit(config: &Config) -> Core {
    build_core(config).await.unwrap_or_else(|e| fail(1, &format!("error: {e:#}")))
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

#[derive(Parser)]
#[command(name = "server", about = "Sign-up and sign-in by mobile phone", version)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Subcommand)]
pub enum Command {
    /// Serve the site and the API (the default).
    Serve,
    /// Run the delivery worker alone (no web server), so web and workers
    /// scale apart. Start the web servers with RUN_WORKER=false then.
    Worker,
    /// Manage user accounts.
    #[command(subcommand)]
    User(UserCommand),
    /// Inspect and manage the delivery queue.
    #[command(subcommand)]
    Jobs(JobsCommand),
    /// Check the e-mail settings.
    #[command(subcommand)]
    Mail(MailCommand),
    /// Check the SMS settings.
    #[command(subcommand)]
    Sms(SmsCommand),
    /// Manage the sites that sign people in through us (OpenID Connect).
    #[command(subcommand)]
    Clients(ClientsCommand),
    /// Manage the OpenID Connect signing keys.
    #[command(subcommand)]
    Keys(KeysCommand),
}

#[derive(Subcommand)]
pub enum ClientsCommand {
    /// Register a client; prints its client_id and, for a confidential
    /// client, its client_secret, which is shown this once.
    Create {
        #[arg(long)]
        name: String,
        /// Where it may be sent back after sign-in, exactly (repeat for more).
        #[arg(long = "redirect-uri", required = true)]
        redirect_uris: Vec<String>,
        /// Where it may be sent after signing out (repeat for more).
        #[arg(long = "post-logout-redirect-uri")]
        post_logout_redirect_uris: Vec<String>,
        /// No secret (an app or a page in the browser): it must use PKCE.
        #[arg(long)]
        public: bool,
        /// A third party: people are asked before it learns who they are.
        #[arg(long)]
        consent: bool,
    },
    /// Every client, one JSON line each.
    List,
    Show {
        client_id: String,
    },
    /// It can start no sign-in and exchange nothing until enabled.
    Disable {
        client_id: String,
    },
    Enable {
        client_id: String,
    },
    /// A new secret; the old one stops working now.
    RotateSecret {
        client_id: String,
    },
    Delete {
        client_id: String,
    },
}

/// Runs a `clients` command and prints its result: one JSON line per client.
pub async fn run_clients_command(core: &Core, command: ClientsCommand) -> Result<(), use_cases::OidcAdminError> {
    let print = |client: &app::core::oidc::clients::Client, secret: Option<&str>| {
        let mut shown = serde_json::to_value(client).unwrap_or_default();
        if let Some(secret) = secret {
            shown["client_secret"] = secret.into();
        }
        println!("{shown}");
    };
    match command {
        ClientsCommand::Create { name, redirect_uris, post_logout_redirect_uris, public, consent } => {
            let input = use_cases::ClientRegistration {
                name: &name,
                redirect_uris: &redirect_uris,
                post_logout_redirect_uris: &post_logout_redirect_uris,
                public,
                consent,
            };
            let (client, secret) = use_cases::create_client(core, &input).await?;
            print(&client, secret.as_ref().map(|s| s.0.as_str()));
        }
        ClientsCommand::List => use_cases::list_clients(core).await?.iter().for_each(|c| print(c, None)),
        ClientsCommand::Show { client_id } => print(&use_cases::show_client(core, &client_id).await?, None),
        ClientsCommand::Disable { client_id } => {
            print(&use_cases::set_client_enabled(core, &client_id, false).await?, None);
        }
        ClientsCommand::Enable { client_id } => {
            print(&use_cases::set_client_enabled(core, &client_id, true).await?, None);
        }
        ClientsCommand::RotateSecret { client_id } => {
            let (client, secret) = use_cases::rotate_client_secret(core, &client_id).await?;
            print(&client, Some(&secret.0));
        }
        ClientsCommand::Delete { client_id } => {
            use_cases::delete_client(core, &client_id).await?;
            println!("{}", serde_json::json!({ "deleted": client_id }));
        }
    }
    Ok(())
}

#[derive(Subcommand)]
pub enum KeysCommand {
    /// Every signing key kept (public facts only), newest first.
    List,
    /// Start signing with new keys; the old ones stay published until every
    /// token they signed has expired.
    Rotate,
}

/// Runs a `keys` command: one JSON line per key kept.
pub async fn run_keys_command(core: &Core, command: KeysCommand) -> Result<(), use_cases::OidcAdminError> {
    let keys = match command {
        KeysCommand::List => use_cases::list_signing_keys(core).await?,
        KeysCommand::Rotate => use_cases::rotate_signing_keys(core).await?,
    };
    for key in keys {
        println!("{}", serde_json::to_value(&key).unwrap_or_default());
    }
    Ok(())
}

#[derive(Subcommand)]
pub enum MailCommand {
    /// Send a test message to ADDRESS now (not through the queue) and print
    /// what the relay answered.
    Test { address: String },
}

/// Runs a `mail` command and prints its result.
pub async fn run_mail_command(core: &Core, command: MailCommand) -> Result<(), use_cases::MailTestError> {
    match command {
        MailCommand::Test { address } => {
            let accepted = use_cases::send_test_mail(core, &address).await?;
            let answer = serde_json::json!({
                "sent": true,
                "transport": core.mail.name(),
                "to": app::core::mail::mask_address(&address),
                "relay_answer": accepted.message_id,
            });
            println!("{answer}");
        }
    }
    Ok(())
}

#[derive(Subcommand)]
pub enum SmsCommand {
    /// Send a test message (the code template, with a code that opens
    /// nothing) to MOBILE now, not through the queue, and print what the
    /// provider answered.
    Test { mobile: String },
}

/// Runs an `sms` command and prints its result.
pub async fn run_sms_command(core: &Core, command: SmsCommand) -> Result<(), use_cases::SmsTestError> {
    match command {
        SmsCommand::Test { mobile } => {
            let accepted = use_cases::send_test_sms(core, &mobile).await?;
            let to = app::rules::Mobile::parse(&mobile).map(|m| m.masked()).unwrap_or_default();
            let answer = serde_json::json!({
                "sent": true,
                "provider": core.sms.name(),
                "to": to,
                "provider_message_id": accepted.message_id,
            });
            println!("{answer}");
        }
    }
    Ok(())
}

#[derive(Subcommand)]
pub enum JobsCommand {
    /// Every job, newest first: one JSON line each.
    List,
    /// Failed jobs only.
    Failed,
    /// Send a failed job again.
    Retry { id: String },
    /// Forget every failed job.
    PurgeFailed,
}

/// Runs a `jobs` command and prints its result.
pub async fn run_jobs_command(core: &Core, command: JobsCommand) -> Result<(), use_cases::JobsError> {
    let print = |records: Vec<DeliveryRecord>| records.iter().for_each(|r| println!("{}", describe_job(r)));
    match command {
        JobsCommand::List => print(use_cases::list_jobs(core, use_cases::JobFilter::All).await?),
        JobsCommand::Failed => print(use_cases::list_jobs(core, use_cases::JobFilter::Failed).await?),
        JobsCommand::Retry { id } => print(vec![use_cases::retry_job(core, &id).await?]),
        JobsCommand::PurgeFailed => {
            let purged = use_cases::purge_failed_jobs(core).await?;
            println!("{}", serde_json::json!({ "purged": purged }));
        }
    }
    Ok(())
}

/// One JSON line per job: what an operator needs, never the message.
fn describe_job(r: &DeliveryRecord) -> String {
    serde_json::json!({
        "id": r.id,
        "kind": r.kind,
        "state": r.state,
        "attempts": r.attempts,
        "last_error": r.last_error,
        "error_code": r.error_code,
        "provider": r.provider,
        "recipient": r.recipient,
        "purpose": r.purpose,
        "provider_message_id": r.provider_message_id,
        "next_try_at": r.next_try_at,
        "created_at": r.created_at,
        "updated_at": r.updated_at,
    })
    .to_string()
}

#[derive(Subcommand)]
pub enum UserCommand {
    /// Create a user (no SMS code needed); an e-mail given here is verified.
    Create {
        #[arg(long)]
        mobile: String,
        #[arg(long)]
        password: String,
        #[arg(long)]
        username: Option<String>,
        #[arg(long)]
        nickname: Option<String>,
        #[arg(long)]
        email: Option<String>,
        /// The person accepted the privacy policy and the terms in force
        /// elsewhere (the operator attests it; recorded as from
        /// `server user create`). Without it they are asked at sign-in.
        #[arg(long)]
        accepted: bool,
    },
    /// Show a user, by username, mobile or verified e-mail.
    Show { account: String },
    /// Disable a user: sign-in is refused and every session ends.
    Disable { account: String },
    /// Enable a disabled user.
    Enable { account: String },
    /// Set a new password; every session ends.
    SetPassword {
        account: String,
        #[arg(long)]
        password: String,
    },
    /// Delete (注销) a user as their own request does: every session ends
    /// and the account is erased when ACCOUNT_DELETION_DAYS have passed
    /// (signing in cancels it); with --now, erased at once.
    Delete {
        account: String,
        #[arg(long)]
        now: bool,
    },
}

/// Runs a `user` command; its result is one JSON line to print.
pub async fn run_user_command(core: &Core, command: UserCommand) -> Result<serde_json::Value, use_cases::AdminError> {
    let user = match command {
        UserCommand::Create { mobile, password, username, nickname, email, accepted } => {
            let input = use_cases::CreateUser {
                mobile: &mobile,
                password: &password,
                username: username.as_deref(),
                nickname: nickname.as_deref(),
                email: email.as_deref(),
                accepted,
            };
            use_cases::create_user(core, &input).await?
        }
        UserCommand::Show { account } => {
            let shown = use_cases::show_account(core, &account).await?;
            let mut described = describe(&shown.user);
            described["email_pending"] = shown.pending_email.as_ref().map(|p| p.email.as_str()).into();
            described["email_pending_expires_at"] = shown.pending_email.map(|p| p.expires_at).into();
            return Ok(described);
        }
        UserCommand::Disable { account } => use_cases::set_active(core, &account, false).await?,
        UserCommand::Enable { account } => use_cases::set_active(core, &account, true).await?,
        UserCommand::SetPassword { account, password } => use_cases::set_password(core, &account, &password).await?,
        UserCommand::Delete { account, now } => {
            let done = use_cases::delete_account(core, &account, now).await?;
            return Ok(serde_json::to_value(done).unwrap_or_default());
        }
    };
    Ok(describe(&user))
}

/// A user as the commands print it (as the person's own export does);
/// never the password hash.
fn describe(user: &UserRow) -> serde_json::Value {
    use_cases::describe_user(user)
}
