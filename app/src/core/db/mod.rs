//! SQL storage: SQLite by default, PostgreSQL when `DATABASE_URL` says so.
//! The same `$1`-placeholder queries run on both; migrations are per backend
//! (`migrations/sqlite`, `migrations/postgres`) and applied at start.
//! Times are stored as Unix milliseconds, the same on both backends.

mod links;
mod readers;

use super::password_hashing::PasswordHash;
use crate::rules::{Account, Email, Mobile, Nickname, Username};
pub use links::{EmailVerification, LinkState, PasswordReset, PendingEmail};
pub use readers::SqliteReaders;
use sqlx::{
    PgPool, SqlitePool,
    postgres::PgPoolOptions,
    sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions},
};
use std::{str::FromStr, sync::Arc, time::Duration};

#[derive(Clone, Debug)]
pub enum Database {
    /// The pool for writes and transactions; the readers for the reads every
    /// request makes (see `readers`).
    Sqlite(SqlitePool, Arc<SqliteReaders>),
    Postgres(PgPool),
}

/// Runs one expression against whichever pool this is.
macro_rules! on_pool_impl {
    ($db:expr, |$pool:ident| $body:expr) => {
        match $db {
            Database::Sqlite($pool, _) => $body,
            Database::Postgres($pool) => $body,
        }
    };
}
pub(crate) use on_pool_impl as on_pool;

/// Like `on_pool`, for one read that needs no transaction: with SQLite it
/// runs on one of the readers, with PostgreSQL on the pool. `$body` is a
/// `Result<_, sqlx::Error>`.
macro_rules! on_reader_impl {
    ($db:expr, |$conn:ident| $body:expr) => {
        match $db {
            Database::Sqlite(_, readers) => {
                let mut slot = readers.checkout().await;
                let result = match slot.connection().await {
                    Ok($conn) => $body,
                    Err(e) => Err(e),
                };
                slot.keep_if_sound(&result);
                result
            }
            Database::Postgres($conn) => $body,
        }
    };
}
pub(crate) use on_reader_impl as on_reader;

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("the database is unavailable: {0}")]
    Unavailable(#[source] sqlx::Error),
    #[error("migration failed: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
    #[error("bad DATABASE_URL: {0}")]
    BadUrl(String),
}

impl From<sqlx::Error> for DbError {
    fn from(e: sqlx::Error) -> Self {
        DbError::Unavailable(e)
    }
}

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct UserRow {
    pub id: i64,
    pub username: String,
    pub mobile: String,
    pub email: Option<String>,
    pub nickname: String,
    pub password_hash: String,
    pub is_active: bool,
    pub created_at: i64,
    pub last_login_at: Option<i64>,
    pub email_verified: bool,
    pub avatar: Option<String>,
    /// Bumped by every change of the password: reset links name it.
    pub password_version: i64,
    /// 注销 requested: the account is erased at this time (Unix ms) unless
    /// its owner cancels before.
    pub delete_after: Option<i64>,
    /// The tag of the language they read (empty: the default).
    pub locale: String,
}

impl UserRow {
    /// The language notices to this person are worded in.
    pub fn locale(&self, default: crate::i18n::Locale) -> crate::i18n::Locale {
        crate::i18n::Locale::from_tag(&self.locale).unwrap_or(default)
    }

    pub fn password_hash(&self) -> PasswordHash {
        PasswordHash::from_stored(self.password_hash.clone())
    }
}

pub struct NewUser<'a> {
    pub username: &'a Username,
    pub mobile: &'a Mobile,
    pub nickname: Option<&'a Nickname>,
    pub password_hash: &'a PasswordHash,
    pub now_ms: i64,
    /// The language they registered in.
    pub locale: crate::i18n::Locale,
}

#[derive(Debug, thiserror::Error)]
pub enum InsertUserError {
    #[error("the mobile number is taken")]
    MobileTaken,
    #[error("the username is taken")]
    UsernameTaken,
    #[error(transparent)]
    Db(#[from] DbError),
}

#[derive(Debug, thiserror::Error)]
pub enum SetEmailError {
    #[error("the e-mail belongs to another account")]
    Taken,
    #[error(transparent)]
    Db(#[from] DbError),
}

pub(crate) const USER_COLUMNS: &str = "id, username, mobile, email, nickname, password_hash, is_active, created_at, \
                            last_login_at, email_verified, avatar, password_version, delete_after, locale";

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct SessionRow {
    pub id: String,
    pub user_id: i64,
    pub created_at: i64,
    pub last_seen_at: i64,
    pub expires_at: i64,
    pub ended_at: Option<i64>,
    pub client_ip: String,
    pub user_agent: String,
    pub remember: bool,
    /// How it was signed in: `password`, `sms` or `register`.
    pub method: String,
}

/// How stale `last_seen_at` may get before a request records activity.
pub const SESSION_TOUCH_INTERVAL_MS: i64 = 60_000;

impl SessionRow {
    pub fn is_live(&self, now_ms: i64) -> bool {
        self.ended_at.is_none() && self.expires_at > now_ms
    }

    /// Whether a request now should update `last_seen_at`.
    pub fn needs_touch(&self, now_ms: i64) -> bool {
        now_ms - self.last_seen_at >= SESSION_TOUCH_INTERVAL_MS
    }
}

pub struct NewSession<'a> {
    pub id: &'a str,
    pub user_id: i64,
    /// The password version the sign-in checked: no session starts once it
    /// has changed (a reset, a new password) or the account was disabled.
    pub password_version: i64,
    pub now_ms: i64,
    pub expires_at: i64,
    pub client_ip: &'a str,
    pub user_agent: &'a str,
    pub remember: bool,
    /// How it was signed in: `password`, `sms` or `register`.
    pub method: &'a str,
}

const SESSION_COLUMNS: &str =
    "id, user_id, created_at, last_seen_at, expires_at, ended_at, client_ip, user_agent, remember, method";

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct AttemptRow {
    pub created_at: i64,
    pub client_ip: String,
    pub user_agent: String,
    pub method: String,
    pub outcome: String,
}

pub struct NewAttempt<'a> {
    pub user_id: i64,
    pub now_ms: i64,
    pub client_ip: &'a str,
    pub user_agent: &'a str,
    /// `password`, `sms` or `register`.
    pub method: &'a str,
    /// `success`, `wrong_password`, `locked` or `disabled`.
    pub outcome: &'a str,
}

impl Database {
    /// Connects to `url`: `postgres://...` or `sqlite://path` (the file and its
    /// folder are created when missing).
    pub async fn connect(url: &str) -> Result<Database, DbError> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let pool =
                PgPoolOptions::new().max_connections(10).acquire_timeout(Duration::from_secs(3)).connect(url).await?;
            Ok(Database::Postgres(pool))
        } else if url.starts_with("sqlite:") {
            let options = SqliteConnectOptions::from_str(url)
                .map_err(|e| DbError::BadUrl(e.to_string()))?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                // Deleted content is overwritten with zeros: an erased
                // account's number must not linger in a free page.
                .pragma("secure_delete", "ON")
                .busy_timeout(Duration::from_secs(5));
            if let Some(parent) = std::path::Path::new(options.get_filename()).parent()
                && !parent.as_os_str().is_empty()
            {
                std::fs::create_dir_all(parent).map_err(|e| DbError::BadUrl(format!("{}: {e}", parent.display())))?;
            }
            let readers = Arc::new(SqliteReaders::new(&options));
            let pool = SqlitePoolOptions::new()
                .max_connections(8)
                // No ping before each use: the "connection" is a file this
                // process holds open, and each ping was one more trip to the
                // connection's thread and back (bench/: the mobile-count
                // endpoint). sqlx still pings on release: see `readers`.
                .test_before_acquire(false)
                .acquire_timeout(Duration::from_secs(3))
                .connect_with(options)
                .await?;
            Ok(Database::Sqlite(pool, readers))
        } else {
            Err(DbError::BadUrl(format!("{url:?}: expected sqlite://... or postgres://...")))
        }
    }

    /// Our migrations, then the delivery queue's (apalis keeps its own in
    /// the same `_sqlx_migrations` table, so each ignores the other's rows).
    pub async fn migrate(&self) -> Result<(), DbError> {
        match self {
            Database::Sqlite(pool, _) => {
                let mut ours = sqlx::migrate!("../migrations/sqlite");
                ours.set_ignore_missing(true).run(pool).await?;
                let mut queue = apalis_sqlite::SqliteStorage::<()>::migrations();
                queue.set_ignore_missing(true).run(pool).await?;
            }
            Database::Postgres(pool) => {
                let mut ours = sqlx::migrate!("../migrations/postgres");
                ours.set_ignore_missing(true).run(pool).await?;
                let mut queue = apalis_postgres::PostgresStorage::<()>::migrations();
                queue.set_ignore_missing(true).run(pool).await?;
            }
        }
        Ok(())
    }

    pub fn backend_name(&self) -> &'static str {
        match self {
            Database::Sqlite(..) => "sqlite",
            Database::Postgres(_) => "postgres",
        }
    }

    pub async fn ping(&self) -> Result<(), DbError> {
        on_pool!(self, |pool| sqlx::query("SELECT 1").execute(pool).await.map(|_| ()))?;
        Ok(())
    }

    pub async fn count_mobile(&self, mobile: &Mobile) -> Result<i64, DbError> {
        let q = "SELECT COUNT(*) FROM users WHERE mobile = $1";
        Ok(on_reader!(self, |conn| sqlx::query_scalar(q).bind(mobile.as_str()).fetch_one(conn).await)?)
    }

    /// The account that has `mobile`, if one does.
    pub async fn user_id_by_mobile(&self, mobile: &Mobile) -> Result<Option<i64>, DbError> {
        let q = "SELECT id FROM users WHERE mobile = $1";
        Ok(on_pool!(self, |pool| sqlx::query_scalar(q).bind(mobile.as_str()).fetch_optional(pool).await)?)
    }

    /// Case-insensitive, as the unique index is.
    pub async fn count_username(&self, username: &str) -> Result<i64, DbError> {
        let q = "SELECT COUNT(*) FROM users WHERE lower(username) = lower($1)";
        Ok(on_reader!(self, |conn| sqlx::query_scalar(q).bind(username).fetch_one(conn).await)?)
    }

    pub async fn find_user(&self, id: i64) -> Result<Option<UserRow>, DbError> {
        let q = format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1");
        Ok(on_reader!(self, |conn| sqlx::query_as::<_, UserRow>(sqlx::AssertSqlSafe(q.as_str()))
            .bind(id)
            .fetch_optional(conn)
            .await)?)
    }

    /// The user an account names: a username (any case), a mobile, or an
    /// e-mail that has been verified.
    pub async fn find_user_by_account(&self, account: &Account) -> Result<Option<UserRow>, DbError> {
        let (condition, value) = match account {
            Account::Username(u) => ("lower(username) = lower($1)", u.as_str()),
            Account::Mobile(m) => ("mobile = $1", m.as_str()),
            Account::Email(e) => ("lower(email) = $1 AND email_verified = TRUE", e.as_str()),
        };
        let q = format!("SELECT {USER_COLUMNS} FROM users WHERE {condition}");
        Ok(on_pool!(self, |pool| sqlx::query_as::<_, UserRow>(sqlx::AssertSqlSafe(q.as_str()))
            .bind(value)
            .fetch_optional(pool)
            .await)?)
    }

    /// Runs one `UPDATE users SET ... WHERE id = $1` with one more value.
    async fn update_user<'q, T>(&self, set: &str, id: i64, value: T) -> Result<bool, DbError>
    where
        T: 'q
            + Send
            + sqlx::Encode<'q, sqlx::Sqlite>
            + sqlx::Type<sqlx::Sqlite>
            + sqlx::Encode<'q, sqlx::Postgres>
            + sqlx::Type<sqlx::Postgres>,
    {
        let q = format!("UPDATE users SET {set} WHERE id = $1");
        let done = on_pool!(self, |pool| sqlx::query(sqlx::AssertSqlSafe(q.clone()))
            .bind(id)
            .bind(value)
            .execute(pool)
            .await
            .map(|r| r.rows_affected()))?;
        Ok(done == 1)
    }

    pub async fn set_last_login(&self, user_id: i64, now_ms: i64) -> Result<bool, DbError> {
        self.update_user("last_login_at = $2", user_id, now_ms).await
    }

    pub async fn set_nickname(&self, user_id: i64, nickname: &str) -> Result<bool, DbError> {
        self.update_user("nickname = $2", user_id, nickname.to_owned()).await
    }

    /// The language the person switched to.
    pub async fn set_locale(&self, user_id: i64, locale: crate::i18n::Locale) -> Result<bool, DbError> {
        self.update_user("locale = $2", user_id, locale.tag().to_owned()).await
    }

    /// Every change of the password passes here (or through a reset link):
    /// it kills the reset links made before it, ends the user's sessions but
    /// `keep`, and writes the `notices` that report it, in one transaction,
    /// so that no dropped request can leave a changed password with its old
    /// sessions alive or its owner untold. Returns how many sessions ended.
    pub async fn set_password_hash(
        &self,
        user_id: i64,
        hash: &PasswordHash,
        keep: Option<&str>,
        now_ms: i64,
        notices: &[crate::core::delivery::NewDelivery],
    ) -> Result<u64, DbError> {
        let set = "UPDATE users SET password_hash = $2, password_version = password_version + 1 WHERE id = $1";
        Ok(on_pool!(self, |pool| async {
            let mut tx = pool.begin().await?;
            sqlx::query(set).bind(user_id).bind(hash.as_str()).execute(&mut *tx).await?;
            let ended = end_what_a_new_password_ends!(tx, user_id, keep.unwrap_or(""), now_ms).await?;
            crate::core::delivery::write_deliveries!(tx, notices).await?;
            tx.commit().await?;
            Ok::<_, sqlx::Error>(ended)
        }
        .await)?)
    }

    pub async fn set_active(&self, user_id: i64, active: bool) -> Result<bool, DbError> {
        self.update_user("is_active = $2", user_id, active).await
    }

    /// Makes `email` the user's verified address, as an operator vouching for
    /// it does (a user proves one by a link: `verify_email`).
    pub async fn set_verified_email(&self, user_id: i64, email: &Email) -> Result<bool, SetEmailError> {
        let q = "UPDATE users SET email = $2, email_verified = TRUE WHERE id = $1";
        let result = on_pool!(self, |pool| sqlx::query(q)
            .bind(user_id)
            .bind(email.as_str())
            .execute(pool)
            .await
            .map(|r| r.rows_affected()));
        match result {
            Ok(n) => Ok(n == 1),
            Err(e) if unique_violation(&e).is_some() => Err(SetEmailError::Taken),
            Err(e) => Err(SetEmailError::Db(e.into())),
        }
    }

    /// Starts a session, in one statement with the check that the account
    /// is still active and its password still the one the sign-in checked
    /// (a reset that commits while a sign-in verifies the old password ends
    /// every session; a session started after it must not slip through).
    /// False when it was not started for that reason.
    pub async fn create_session(&self, new: &NewSession<'_>) -> Result<bool, DbError> {
        let q = "INSERT INTO sessions (id, user_id, created_at, last_seen_at, expires_at, client_ip, user_agent, remember, \
                 method) SELECT $1, $2, $3, $3, $4, $5, $6, $7, $9 FROM users \
                 WHERE id = $2 AND password_version = $8 AND is_active";
        let inserted = on_pool!(self, |pool| sqlx::query(q)
            .bind(new.id)
            .bind(new.user_id)
            .bind(new.now_ms)
            .bind(new.expires_at)
            .bind(new.client_ip)
            .bind(new.user_agent)
            .bind(new.remember)
            .bind(new.password_version)
            .bind(new.method)
            .execute(pool)
            .await
            .map(|r| r.rows_affected()))?;
        Ok(inserted == 1)
    }

    pub async fn find_session(&self, id: &str) -> Result<Option<SessionRow>, DbError> {
        let q = format!("SELECT {SESSION_COLUMNS} FROM sessions WHERE id = $1");
        Ok(on_reader!(self, |conn| sqlx::query_as::<_, SessionRow>(sqlx::AssertSqlSafe(q.as_str()))
            .bind(id)
            .fetch_optional(conn)
            .await)?)
    }

    /// Records activity, at most once per `SESSION_TOUCH_INTERVAL_MS` per
    /// session (a write per page view would be wasted).
    pub async fn touch_session(&self, id: &str, now_ms: i64) -> Result<(), DbError> {
        let q = "UPDATE sessions SET last_seen_at = $2 WHERE id = $1 AND last_seen_at < $2 - $3";
        on_pool!(self, |pool| sqlx::query(q)
            .bind(id)
            .bind(now_ms)
            .bind(SESSION_TOUCH_INTERVAL_MS)
            .execute(pool)
            .await
            .map(|_| ()))?;
        Ok(())
    }

    /// The user's sessions that are neither ended nor expired, newest first.
    pub async fn live_sessions(&self, user_id: i64, now_ms: i64) -> Result<Vec<SessionRow>, DbError> {
        let q = format!(
            "SELECT {SESSION_COLUMNS} FROM sessions WHERE user_id = $1 AND ended_at IS NULL AND expires_at > $2 \
             ORDER BY created_at DESC"
        );
        Ok(on_pool!(self, |pool| sqlx::query_as::<_, SessionRow>(sqlx::AssertSqlSafe(q.as_str()))
            .bind(user_id)
            .bind(now_ms)
            .fetch_all(pool)
            .await)?)
    }

    /// Ends one of the user's sessions; false when it is not theirs or already ended.
    pub async fn end_session(&self, user_id: i64, id: &str, now_ms: i64) -> Result<bool, DbError> {
        let q = "UPDATE sessions SET ended_at = $3 WHERE id = $1 AND user_id = $2 AND ended_at IS NULL";
        let done = on_pool!(self, |pool| sqlx::query(q)
            .bind(id)
            .bind(user_id)
            .bind(now_ms)
            .execute(pool)
            .await
            .map(|r| r.rows_affected()))?;
        Ok(done == 1)
    }

    /// Ends all the user's sessions but `keep`, if given. Returns how many.
    pub async fn end_sessions(&self, user_id: i64, keep: Option<&str>, now_ms: i64) -> Result<u64, DbError> {
        Ok(on_pool!(self, |pool| sqlx::query(END_SESSIONS)
            .bind(user_id)
            .bind(now_ms)
            .bind(keep.unwrap_or(""))
            .execute(pool)
            .await
            .map(|r| r.rows_affected()))?)
    }

    pub async fn record_attempt(&self, new: &NewAttempt<'_>) -> Result<(), DbError> {
        let q = "INSERT INTO login_attempts (user_id, created_at, client_ip, user_agent, method, outcome) \
                 VALUES ($1, $2, $3, $4, $5, $6)";
        on_pool!(self, |pool| sqlx::query(q)
            .bind(new.user_id)
            .bind(new.now_ms)
            .bind(new.client_ip)
            .bind(new.user_agent)
            .bind(new.method)
            .bind(new.outcome)
            .execute(pool)
            .await
            .map(|_| ()))?;
        Ok(())
    }

    /// The user's newest sign-in attempts.
    pub async fn recent_attempts(&self, user_id: i64, limit: i64) -> Result<Vec<AttemptRow>, DbError> {
        let q = "SELECT created_at, client_ip, user_agent, method, outcome FROM login_attempts \
                 WHERE user_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2";
        Ok(on_pool!(self, |pool| sqlx::query_as::<_, AttemptRow>(q).bind(user_id).bind(limit).fetch_all(pool).await)?)
    }

    /// Inserts a user; the unique indexes decide races, and a violation
    /// comes back as the field it concerns.
    pub async fn insert_user(&self, new: &NewUser<'_>) -> Result<UserRow, InsertUserError> {
        self.insert_user_accepting(new, &[]).await
    }

    /// Inserts a user and, in the same transaction, the texts they
    /// accepted: an account never exists without its consent on record.
    pub async fn insert_user_accepting(
        &self,
        new: &NewUser<'_>,
        accepted: &[crate::core::legal::NewAcceptance<'_>],
    ) -> Result<UserRow, InsertUserError> {
        let q = format!(
            "INSERT INTO users (username, mobile, nickname, password_hash, is_active, created_at, last_login_at, locale) \
             VALUES ($1, $2, $3, $4, TRUE, $5, $5, $6) RETURNING {USER_COLUMNS}"
        );
        let nickname = new.nickname.map(Nickname::as_str).unwrap_or("");
        let result = on_pool!(self, |pool| async {
            let mut tx = pool.begin().await?;
            let user = sqlx::query_as::<_, UserRow>(sqlx::AssertSqlSafe(q.as_str()))
                .bind(new.username.as_str())
                .bind(new.mobile.as_str())
                .bind(nickname)
                .bind(new.password_hash.as_str())
                .bind(new.now_ms)
                .bind(new.locale.tag())
                .fetch_one(&mut *tx)
                .await?;
            crate::core::legal::insert_acceptances!(tx, user.id, accepted).await?;
            tx.commit().await?;
            Ok::<_, sqlx::Error>(user)
        }
        .await);
        result.map_err(|e| match unique_violation(&e) {
            Some(c) if c.contains("mobile") => InsertUserError::MobileTaken,
            Some(c) if c.contains("username") => InsertUserError::UsernameTaken,
            _ => InsertUserError::Db(DbError::Unavailable(e)),
        })
    }
}

/// Ends a user's sessions ($1) but one ($3, or none: ''), at $2.
pub(crate) const END_SESSIONS: &str =
    "UPDATE sessions SET ended_at = $2 WHERE user_id = $1 AND ended_at IS NULL AND id <> $3";

/// Ends the account's waiting e-mail verification links (a new password:
/// whoever asked for one before it may have been someone who had the old).
pub(crate) const END_EMAIL_LINKS: &str =
    "UPDATE email_verifications SET used_at = $2 WHERE user_id = $1 AND used_at IS NULL";

/// What every new password ends, in its transaction `$tx`: the other
/// sessions (all but `$keep`) and the waiting e-mail links. Evaluates to the
/// sessions ended. (A macro: one body for either backend's transaction.)
macro_rules! end_what_a_new_password_ends_impl {
    ($tx:expr, $user_id:expr, $keep:expr, $now_ms:expr) => {
        async {
            let ended = sqlx::query($crate::core::db::END_SESSIONS)
                .bind($user_id)
                .bind($now_ms)
                .bind($keep)
                .execute(&mut *$tx)
                .await?
                .rows_affected();
            sqlx::query($crate::core::db::END_EMAIL_LINKS).bind($user_id).bind($now_ms).execute(&mut *$tx).await?;
            Ok::<u64, sqlx::Error>(ended)
        }
    };
}
pub(crate) use end_what_a_new_password_ends_impl as end_what_a_new_password_ends;

/// The constraint (PostgreSQL) or message (SQLite) of a unique violation.
fn unique_violation(e: &sqlx::Error) -> Option<String> {
    let db = e.as_database_error()?;
    if !db.is_unique_violation() {
        return None;
    }
    Some(db.constraint().map(str::to_owned).unwrap_or_else(|| db.message().to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::test_support;

    fn new_user<'a>(username: &'a Username, mobile: &'a Mobile, hash: &'a PasswordHash) -> NewUser<'a> {
        NewUser {
            username,
            mobile,
            nickname: None,
            password_hash: hash,
            now_ms: 1_700_000_000_000,
            locale: crate::i18n::Locale::REFERENCE,
        }
    }

    /// The repository behaviour both backends must show.
    async fn repository_suite(db: Database) {
        db.migrate().await.unwrap();
        db.ping().await.unwrap();
        let hash = PasswordHash::from_stored("$argon2id$test".into());
        let (alice, mobile) = (Username::parse("Alice_01").unwrap(), Mobile::parse("13800000001").unwrap());
        let row = db.insert_user(&new_user(&alice, &mobile, &hash)).await.unwrap();
        assert_eq!((row.username.as_str(), row.mobile.as_str(), row.is_active), ("Alice_01", "13800000001", true));
        assert_eq!(db.find_user(row.id).await.unwrap().unwrap().username, "Alice_01");
        assert_eq!(db.count_mobile(&mobile).await.unwrap(), 1);
        assert_eq!(db.count_username("alice_01").await.unwrap(), 1, "case-insensitive");

        let other_mobile = Mobile::parse("13800000002").unwrap();
        let shouting = Username::parse("ALICE_01").unwrap();
        assert!(matches!(
            db.insert_user(&new_user(&shouting, &other_mobile, &hash)).await,
            Err(InsertUserError::UsernameTaken)
        ));
        let bob = Username::parse("Bobby_02").unwrap();
        assert!(matches!(db.insert_user(&new_user(&bob, &mobile, &hash)).await, Err(InsertUserError::MobileTaken)));

        // A new password ends the sessions in the same step, but the one kept.
        for id in ["s-kept", "s-ended"] {
            let session = NewSession {
                id,
                user_id: row.id,
                password_version: row.password_version,
                now_ms: 1_700_000_000_000,
                expires_at: i64::MAX,
                client_ip: "127.0.0.1",
                user_agent: "test",
                remember: false,
                method: "password",
            };
            assert!(db.create_session(&session).await.unwrap());
        }
        let new_hash = PasswordHash::from_stored("$argon2id$new".into());
        assert_eq!(db.set_password_hash(row.id, &new_hash, Some("s-kept"), 1_700_000_000_001, &[]).await.unwrap(), 1);
        let (kept, ended) = (db.find_session("s-kept").await.unwrap(), db.find_session("s-ended").await.unwrap());
        assert!(kept.unwrap().ended_at.is_none() && ended.unwrap().ended_at == Some(1_700_000_000_001));
        let changed = db.find_user(row.id).await.unwrap().unwrap();
        // A sign-in that checked the old password starts no session now.
        let late = NewSession {
            id: "s-late",
            user_id: row.id,
            password_version: row.password_version,
            now_ms: 1_700_000_000_002,
            expires_at: i64::MAX,
            client_ip: "127.0.0.1",
            user_agent: "test",
            remember: false,
            method: "password",
        };
        assert!(!db.create_session(&late).await.unwrap(), "the password it checked is no longer the password");
        assert!(db.find_session("s-late").await.unwrap().is_none());
        assert_eq!(
            (changed.password_hash.as_str(), changed.password_version),
            ("$argon2id$new", row.password_version + 1)
        );

        // Simultaneous inserts of one number: exactly one wins.
        let mut tasks = tokio::task::JoinSet::new();
        for i in 0..8 {
            let db = db.clone();
            tasks.spawn(async move {
                let (u, m) = (Username::parse(&format!("racer{i:02}")).unwrap(), Mobile::parse("13900000009").unwrap());
                let hash = PasswordHash::from_stored("$argon2id$test".into());
                db.insert_user(&new_user(&u, &m, &hash)).await
            });
        }
        let results = tasks.join_all().await;
        assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 1);
        assert!(results.iter().filter(|r| r.is_err()).all(|r| matches!(r, Err(InsertUserError::MobileTaken))));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn the_repository_works_on_sqlite() {
        let dir = std::env::temp_dir().join(format!("repo-{}", uuid::Uuid::new_v4().simple()));
        let url = format!("sqlite://{}/app.db", dir.display());
        repository_suite(Database::connect(&url).await.unwrap()).await;
        let _ = std::fs::remove_dir_all(dir);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn the_repository_works_on_postgres() {
        let Some(server) = test_support::postgres_url() else { return };
        let url = test_support::fresh_postgres_database(&server).await;
        repository_suite(Database::connect(&url).await.unwrap()).await;
    }

    #[tokio::test]
    async fn an_unknown_url_scheme_is_refused_with_its_reason() {
        let err = Database::connect("mysql://x").await.unwrap_err();
        assert!(err.to_string().contains("expected sqlite://"));
    }
}
