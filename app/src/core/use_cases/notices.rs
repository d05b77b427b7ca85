//! What tells a person of a change to their account (a reset password, a
//! 注销): the time as they read it, and the site's SMS budget that notices
//! share with codes.

use super::keys;
use crate::core::{Core, store::Hit};
use crate::i18n::{Locale, Texts};
use std::time::Duration;

/// A time as a notice in `locale` says it: `2026-12-06 14:05（北京时间）`,
/// `2026-12-06 14:05 (Beijing time)`.
pub(crate) fn beijing_time(unix_ms: i64, locale: Locale) -> String {
    let time = chrono::DateTime::from_timestamp_millis(unix_ms)
        .unwrap_or_default()
        .with_timezone(&chrono::FixedOffset::east_opt(8 * 3600).unwrap_or_else(|| unreachable!()))
        .format("%Y-%m-%d %H:%M")
        .to_string();
    Texts::of(locale).mail_beijing_time(time)
}

/// Counts one SMS against the site's hourly budget (`SMS_SITE_HOURLY_CAP`),
/// which notices share with codes: every SMS costs money. False when it is
/// spent (or the store cannot say): the notice is not sent by SMS.
pub(crate) async fn within_site_sms_budget(core: &Core) -> bool {
    let hour = Duration::from_secs(3_600);
    match core.store.hit(keys::SMS_SITE_HOURLY, hour, core.settings.sms_site_hourly_cap).await {
        Ok(Hit::Allowed) => true,
        Ok(Hit::Limited { .. }) => {
            tracing::error!(
                "the site-wide hourly SMS budget is spent (SMS_SITE_HOURLY_CAP); a notice goes by e-mail only"
            );
            false
        }
        Err(e) => {
            tracing::warn!(error = %e, "could not count a notice against the SMS budget; not sent by SMS");
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_notice_says_beijing_time() {
        let zh = Locale::REFERENCE;
        assert_eq!(beijing_time(0, zh), "1970-01-01 08:00（北京时间）");
        assert_eq!(beijing_time(1_795_434_000_000, zh), "2026-11-23 19:40（北京时间）");
        assert_eq!(beijing_time(0, Locale::from_tag("en").unwrap()), "1970-01-01 08:00 (Beijing time)");
    }
}
