//! How times and browsers are shown: the same on the server and in the
//! browser (plain arithmetic, no time-zone database), in China time.

/// `2026-11-23 19:40` for Unix milliseconds, in UTC+8.
pub fn format_time(unix_ms: i64) -> String {
    let minutes = unix_ms.div_euclid(60_000) + 8 * 60;
    let (days, minute_of_day) = (minutes.div_euclid(1440), minutes.rem_euclid(1440));
    let (y, m, d) = civil_from_days(days);
    format!("{y:04}-{m:02}-{d:02} {:02}:{:02}", minute_of_day / 60, minute_of_day % 60)
}

/// Days since 1970-01-01 to (year, month, day), after Howard Hinnant's
/// `civil_from_days`.
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// `Chrome · Android` from a User-Agent, or "unknown browser" in `texts`'
/// language.
pub fn describe_browser(texts: &crate::i18n::Texts, user_agent: &str) -> String {
    let browser = [
        ("Edg/", "Edge"),
        ("MicroMessenger", texts.user_wechat()),
        ("Firefox/", "Firefox"),
        ("Chrome/", "Chrome"),
        ("Safari/", "Safari"),
    ]
    .iter()
    .find(|(needle, _)| user_agent.contains(needle))
    .map(|(_, name)| *name);
    let system = [
        ("Android", "Android"),
        ("iPhone", "iPhone"),
        ("iPad", "iPad"),
        ("Windows", "Windows"),
        ("Mac OS X", "macOS"),
        ("Linux", "Linux"),
    ]
    .iter()
    .find(|(needle, _)| user_agent.contains(needle))
    .map(|(_, name)| *name);
    match (browser, system) {
        (Some(b), Some(s)) => format!("{b} · {s}"),
        (Some(one), None) | (None, Some(one)) => one.to_owned(),
        (None, None) if user_agent.is_empty() => texts.user_unknown_browser().to_owned(),
        (None, None) => user_agent.chars().take(40).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_shown_in_china_time() {
        assert_eq!(format_time(1_795_434_000_000), "2026-11-23 19:40");
        assert_eq!(format_time(0), "1970-01-01 08:00");
        assert_eq!(format_time(951_782_400_000), "2000-02-29 08:00");
    }

    #[test]
    fn browsers_are_named_with_their_system() {
        let chrome_android =
            "Mozilla/5.0 (Linux; Android 14; Pixel 7) AppleWebKit/537.36 Chrome/156.0 Mobile Safari/537.36";
        let texts = crate::i18n::Texts::of(crate::i18n::Locale::REFERENCE);
        assert_eq!(describe_browser(&texts, chrome_android), "Chrome · Android");
        assert_eq!(describe_browser(&texts, "curl/8.0"), "curl/8.0");
        assert_eq!(describe_browser(&texts, ""), texts.user_unknown_browser());
    }
}
