//! The worker: takes due delivery jobs from the queue and hands each message
//! to the configured sender, then records what became of it. It runs inside
//! the server by default, or alone (`server worker`).

use super::{Claim, DeliveryEnd, DeliveryJob, JobMessage, Queue, QueueError, SmsNotice, backoff, state};
use crate::{
    core::{
        Core,
        db::DbError,
        mail::{Email, Mail, MailAccepted, MailFailure},
        metrics::{self, DeliveryEvent},
        now_ms,
        sms::{SmsAccepted, SmsBody, SmsFailure, SmsMessage, SmsRefusal},
        store::{StoreError, keys},
        tokens::LinkToken,
    },
    i18n::{Locale, Texts},
    rules::{Mobile, Purpose},
};
use apalis::prelude::{BackendExt, BoxDynError, Data, WorkerBuilder, WorkerBuilderExt};
use std::{
    future::Future,
    sync::atomic::{AtomicI64, Ordering},
    time::Duration,
};

#[derive(Debug, thiserror::Error)]
pub enum DeliverError {
    #[error(transparent)]
    Db(#[from] DbError),
    #[error(transparent)]
    Queue(#[from] QueueError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the job is malformed: {0}")]
    Malformed(String),
}

/// A configuration problem is logged as an error at most once in this long
/// (every message fails the same way until an operator acts). Not once per
/// process: a message that someone made fail in a way that looks like one
/// would otherwise use up the only error a real one gets.
const CONFIG_PROBLEM_LOG_EVERY_MS: i64 = 10 * 60 * 1000;
static CONFIG_PROBLEM_LOGGED_AT: AtomicI64 = AtomicI64::new(i64::MIN);

/// Whether a configuration problem seen at `now` is logged as an error.
fn config_problem_is_news(now: i64) -> bool {
    let last = CONFIG_PROBLEM_LOGGED_AT.load(Ordering::Relaxed);
    now.saturating_sub(last) >= CONFIG_PROBLEM_LOG_EVERY_MS
        && CONFIG_PROBLEM_LOGGED_AT.compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed).is_ok()
}

/// What one attempt came to, whatever the channel.
enum Attempt {
    Sent {
        message_id: Option<String>,
    },
    /// Worth another attempt later.
    Temporary {
        code: String,
        error: String,
    },
    /// Never: the provider or relay refused for good, or our settings are
    /// wrong (`misconfigured`).
    Final {
        code: String,
        error: String,
        misconfigured: bool,
        refusal: Option<SmsRefusal>,
    },
}

impl Attempt {
    /// An SMS sender's answer to attempt number `attempt` (from 0). A code
    /// no one documented is worth one more try, then it is final.
    fn of_sms(result: Result<SmsAccepted, SmsFailure>, attempt: u32) -> Attempt {
        match result {
            Ok(accepted) => Attempt::Sent { message_id: accepted.message_id },
            Err(SmsFailure::Temporary { code, message }) => {
                Attempt::Temporary { error: format!("{code}: {message}"), code }
            }
            Err(SmsFailure::Unknown { code, message }) if attempt == 0 => {
                Attempt::Temporary { error: format!("{code}: unknown answer: {message}"), code }
            }
            Err(failure) => Attempt::Final {
                error: format!("{}: {failure}", failure.code()),
                code: failure.code().to_owned(),
                misconfigured: failure.is_account_problem(),
                refusal: match failure {
                    SmsFailure::Refused { refusal, .. } => Some(refusal),
                    _ => None,
                },
            },
        }
    }

    /// What a second provider's one try came to: no retry of its own.
    fn once(self) -> Attempt {
        match self {
            Attempt::Temporary { code, error } => Attempt::Final { code, error, misconfigured: false, refusal: None },
            done => done,
        }
    }
}

impl From<Result<MailAccepted, MailFailure>> for Attempt {
    fn from(result: Result<MailAccepted, MailFailure>) -> Attempt {
        match result {
            Ok(accepted) => Attempt::Sent { message_id: accepted.message_id },
            Err(MailFailure::Temporary { code, message }) => {
                Attempt::Temporary { error: format!("{code}: {message}"), code }
            }
            Err(failure) => Attempt::Final {
                error: format!("{}: {failure}", failure.code()),
                code: failure.code().to_owned(),
                misconfigured: matches!(failure, MailFailure::Misconfigured { .. }),
                refusal: None,
            },
        }
    }
}

/// Tries at recording a message the provider took (about 6 s in all).
const RECORD_SENT_TRIES: u32 = 5;

/// Runs `step` until it succeeds, at most `tries` times, waiting `first`
/// after the first failure and twice as long after each next one.
async fn with_retries<T, E, F, Fut>(tries: u32, first: Duration, mut step: F) -> Result<T, E>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, E>>,
{
    let mut wait = first;
    let mut tried = 1;
    loop {
        match step().await {
            Ok(done) => return Ok(done),
            Err(e) if tried >= tries => return Err(e),
            Err(_) => {
                tokio::time::sleep(wait).await;
                wait *= 2;
                tried += 1;
            }
        }
    }
}

/// Runs one attempt of one job.
#[tracing::instrument(name = "deliver", skip_all, fields(delivery = %job.delivery_id, attempt = job.attempt + 1, kind = job.message.kind()))]
pub async fn deliver(core: &Core, job: &DeliveryJob) -> Result<(), DeliverError> {
    let now = now_ms();
    if job.message.expires_at_ms().is_some_and(|expires| now >= expires) {
        // The code or link is dead: sending it would only confuse.
        core.db.expire_delivery(&job.delivery_id, now).await?;
        metrics::delivery(DeliveryEvent::Expired, job.message.kind(), job.message.provider(core));
        tracing::info!(to = %job.message.recipient_masked(), "message expired before delivery; dropped");
        return Ok(());
    }
    let settings = &core.settings.delivery;
    match core.db.claim_delivery(&job.delivery_id, job.attempt, now, settings.lease.as_millis() as i64).await? {
        Claim::Claimed => {}
        // Another worker owns this attempt, or it is over already.
        Claim::Gone => return Ok(()),
        Claim::Held { until_ms } => {
            // A worker that died mid-send holds it: look again when its
            // lease runs out, rather than dropping the message.
            // Queues keep `run_after` in whole seconds: a second more, so
            // that the look comes after the lease, not just before it.
            let after = Duration::from_millis((until_ms - now).max(0) as u64 + 1000);
            core.queue.push_held(job.clone(), after).await?;
            return Ok(());
        }
    }
    let attempts = job.attempt + 1;
    let last_try = attempts >= settings.max_attempts;
    let locale = job.message.locale(core.settings.default_locale);
    let texts = Texts::of(locale);
    let (provider, attempt) = match &job.message {
        JobMessage::SmsCode { mobile, code, minutes, .. } => {
            send_sms(core, job, mobile, SmsBody::Code { code, minutes: *minutes }, locale, last_try).await?
        }
        JobMessage::SmsNotice { mobile, notice: SmsNotice::PasswordChanged { at, client_ip }, .. } => {
            send_sms(core, job, mobile, SmsBody::PasswordChanged { at, client_ip }, locale, last_try).await?
        }
        JobMessage::SmsNotice { mobile, notice: SmsNotice::Deletion { date, done }, .. } => {
            send_sms(core, job, mobile, SmsBody::Deletion { date, done: *done }, locale, last_try).await?
        }
        JobMessage::Email { to, mail, .. } => {
            let content = mail.render(&texts);
            (core.mail.name(), Attempt::from(core.mail.send(&Email { to, content: &content }).await))
        }
        JobMessage::PasswordResetLink { email, token, requested_at_ms, expires_at_ms, .. } => {
            let times = (*requested_at_ms, *expires_at_ms);
            let link = reset_link_mail(core, &job.delivery_id, email, token, times, locale);
            let Some(mail) = link.await? else {
                let skipped = end(state::SKIPPED, Some("no account has verified this address"), now_ms());
                core.db.finish_delivery(&job.delivery_id, attempts, &skipped).await?;
                tracing::info!(to = %job.message.recipient_masked(), "no account for a reset link; nothing sent");
                return Ok(());
            };
            let content = mail.render(&texts);
            (core.mail.name(), Attempt::from(core.mail.send(&Email { to: email, content: &content }).await))
        }
    };
    let now = now_ms();
    let to = job.message.recipient_masked();
    match attempt {
        Attempt::Sent { message_id } => {
            let done = DeliveryEnd {
                message_id: message_id.as_deref(),
                provider: Some(provider),
                ..end(state::SENT, None, now)
            };
            // The provider took it (and was paid): a record that fails now
            // would have the message sent again once the lease runs out, so
            // the database gets a few more tries (under load a pool's
            // timeout is the likely cause) within the lease.
            let record = || core.db.finish_delivery(&job.delivery_id, attempts, &done);
            if let Err(e) = with_retries(RECORD_SENT_TRIES, Duration::from_millis(200), record).await {
                tracing::error!(error = %e, to = %to, "delivered, but not recorded: it may be sent again after its lease");
                return Err(e.into());
            }
            let latency = Duration::from_millis((now - job.queued_at_ms).max(0) as u64);
            metrics::delivery(DeliveryEvent::Delivered { latency }, job.message.kind(), provider);
            tracing::info!(to = %to, provider, "message delivered");
            Ok(())
        }
        Attempt::Temporary { code, error } if !last_try => {
            let after = backoff(settings.retry_first, attempts, &mut rand::rng());
            let next = DeliveryJob { attempt: attempts, ..job.clone() };
            // The next attempt is queued before the record says so: a crash
            // in between leaves a task that can still claim the attempt.
            let task_id = core.queue.push(next, after).await?;
            let retrying = DeliveryEnd {
                next_try_at: Some(now + after.as_millis() as i64),
                task_id: Some(&task_id),
                error_code: Some(&code),
                provider: Some(provider),
                ..end(state::RETRYING, Some(&error), now)
            };
            core.db.finish_delivery(&job.delivery_id, attempts, &retrying).await?;
            metrics::delivery(DeliveryEvent::Retried, job.message.kind(), provider);
            tracing::warn!(to = %to, provider, error = %error, retry_in_s = after.as_secs(), "delivery failed; will retry");
            Ok(())
        }
        // Out of attempts, or refused for good.
        Attempt::Temporary { code, error } => {
            let failure = Failure { provider, code: &code, error: &error, misconfigured: false, refusal: None };
            fail(core, job, attempts, now, failure).await
        }
        Attempt::Final { code, error, misconfigured, refusal } => {
            fail(core, job, attempts, now, Failure { provider, code: &code, error: &error, misconfigured, refusal })
                .await
        }
    }
}

/// One attempt at an SMS to `mobile` (as the job holds it), and the
/// provider that made it. When the primary refuses it for its own
/// account's reasons, or fails on the last try, a fallback provider gets
/// one try at once; a bad number or a per-number limit stays final.
async fn send_sms(
    core: &Core,
    job: &DeliveryJob,
    mobile: &str,
    body: SmsBody<'_>,
    locale: Locale,
    last_try: bool,
) -> Result<(&'static str, Attempt), DeliverError> {
    let to = job_mobile(mobile)?;
    let message = SmsMessage { id: &job.delivery_id, to: &to, body, locale };
    let result = core.sms.send(&message).await;
    let primary_gave_up = match &result {
        Err(failure) if failure.is_account_problem() => true,
        Err(SmsFailure::Temporary { .. }) => last_try,
        _ => false,
    };
    if primary_gave_up && let Some(fallback) = &core.sms_fallback {
        metrics::delivery(DeliveryEvent::Failed, job.message.kind(), core.sms.name());
        let (primary, to_fallback) = (core.sms.name(), fallback.name());
        match &result {
            // The primary's account needs an operator even though messages
            // still go out: an error, at most once in a while.
            Err(failure) if failure.is_account_problem() && config_problem_is_news(now_ms()) => tracing::error!(
                primary, fallback = to_fallback, error = %failure,
                "the SMS provider refuses our configuration; the fallback provider sends until it is fixed"
            ),
            failure => tracing::warn!(
                to = %to.masked(), primary, fallback = to_fallback, error = ?failure.as_ref().err(),
                "the SMS provider gave up on a message; sending it through the fallback provider"
            ),
        }
        return Ok((fallback.name(), Attempt::of_sms(fallback.send(&message).await, job.attempt).once()));
    }
    Ok((core.sms.name(), Attempt::of_sms(result, job.attempt)))
}

/// The mobile number a job holds.
fn job_mobile(raw: &str) -> Result<Mobile, DeliverError> {
    Mobile::parse(raw).map_err(|e| DeliverError::Malformed(e.to_string()))
}

/// The reset link's e-mail, when an active account has verified `email`:
/// the link is kept (as a hash, for the account's current password) before
/// it is sent. A retry keeps the same link again, which changes nothing.
async fn reset_link_mail(
    core: &Core,
    delivery_id: &str,
    email: &str,
    token: &str,
    (requested_at_ms, expires_at_ms): (i64, i64),
    locale: Locale,
) -> Result<Option<Mail>, DeliverError> {
    let email = crate::rules::Email::parse(email).map_err(|e| DeliverError::Malformed(e.to_string()))?;
    let token = LinkToken::parse(token).ok_or_else(|| DeliverError::Malformed("reset token".into()))?;
    let Some(user) = core.db.find_user_by_account(&crate::rules::Account::Email(email)).await? else {
        return Ok(None);
    };
    if !user.is_active {
        return Ok(None);
    }
    core.db
        .insert_password_reset(&token.hash(), user.id, user.password_version, requested_at_ms, expires_at_ms)
        .await?;
    // Asked by address, the record learns its account only now: its
    // owner's export lists it, and its erasure takes it.
    core.db.assign_delivery(delivery_id, user.id).await?;
    let settings = &core.settings;
    Ok(Some(Mail::PasswordReset {
        site: settings.site_name_in(locale),
        link: settings.mailed_link("/reset", &token),
        minutes: settings.reset_link_ttl.as_secs().div_ceil(60),
    }))
}

/// A record's end state; it keeps the start of an error: enough to act on.
fn end<'a>(state: &'a str, error: Option<&'a str>, now_ms: i64) -> DeliveryEnd<'a> {
    let error = error.map(|e| e.char_indices().nth(300).map_or(e, |(i, _)| &e[..i]));
    DeliveryEnd {
        state,
        next_try_at: None,
        error,
        error_code: None,
        message_id: None,
        task_id: None,
        provider: None,
        now_ms,
    }
}

/// How a message failed for good, and at which provider.
struct Failure<'a> {
    provider: &'static str,
    code: &'a str,
    error: &'a str,
    misconfigured: bool,
    refusal: Option<SmsRefusal>,
}

/// Keeps the message as failed for good, and undoes what its sending held.
async fn fail(
    core: &Core,
    job: &DeliveryJob,
    attempts: u32,
    now: i64,
    failure: Failure<'_>,
) -> Result<(), DeliverError> {
    let Failure { provider, code, error, misconfigured, refusal } = failure;
    let failed =
        DeliveryEnd { error_code: Some(code), provider: Some(provider), ..end(state::FAILED, Some(error), now) };
    core.db.finish_delivery(&job.delivery_id, attempts, &failed).await?;
    metrics::delivery(DeliveryEvent::Failed, job.message.kind(), provider);
    if misconfigured && config_problem_is_news(now) {
        tracing::error!(kind = job.message.kind(), error = %error, "the provider refuses our configuration (account, signature, template, or credentials); nothing of this kind will be delivered until it is fixed");
    } else {
        tracing::warn!(to = %job.message.recipient_masked(), error = %error, "delivery failed for good");
    }
    if let JobMessage::SmsCode { mobile, purpose, code, .. } = &job.message {
        let mobile = job_mobile(mobile)?;
        let purpose: Purpose = purpose.parse().map_err(|_| DeliverError::Malformed("purpose".into()))?;
        // This code never arrives: the visitor may ask for another at once,
        // and hears why when the provider named a reason.
        let (cooldown, code_key) = (keys::sms_cooldown(purpose, &mobile), keys::sms_code(purpose, &mobile));
        core.store.release_send_slot_if(&cooldown, &code_key, code).await?;
        if let Some(refusal) = refusal {
            core.store.put(&keys::sms_refusal(purpose, &mobile), refusal.code(), core.settings.sms_code_ttl).await?;
        }
    }
    Ok(())
}

/// The apalis handler: a job that cannot be handled now (the database is
/// down) fails its task, which apalis keeps with the error.
async fn handle(job: DeliveryJob, core: Data<Core>) -> Result<(), BoxDynError> {
    match deliver(&core, &job).await {
        Ok(()) => Ok(()),
        Err(e) => {
            tracing::error!(error = %e, delivery = %job.delivery_id, "delivery job failed");
            Err(Box::new(e))
        }
    }
}

/// After the worker stopped on its own (its queue failed), the pause before
/// it starts again.
const RESTART_PAUSE: Duration = Duration::from_secs(2);

/// Runs a worker on `core`'s queue until `shutdown` completes; then running
/// jobs get `shutdown_grace` to finish and the others go back to the queue.
///
/// apalis ends a worker whose backend fails once (the database or Redis
/// away for a moment): this loop starts it again, so deliveries resume when
/// the queue comes back instead of stopping until the next restart.
pub fn run(
    core: Core,
    name: String,
    shutdown: std::pin::Pin<Box<dyn Future<Output = ()> + Send>>,
) -> std::pin::Pin<Box<dyn Future<Output = Result<(), String>> + Send>> {
    // Not generic, and boxed both ways, so that the worker is compiled once,
    // here, and not again by the server or by each test that stops it with
    // a future of its own (why: `use_cases`' module doc).
    Box::pin(run_until(core, name, shutdown))
}

async fn run_until(
    core: Core,
    name: String,
    shutdown: std::pin::Pin<Box<dyn Future<Output = ()> + Send>>,
) -> Result<(), String> {
    let (stop, stopping) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        shutdown.await;
        let _ = stop.send(true);
    });
    let janitor = tokio::spawn(forget_finished_tasks(core.clone()));
    let relay = tokio::spawn(relay_written_notices(core.clone()));
    let result = loop {
        let mut rx = stopping.clone();
        let signal = async move {
            let _ = rx.wait_for(|stop| *stop).await;
        };
        let ended = run_once(&core, &name, signal).await;
        if *stopping.borrow() {
            break ended;
        }
        match ended {
            Ok(()) => tracing::error!(worker = %name, "the delivery worker stopped by itself; starting it again"),
            Err(e) => tracing::error!(worker = %name, error = %e, "the delivery worker failed; starting it again"),
        }
        let mut rx = stopping.clone();
        if tokio::time::timeout(RESTART_PAUSE, rx.wait_for(|stop| *stop)).await.is_ok() {
            break Ok(());
        }
    };
    janitor.abort();
    relay.abort();
    result
}

/// One apalis worker's life: until `shutdown`, or until its backend fails.
async fn run_once(core: &Core, name: &str, shutdown: impl Future<Output = ()> + Send + 'static) -> Result<(), String> {
    let settings = core.settings.delivery.clone();
    let (stopping, stopped) = tokio::sync::oneshot::channel::<()>();
    let signal = async move {
        shutdown.await;
        let _ = stopping.send(());
        Ok::<(), std::io::Error>(())
    };
    let grace = settings.shutdown_grace;
    macro_rules! run_on {
        ($storage:expr, $config:expr) => {{
            let backend = $storage.clone().with_config($config).poll_with_interval(settings.poll_interval);
            let worker = WorkerBuilder::new(name)
                .backend(backend)
                .data(core.clone())
                .concurrency(settings.concurrency)
                .build(handle);
            bounded(worker.run_until(signal), stopped, grace).await
        }};
    }
    match &core.queue {
        Queue::Sqlite(storage) => run_on!(storage, sqlite_config(&settings)),
        Queue::Postgres(storage) => run_on!(storage, postgres_config(&settings)),
        Queue::Redis(storage) => run_on!((**storage), redis_config(storage.get_config(), &settings)),
    }
}

/// A finished task still holds its message (the code, or a link's token):
/// forget it once an SMS code would be dead. Until then `server jobs retry`
/// can send it again. A link outlives its task: the sooner its token leaves
/// the queue the better, and a person who lost the mail asks for another.
/// Records of messages that ended, links that ended, and OpenID Connect
/// grants nothing can use any more go after `records_keep`.
async fn forget_finished_tasks(core: Core) {
    let keep = core.settings.sms_code_ttl;
    let records_keep = core.settings.delivery.records_keep.as_millis() as i64;
    let mut tick = tokio::time::interval(keep.clamp(Duration::from_secs(1), Duration::from_secs(60)));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        match core.queue.forget_finished(&core.db, keep).await {
            Ok(0) => {}
            Ok(n) => tracing::debug!(tasks = n, "forgot finished delivery tasks"),
            Err(e) => tracing::warn!(error = %e, "could not forget finished delivery tasks; will try again"),
        }
        if let Err(e) = core.db.forget_old_deliveries(now_ms() - records_keep).await {
            tracing::warn!(error = %e, "could not forget old delivery records; will try again");
        }
        if let Err(e) = core.db.forget_old_links(now_ms() - records_keep).await {
            tracing::warn!(error = %e, "could not forget old links; will try again");
        }
        if let Err(e) = core.db.forget_dead_grants(now_ms() - records_keep).await {
            tracing::warn!(error = %e, "could not forget dead sign-ins of other sites; will try again");
        }
    }
}

/// How often the relay looks for notices written with their change but not
/// queued (`delivery::relay_unqueued`).
const RELAY_EVERY: Duration = Duration::from_secs(5);

async fn relay_written_notices(core: Core) {
    let mut tick = tokio::time::interval(RELAY_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if let Err(e) = super::relay_unqueued(&core).await {
            tracing::warn!(error = %e, "could not queue the notices written with their changes; will try again");
        }
    }
}

/// Heartbeats decide when a dead worker's jobs go back to the queue.
const HEARTBEAT: Duration = Duration::from_secs(5);

fn sqlite_config(settings: &super::DeliverySettings) -> apalis_sqlite::Config {
    apalis_sqlite::Config::default()
        .queue(super::QUEUE_NAME)
        .batch_size(settings.concurrency)
        .heartbeat_interval(HEARTBEAT)
        .missed_heartbeats(3)
}

fn postgres_config(settings: &super::DeliverySettings) -> apalis_postgres::Config {
    apalis_postgres::Config::default()
        .queue(super::QUEUE_NAME)
        .batch_size(settings.concurrency)
        .heartbeat_interval(HEARTBEAT)
        .missed_heartbeats(3)
}

fn redis_config(base: &apalis_redis::Config, settings: &super::DeliverySettings) -> apalis_redis::Config {
    base.clone().batch_size(settings.concurrency).heartbeat_interval(HEARTBEAT).missed_heartbeats(3)
}

/// The worker's own stop waits for running jobs without limit; `grace` after
/// the stop began we stop waiting (those jobs' leases let another worker
/// finish them, so nothing is lost).
async fn bounded<E: std::fmt::Display>(
    run: impl Future<Output = Result<(), E>>,
    stopped: tokio::sync::oneshot::Receiver<()>,
    grace: Duration,
) -> Result<(), String> {
    let deadline = async {
        if stopped.await.is_err() {
            std::future::pending::<()>().await;
        }
        tokio::time::sleep(grace).await;
    };
    tokio::select! {
        result = run => result.map_err(|e| e.to_string()),
        () = deadline => Err(format!("running deliveries did not finish within {} s", grace.as_secs())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A record that fails twice, then goes through: tried again, in time.
    #[tokio::test(start_paused = true)]
    async fn a_failed_record_is_tried_again_and_then_given_up() {
        let calls = std::cell::Cell::new(0);
        let flaky = || {
            calls.set(calls.get() + 1);
            let n = calls.get();
            async move { if n < 3 { Err("the pool timed out") } else { Ok(n) } }
        };
        assert_eq!(with_retries(5, Duration::from_millis(200), flaky).await, Ok(3));
        calls.set(0);
        let down = || {
            calls.set(calls.get() + 1);
            async { Err::<(), _>("the database is away") }
        };
        assert_eq!(with_retries(5, Duration::from_millis(200), down).await, Err("the database is away"));
        assert_eq!(calls.get(), 5, "gives up after its tries");
    }

    /// The attack: one message made to fail like a misconfiguration must not
    /// silence the error a real one gets later; ten minutes later it is
    /// news again. (Far-future times keep this apart from other tests.)
    #[test]
    fn a_configuration_problem_is_an_error_again_after_a_while() {
        let at = i64::MAX / 2;
        assert!(config_problem_is_news(at));
        assert!(!config_problem_is_news(at + 1_000), "not twice in a row");
        assert!(config_problem_is_news(at + CONFIG_PROBLEM_LOG_EVERY_MS + 1_000));
    }
}
