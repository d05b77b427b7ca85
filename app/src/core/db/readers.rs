//! SQLite's read-only connections for the reads every request makes (the
//! lookups, the session and its user), kept apart from sqlx's pool.
//!
//! Why not the pool: sqlx 0.9 pings a connection each time it goes back to
//! its pool (`PoolConnection::return_to_pool`, unconditional), and with
//! SQLite each ping is a trip to the connection's thread and back, plus a
//! task spawned to make it: about a sixth of a lookup's CPU (`bench/`, the
//! mobile-count endpoint; the README's Benchmarks say the same). The ping guards against a query abandoned
//! half-way; SQLite's connection thread runs each command to its end on its
//! own and drops what no one waits for, so a reader needs no such guard.
//!
//! Each reader is opened on first use (after the migrations have made the
//! file) and opened again after a failure that says the connection itself
//! broke. Read-only: a bug cannot make one of them write.

use sqlx::{ConnectOptions, SqliteConnection, sqlite::SqliteConnectOptions};
use std::sync::atomic::{AtomicUsize, Ordering};
use tokio::sync::{Mutex, MutexGuard};

#[derive(Debug)]
pub struct SqliteReaders {
    options: SqliteConnectOptions,
    slots: Box<[Mutex<Option<SqliteConnection>>]>,
    /// Where a request that found every reader busy queues.
    next: AtomicUsize,
}

impl SqliteReaders {
    /// One reader per core and one more: each has its own thread, and a
    /// reader waiting for its answer keeps no core busy. (On 2 cores: 1
    /// reader left lookups at 70 % of 3; 8 gave nothing over 3.)
    pub fn new(options: &SqliteConnectOptions) -> SqliteReaders {
        let count = std::thread::available_parallelism().map_or(2, |n| n.get()) + 1;
        SqliteReaders {
            options: options.clone().read_only(true),
            slots: (0..count).map(|_| Mutex::new(None)).collect(),
            next: AtomicUsize::new(0),
        }
    }

    /// A free reader, or a place in one reader's queue when all are busy.
    pub async fn checkout(&self) -> ReaderSlot<'_> {
        for slot in &self.slots {
            if let Ok(guard) = slot.try_lock() {
                return ReaderSlot { guard, options: &self.options };
            }
        }
        let turn = self.next.fetch_add(1, Ordering::Relaxed) % self.slots.len();
        ReaderSlot { guard: self.slots[turn].lock().await, options: &self.options }
    }
}

/// One reader, held for one query.
pub struct ReaderSlot<'a> {
    guard: MutexGuard<'a, Option<SqliteConnection>>,
    options: &'a SqliteConnectOptions,
}

impl ReaderSlot<'_> {
    /// The connection, opened when this slot has none yet.
    pub async fn connection(&mut self) -> Result<&mut SqliteConnection, sqlx::Error> {
        match &mut *self.guard {
            Some(connection) => Ok(connection),
            empty => Ok(empty.insert(self.options.connect().await?)),
        }
    }

    /// Drops the connection when `result` says it broke (not when the query
    /// merely failed), so that the next use opens a new one.
    pub fn keep_if_sound<T>(&mut self, result: &Result<T, sqlx::Error>) {
        if let Err(sqlx::Error::Io(_) | sqlx::Error::WorkerCrashed | sqlx::Error::Protocol(_)) = result {
            *self.guard = None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    /// A file with one table, a pool on it, and its readers (the file goes with `Gone`).
    async fn readers_of_a_new_file() -> (Gone, sqlx::SqlitePool, SqliteReaders) {
        let file = std::env::temp_dir().join(format!("readers-{}.db", uuid::Uuid::new_v4().simple()));
        let options =
            SqliteConnectOptions::from_str(&format!("sqlite://{}", file.display())).unwrap().create_if_missing(true);
        let pool = sqlx::SqlitePool::connect_with(options.clone()).await.unwrap();
        sqlx::query("CREATE TABLE t (v INTEGER)").execute(&pool).await.unwrap();
        (Gone(file), pool, SqliteReaders::new(&options))
    }

    struct Gone(std::path::PathBuf);
    impl Drop for Gone {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(&self.0);
        }
    }

    #[tokio::test]
    async fn a_reader_sees_what_the_pool_committed_and_cannot_write() {
        let (_file, pool, readers) = readers_of_a_new_file().await;
        sqlx::query("INSERT INTO t VALUES (7)").execute(&pool).await.unwrap();
        let mut slot = readers.checkout().await;
        let conn = slot.connection().await.unwrap();
        let v: i64 = sqlx::query_scalar("SELECT v FROM t").fetch_one(&mut *conn).await.unwrap();
        assert_eq!(v, 7);
        let write = sqlx::query("INSERT INTO t VALUES (8)").execute(&mut *conn).await;
        assert!(write.is_err(), "a reader wrote: {write:?}");
        slot.keep_if_sound(&write);
        assert!(slot.guard.is_some(), "a refused write is not a broken connection");
    }

    #[tokio::test]
    async fn simultaneous_reads_beyond_the_readers_all_get_their_answer() {
        let (_file, pool, readers) = readers_of_a_new_file().await;
        sqlx::query("INSERT INTO t VALUES (1)").execute(&pool).await.unwrap();
        let reads = (0..40).map(|_| async {
            let mut slot = readers.checkout().await;
            let conn = slot.connection().await.unwrap();
            sqlx::query_scalar::<_, i64>("SELECT count(*) FROM t").fetch_one(conn).await.unwrap()
        });
        let answers = futures::future::join_all(reads).await;
        assert_eq!(answers, vec![1; 40]);
        assert!(readers.slots.len() < 40);
    }

    #[tokio::test]
    async fn a_read_abandoned_half_way_leaves_the_reader_answering_the_next_one() {
        let (_file, pool, readers) = readers_of_a_new_file().await;
        sqlx::query("INSERT INTO t VALUES (5)").execute(&pool).await.unwrap();
        // A client that leaves: its read (long enough to be caught in the
        // middle) is dropped while the reader's thread is still on it.
        let slow = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1000000) \
                    SELECT count(*) FROM n";
        for _ in 0..2 {
            let mut slot = readers.checkout().await;
            let conn = slot.connection().await.unwrap();
            let left = tokio::time::timeout(
                std::time::Duration::from_millis(5),
                sqlx::query_scalar::<_, i64>(slow).fetch_one(&mut *conn),
            )
            .await;
            assert!(left.is_err(), "the slow read finished in 5 ms: make it slower");
            let v: i64 = sqlx::query_scalar("SELECT v FROM t").fetch_one(&mut *conn).await.unwrap();
            assert_eq!(v, 5, "the next read got what the abandoned one left");
        }
    }

    #[tokio::test]
    async fn a_reader_opens_on_a_wal_file_no_other_connection_holds() {
        let (_file, pool, readers) = readers_of_a_new_file().await;
        sqlx::query("PRAGMA journal_mode = WAL").execute(&pool).await.unwrap();
        sqlx::query("INSERT INTO t VALUES (9)").execute(&pool).await.unwrap();
        pool.close().await;
        let mut slot = readers.checkout().await;
        let conn = slot.connection().await.unwrap();
        let v: i64 = sqlx::query_scalar("SELECT v FROM t").fetch_one(conn).await.unwrap();
        assert_eq!(v, 9);
    }

    #[tokio::test]
    async fn a_broken_reader_is_opened_again() {
        let (_file, _pool, readers) = readers_of_a_new_file().await;
        let mut slot = readers.checkout().await;
        slot.connection().await.unwrap();
        slot.keep_if_sound::<()>(&Err(sqlx::Error::WorkerCrashed));
        assert!(slot.guard.is_none());
        let conn = slot.connection().await.unwrap();
        let one: i64 = sqlx::query_scalar("SELECT 1").fetch_one(conn).await.unwrap();
        assert_eq!(one, 1);
    }
}
