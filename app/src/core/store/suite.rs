//! The behaviour every store backend must show, run against each of them.

use super::{CodeCheck, Hit, PasswordAttempt, PasswordGate, PasswordOutcome, SendSlot, SendSlotRequest, Store};
use std::{future::Future, time::Duration};
use tokio::task::JoinSet;

const MIN: Duration = Duration::from_secs(60);
/// The password attempts' window; their address counter is per-address
/// (`PER_ADDRESS`), as in the use cases, so that the in-process store's
/// sketch takes the same attacks as Redis.
const FAILURES: Duration = Duration::from_secs(900);

fn slot<'a>(n: &'a str, day: &'a str, ip: &'a str, code: &'a str) -> SendSlotRequest<'a> {
    SendSlotRequest {
        cooldown_key: n,
        cooldown: MIN,
        day_key: day,
        day_cap: 10,
        day_window: Duration::from_secs(86_400),
        ip_key: ip,
        ip_cap: 20,
        ip_window: Duration::from_secs(3_600),
        site_key: "site",
        site_cap: 1000,
        site_window: Duration::from_secs(3_600),
        code_key: code,
        code: "123456",
        code_ttl: Duration::from_secs(300),
        notice_key: "notice",
    }
}

/// Runs every check with a fresh key prefix each, so backends sharing one
/// server (Redis) never see each other's keys.
pub async fn run_all<F, Fut>(make: F)
where
    F: Fn(String) -> Fut,
    Fut: Future<Output = Store>,
{
    let run = uuid::Uuid::new_v4().simple().to_string();
    let p = |name: &str| format!("suite:{run}:{name}:");
    take_is_single_use(make(p("take")).await).await;
    ttl_reports_what_is_left(make(p("ttl")).await).await;
    hit_refuses_past_the_limit(make(p("hit")).await).await;
    count_reads_a_window_and_delete_closes_it(make(p("count")).await).await;
    twelve_simultaneous_sends_get_one_slot(make(p("race")).await).await;
    the_daily_cap_counts_across_cooldowns(make(p("day")).await).await;
    the_ip_cap_counts_across_numbers(make(p("ip")).await).await;
    five_wrong_codes_kill_the_code(make(p("wrong")).await).await;
    simultaneous_wrong_codes_are_all_counted(make(p("wrongrace")).await).await;
    a_right_code_stays_until_consumed_once(make(p("consume")).await).await;
    a_new_send_resets_the_attempts(make(p("reset")).await).await;
    a_released_slot_allows_an_immediate_retry(make(p("release")).await).await;
    a_conditional_release_spares_a_newer_code(make(p("release-if")).await).await;
    a_granted_slot_clears_the_last_notice(make(p("notice")).await).await;
    the_site_budget_counts_every_number_and_address(make(p("site")).await).await;
    thirty_simultaneous_attempts_pass_the_gate_only_until_the_captcha(make(p("gate")).await).await;
    with_captchas_solved_the_lock_holds_against_a_simultaneous_burst(make(p("gate-lock")).await).await;
    a_right_password_clears_the_account_and_counts_nothing(make(p("gate-pass")).await).await;
    attempts_in_flight_hold_the_address_back_but_never_ask_its_captcha(make(p("gate-ip")).await).await;
    an_abandoned_attempt_gives_its_place_back_and_counts_nothing(make(p("gate-abandon")).await).await;
    a_place_in_flight_lapses_after_its_hold(make(p("gate-lapse")).await).await;
}

fn attempt(id: &str, captcha_solved: bool) -> PasswordAttempt<'_> {
    PasswordAttempt {
        account_key: "acct",
        lock_key: "lock",
        ip_key: "@ip",
        ip_account_key: Some("~ip-acct"),
        id,
        hold: MIN,
        window: FAILURES,
        captcha_after: Some(3),
        ip_captcha_after: Some(20),
        captcha_solved,
        lock_after: 10,
        lock_for: Duration::from_secs(900),
    }
}

/// 30 attempts at the same instant, as one attacker's burst: what the gate
/// said to each, by attempt id.
async fn burst(store: &Store, solved: bool) -> Vec<(String, PasswordGate)> {
    let mut set = JoinSet::new();
    for i in 0..30 {
        let store = store.clone();
        set.spawn(async move {
            let id = format!("a{i}");
            let gate = store.gate_password_attempt(&attempt(&id, solved)).await.unwrap();
            (id, gate)
        });
    }
    set.join_all().await
}

async fn settle_all(store: &Store, gates: &[(String, PasswordGate)], outcome: PasswordOutcome) {
    for (id, gate) in gates {
        if *gate == PasswordGate::Proceed {
            store.settle_password_attempt(&attempt(id, false), outcome).await.unwrap();
        }
    }
}

fn tally(gates: &[(String, PasswordGate)], which: PasswordGate) -> usize {
    gates.iter().filter(|(_, g)| *g == which).count()
}

async fn thirty_simultaneous_attempts_pass_the_gate_only_until_the_captcha(store: Store) {
    let gates = burst(&store, false).await;
    assert_eq!(tally(&gates, PasswordGate::Proceed), 3, "{gates:?}");
    assert_eq!(tally(&gates, PasswordGate::Wait), 27, "the rest wait for the verdicts in flight");
    assert_eq!(store.count("acct", MIN).await.unwrap(), 0, "nothing is a failure before its verdict");
    settle_all(&store, &gates, PasswordOutcome::Wrong).await;
    assert_eq!(store.count("acct", MIN).await.unwrap(), 3);
    assert_eq!(store.count("@ip", FAILURES).await.unwrap(), 3);
    let again = burst(&store, false).await;
    assert_eq!(tally(&again, PasswordGate::CaptchaRequired), 30, "{again:?}");
}

async fn with_captchas_solved_the_lock_holds_against_a_simultaneous_burst(store: Store) {
    let gates = burst(&store, true).await;
    assert_eq!(tally(&gates, PasswordGate::Proceed), 10, "{gates:?}");
    assert_eq!(tally(&gates, PasswordGate::Wait), 20);
    settle_all(&store, &gates, PasswordOutcome::Wrong).await;
    assert!(store.ttl("lock").await.unwrap().is_some(), "locked");
    assert_eq!(store.count("acct", MIN).await.unwrap(), 0, "the lock replaced the count");
    let again = burst(&store, true).await;
    assert!(again.iter().all(|(_, g)| matches!(g, PasswordGate::Locked { .. })), "{again:?}");
    assert_eq!(store.count("@ip", FAILURES).await.unwrap(), 40, "refusals of a locked account count for the address");
}

async fn a_right_password_clears_the_account_and_counts_nothing(store: Store) {
    for id in ["w1", "w2"] {
        assert_eq!(store.gate_password_attempt(&attempt(id, false)).await.unwrap(), PasswordGate::Proceed);
        store.settle_password_attempt(&attempt(id, false), PasswordOutcome::Wrong).await.unwrap();
    }
    assert_eq!(store.count("~ip-acct", FAILURES).await.unwrap(), 2, "the pair's own count, for the page");
    assert_eq!(store.gate_password_attempt(&attempt("r", false)).await.unwrap(), PasswordGate::Proceed);
    store.settle_password_attempt(&attempt("r", false), PasswordOutcome::Right).await.unwrap();
    let counts = (
        store.count("acct", MIN).await.unwrap(),
        store.count("@ip", FAILURES).await.unwrap(),
        store.count("~ip-acct", FAILURES).await.unwrap(),
    );
    assert_eq!(counts, (0, 2, 0), "the address keeps the failures that happened");
}

/// An attempt for the account named `id` (each its own), from "@ip".
fn for_account(id: &str) -> PasswordAttempt<'_> {
    PasswordAttempt { account_key: id, lock_key: "lock-of-nobody", ip_account_key: None, ..attempt(id, false) }
}

/// Many accounts from one address: attempts in flight hold places against
/// the address's threshold (the ones past it wait), but only failures ask
/// for its captcha, so right passwords never do.
async fn attempts_in_flight_hold_the_address_back_but_never_ask_its_captcha(store: Store) {
    let ids: Vec<String> = (0..20).map(|i| format!("p{i}")).collect();
    for id in &ids {
        assert_eq!(store.gate_password_attempt(&for_account(id)).await.unwrap(), PasswordGate::Proceed);
    }
    assert_eq!(store.gate_password_attempt(&for_account("late")).await.unwrap(), PasswordGate::Wait);
    for id in &ids {
        store.settle_password_attempt(&for_account(id), PasswordOutcome::Right).await.unwrap();
    }
    assert_eq!(store.gate_password_attempt(&for_account("late")).await.unwrap(), PasswordGate::Proceed);
    store.settle_password_attempt(&for_account("late"), PasswordOutcome::Wrong).await.unwrap();
    assert_eq!(store.count("@ip", FAILURES).await.unwrap(), 1, "twenty right, one wrong");
}

async fn an_abandoned_attempt_gives_its_place_back_and_counts_nothing(store: Store) {
    for id in ["x1", "x2", "x3"] {
        assert_eq!(store.gate_password_attempt(&attempt(id, false)).await.unwrap(), PasswordGate::Proceed);
    }
    assert_eq!(store.gate_password_attempt(&attempt("x4", false)).await.unwrap(), PasswordGate::Wait);
    store.settle_password_attempt(&attempt("x2", false), PasswordOutcome::Abandoned).await.unwrap();
    assert_eq!(store.gate_password_attempt(&attempt("x4", false)).await.unwrap(), PasswordGate::Proceed);
    assert_eq!((store.count("acct", MIN).await.unwrap(), store.count("@ip", FAILURES).await.unwrap()), (0, 0));
}

/// A verdict that never comes (a server stopped mid-hash, with Redis
/// shared by others) holds its place no longer than its hold.
async fn a_place_in_flight_lapses_after_its_hold(store: Store) {
    let short = |id| PasswordAttempt { hold: Duration::from_millis(300), ..attempt(id, false) };
    for id in ["y1", "y2", "y3"] {
        assert_eq!(store.gate_password_attempt(&short(id)).await.unwrap(), PasswordGate::Proceed);
    }
    assert_eq!(store.gate_password_attempt(&short("y4")).await.unwrap(), PasswordGate::Wait);
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(store.gate_password_attempt(&short("y4")).await.unwrap(), PasswordGate::Proceed);
}

async fn the_site_budget_counts_every_number_and_address(store: Store) {
    let mut set = JoinSet::new();
    for i in 0..12 {
        let store = store.clone();
        set.spawn(async move {
            let (n, d, ip, c) = (format!("n{i}"), format!("d{i}"), format!("@ip{i}"), format!("c{i}"));
            let req = SendSlotRequest { site_cap: 5, ..slot(&n, &d, &ip, &c) };
            store.acquire_send_slot(&req).await.unwrap()
        });
    }
    let slots = set.join_all().await;
    assert_eq!(slots.iter().filter(|s| **s == SendSlot::Granted).count(), 5, "{slots:?}");
    assert!(slots.iter().filter(|s| **s != SendSlot::Granted).all(|s| matches!(s, SendSlot::SiteCap { .. })));
}

async fn a_granted_slot_clears_the_last_notice(store: Store) {
    store.put("notice", "sms_provider_blocked", MIN).await.unwrap();
    assert_eq!(store.acquire_send_slot(&slot("n", "d", "i", "c")).await.unwrap(), SendSlot::Granted);
    assert_eq!(store.get("notice").await.unwrap(), None, "cleared in the same step");
    // A refused slot leaves it alone.
    store.put("notice", "sms_provider_blocked", MIN).await.unwrap();
    assert!(matches!(store.acquire_send_slot(&slot("n", "d", "i", "c")).await.unwrap(), SendSlot::Cooldown { .. }));
    assert_eq!(store.get("notice").await.unwrap().as_deref(), Some("sms_provider_blocked"));
}

async fn a_conditional_release_spares_a_newer_code(store: Store) {
    assert_eq!(store.acquire_send_slot(&slot("n", "d", "i", "c")).await.unwrap(), SendSlot::Granted);
    // A failed delivery of an older code must not free the newer one's slot.
    assert!(!store.release_send_slot_if("n", "c", "654321").await.unwrap());
    assert!(store.ttl("n").await.unwrap().is_some());
    assert_eq!(store.check_code("c", "123456", 5).await.unwrap(), CodeCheck::Match);
    assert!(store.release_send_slot_if("n", "c", "123456").await.unwrap());
    assert_eq!(store.ttl("n").await.unwrap(), None);
    assert_eq!(store.check_code("c", "123456", 5).await.unwrap(), CodeCheck::Missing);
}

async fn take_is_single_use(store: Store) {
    store.put("captcha:a", "AB3D", Duration::from_secs(300)).await.unwrap();
    assert_eq!(store.get("captcha:a").await.unwrap().as_deref(), Some("AB3D"), "get leaves it");
    assert_eq!(store.take("captcha:a").await.unwrap().as_deref(), Some("AB3D"));
    assert_eq!(store.take("captcha:a").await.unwrap(), None);
    assert_eq!(store.take("captcha:never").await.unwrap(), None);
}

async fn ttl_reports_what_is_left(store: Store) {
    store.put("k", "v", MIN).await.unwrap();
    let left = store.ttl("k").await.unwrap().unwrap();
    assert!(left <= MIN && left > Duration::from_secs(55), "{left:?}");
    assert_eq!(store.ttl("missing").await.unwrap(), None);
}

async fn hit_refuses_past_the_limit(store: Store) {
    for _ in 0..30 {
        assert_eq!(store.hit("@lookup:ip", MIN, 30).await.unwrap(), Hit::Allowed);
    }
    match store.hit("@lookup:ip", MIN, 30).await.unwrap() {
        Hit::Limited { retry_after } => assert!(retry_after <= MIN && retry_after > Duration::ZERO),
        other => panic!("expected a limit, got {other:?}"),
    }
}

async fn count_reads_a_window_and_delete_closes_it(store: Store) {
    assert_eq!(store.count("fails", MIN).await.unwrap(), 0);
    for _ in 0..3 {
        store.hit("fails", MIN, 100).await.unwrap();
    }
    assert_eq!(store.count("fails", MIN).await.unwrap(), 3);
    store.delete("fails").await.unwrap();
    assert_eq!(store.count("fails", MIN).await.unwrap(), 0);
}

async fn twelve_simultaneous_sends_get_one_slot(store: Store) {
    let mut tasks = JoinSet::new();
    for _ in 0..12 {
        let store = store.clone();
        tasks.spawn(async move { store.acquire_send_slot(&slot("cd", "day", "@ip", "code")).await.unwrap() });
    }
    let results = tasks.join_all().await;
    let granted = results.iter().filter(|r| **r == SendSlot::Granted).count();
    assert_eq!(granted, 1, "{results:?}");
    assert!(results.iter().all(|r| *r == SendSlot::Granted || matches!(r, SendSlot::Cooldown { .. })));
}

async fn the_daily_cap_counts_across_cooldowns(store: Store) {
    for i in 0..10 {
        let cd = format!("cd{i}");
        assert_eq!(store.acquire_send_slot(&slot(&cd, "day", "@ip", "code")).await.unwrap(), SendSlot::Granted);
    }
    let refused = store.acquire_send_slot(&slot("cd-last", "day", "@ip", "code")).await.unwrap();
    assert!(matches!(refused, SendSlot::DailyCap { .. }), "{refused:?}");
}

async fn the_ip_cap_counts_across_numbers(store: Store) {
    for i in 0..20 {
        let (cd, day) = (format!("cd{i}"), format!("day{i}"));
        assert_eq!(store.acquire_send_slot(&slot(&cd, &day, "@ip", "code")).await.unwrap(), SendSlot::Granted);
    }
    let refused = store.acquire_send_slot(&slot("cd-x", "day-x", "@ip", "code")).await.unwrap();
    assert!(matches!(refused, SendSlot::IpCap { .. }), "{refused:?}");
}

async fn five_wrong_codes_kill_the_code(store: Store) {
    store.acquire_send_slot(&slot("cd", "day", "@ip", "code")).await.unwrap();
    for left in (1..5).rev() {
        assert_eq!(store.check_code("code", "000000", 5).await.unwrap(), CodeCheck::Mismatch { attempts_left: left });
    }
    assert_eq!(store.check_code("code", "000000", 5).await.unwrap(), CodeCheck::Exhausted);
    // Dead: even the right code no longer works.
    assert_eq!(store.check_code("code", "123456", 5).await.unwrap(), CodeCheck::Missing);
}

async fn simultaneous_wrong_codes_are_all_counted(store: Store) {
    store.acquire_send_slot(&slot("cd", "day", "@ip", "code")).await.unwrap();
    let mut tasks = JoinSet::new();
    for _ in 0..20 {
        let store = store.clone();
        tasks.spawn(async move { store.check_code("code", "999999", 5).await.unwrap() });
    }
    let results = tasks.join_all().await;
    let exhausted = results.iter().filter(|r| **r == CodeCheck::Exhausted).count();
    let mismatched = results.iter().filter(|r| matches!(r, CodeCheck::Mismatch { .. })).count();
    assert_eq!((mismatched, exhausted), (4, 1), "{results:?}");
}

async fn a_right_code_stays_until_consumed_once(store: Store) {
    store.acquire_send_slot(&slot("cd", "day", "@ip", "code")).await.unwrap();
    assert_eq!(store.check_code("code", "123456", 5).await.unwrap(), CodeCheck::Match);
    assert_eq!(store.check_code("code", "123456", 5).await.unwrap(), CodeCheck::Match);
    assert!(!store.consume_code("code", "654321").await.unwrap());
    assert!(store.consume_code("code", "123456").await.unwrap());
    assert!(!store.consume_code("code", "123456").await.unwrap());
    assert_eq!(store.check_code("code", "123456", 5).await.unwrap(), CodeCheck::Missing);
}

async fn a_new_send_resets_the_attempts(store: Store) {
    store.acquire_send_slot(&slot("cd1", "day", "@ip", "code")).await.unwrap();
    for _ in 0..4 {
        store.check_code("code", "000000", 5).await.unwrap();
    }
    store.acquire_send_slot(&slot("cd2", "day", "@ip", "code")).await.unwrap();
    assert_eq!(store.check_code("code", "000000", 5).await.unwrap(), CodeCheck::Mismatch { attempts_left: 4 });
}

async fn a_released_slot_allows_an_immediate_retry(store: Store) {
    assert_eq!(store.acquire_send_slot(&slot("cd", "day", "@ip", "code")).await.unwrap(), SendSlot::Granted);
    store.release_send_slot("cd", "code").await.unwrap();
    assert_eq!(store.check_code("code", "123456", 5).await.unwrap(), CodeCheck::Missing);
    assert_eq!(store.acquire_send_slot(&slot("cd", "day", "@ip", "code")).await.unwrap(), SendSlot::Granted);
}
