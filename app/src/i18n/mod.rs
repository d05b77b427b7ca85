//! Languages. Every text a person reads comes from the catalogue: one file
//! per locale in `app/locales/`, checked and turned into the accessors of
//! [`Texts`] at build time (`model`, `app/build.rs`), so a key missing from
//! a locale fails the build and a key the code names that no file has is a
//! compile error. A third language is one more file.
//!
//! The server picks each request's locale ([`negotiate`]: the `lang` cookie
//! the language switch sets, else `Accept-Language`, else `DEFAULT_LOCALE`),
//! renders the page in it, and puts that locale's browser texts in the page
//! (`<meta name="texts">`), from which the WASM reads them before it
//! hydrates: the page hydrates in the language it was drawn in, and the
//! WASM carries no language at all.

#[cfg(test)]
mod model;

mod generated {
    use super::{LocaleInfo, Text, Texts, fill};
    include!(concat!(env!("OUT_DIR"), "/catalogue.rs"));
}

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// The cookie the language switch sets: a locale's tag.
pub const COOKIE: &str = "lang";
/// Where the language switch posts (`server/src/language.rs`).
pub const SWITCH_PATH: &str = "/lang";

/// A locale as its file says it.
#[derive(Debug)]
pub struct LocaleInfo {
    /// Its BCP 47 tag, the file's name: `zh-CN`, `en`.
    pub tag: &'static str,
    /// Its name in itself, for the switch: `中文`, `English`.
    pub name: &'static str,
    /// Its CLDR plural categories, in order.
    pub plural: &'static str,
}

/// One of the locales there is a file for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Locale(u8);

impl Locale {
    /// Simplified Chinese, the reference: what the product was written in.
    pub const REFERENCE: Locale = Locale(0);

    pub fn all() -> impl Iterator<Item = Locale> {
        (0..generated::LOCALES.len()).map(|i| Locale(i as u8))
    }

    fn info(self) -> &'static LocaleInfo {
        &generated::LOCALES[self.0 as usize]
    }

    pub fn tag(self) -> &'static str {
        self.info().tag
    }

    /// The locale's name in its own language.
    pub fn name(self) -> &'static str {
        self.info().name
    }

    /// The locale whose tag this is (any case).
    pub fn from_tag(tag: &str) -> Option<Locale> {
        Locale::all().find(|l| l.tag().eq_ignore_ascii_case(tag.trim()))
    }

    /// The best locale for a language range from `Accept-Language`: the
    /// same tag, else the same language (`en-GB` → `en`, `zh-TW` → `zh-CN`).
    #[cfg(feature = "ssr")]
    pub fn matching(range: &str) -> Option<Locale> {
        let range = range.trim();
        let language = |tag: &str| tag.split(['-', '_']).next().unwrap_or("").to_ascii_lowercase();
        Locale::from_tag(range)
            .or_else(|| Locale::all().find(|l| !range.is_empty() && language(l.tag()) == language(range)))
    }

    /// Which plural form of this locale `n` takes: the index of its category.
    fn plural_form(self, n: u64) -> usize {
        // One rule per set of categories; a language whose rule differs
        // (French's "one" is 0 and 1) adds its arm here.
        match self.info().plural {
            "one other" => usize::from(n != 1),
            _ => 0,
        }
    }
}

/// The locale for a request: the cookie the switch set, else the first
/// language of `Accept-Language` (by weight) we have, else the default.
/// The server's alone (the browser gets the page's): it keeps float parsing
/// and a sort out of the WASM.
#[cfg(feature = "ssr")]
pub fn negotiate(cookie: Option<&str>, accept_language: Option<&str>, default: Locale) -> Locale {
    if let Some(locale) = cookie.and_then(Locale::from_tag) {
        return locale;
    }
    let mut ranges: Vec<(f32, usize, &str)> = accept_language
        .unwrap_or("")
        .split(',')
        .enumerate()
        .filter_map(|(order, item)| {
            let mut parts = item.split(';');
            let range = parts.next()?.trim();
            let weight =
                parts.find_map(|p| p.trim().strip_prefix("q=")).map_or(Some(1.0), |q| q.trim().parse::<f32>().ok())?;
            (!range.is_empty() && range != "*" && weight > 0.0).then_some((weight, order, range))
        })
        .collect();
    // Highest weight first; among equals, the order given.
    ranges.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    ranges.into_iter().find_map(|(_, _, range)| Locale::matching(range)).unwrap_or(default)
}

/// The locale of a request to the server: its `lang` cookie, else its
/// `Accept-Language`, else `default` (`negotiate`).
#[cfg(feature = "ssr")]
pub fn locale_of_request(headers: &http::HeaderMap, default: Locale) -> Locale {
    let accept = headers.get(http::header::ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok());
    negotiate(lang_cookie(headers), accept, default)
}

/// The `Set-Cookie` value that keeps `locale` as the person's language: for
/// `max_age_seconds`, or for the browser's session when `None`.
#[cfg(feature = "ssr")]
pub fn lang_set_cookie(locale: Locale, max_age_seconds: Option<u64>, secure: bool) -> String {
    let max_age = max_age_seconds.map(|s| format!("; Max-Age={s}")).unwrap_or_default();
    let secure = if secure { "; Secure" } else { "" };
    format!("{COOKIE}={}; Path=/{max_age}; SameSite=Lax{secure}", locale.tag())
}

/// The request's `lang` cookie as sent (the person's choice, if they made
/// one), whether or not we have its language.
#[cfg(feature = "ssr")]
pub fn lang_cookie(headers: &http::HeaderMap) -> Option<&str> {
    headers
        .get_all(http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| crate::core::tokens::cookie_value(v, COOKIE))
}

/// The texts of one locale. On the server every locale's are compiled in;
/// in the browser only the page's locale's, and of those the parts the page
/// carried (`EVERY_PAGE`, and its own) and those fetched since
/// (`Texts::install`).
#[derive(Clone, Copy)]
pub struct Texts {
    locale: Locale,
    slots: Slots,
}

#[cfg(feature = "ssr")]
type Slots = &'static [&'static str];
/// Filled a part at a time, for the page's life.
#[cfg(not(feature = "ssr"))]
type Slots = &'static [std::sync::OnceLock<&'static str>];

/// The slots of the browser's part `name`.
fn part(name: &str) -> Option<std::ops::Range<usize>> {
    generated::PARTS.iter().find(|(part, ..)| *part == name).map(|&(_, start, end, _)| start..end)
}

impl Texts {
    /// The texts of this request's locale (from the context the server or
    /// the hydrated page provided; the reference's otherwise).
    pub fn here() -> Texts {
        use_context::<Texts>().unwrap_or_else(Texts::fallback)
    }

    fn fallback() -> Texts {
        #[cfg(feature = "ssr")]
        return Texts::of(Locale::REFERENCE);
        #[cfg(not(feature = "ssr"))]
        return Texts::from_page().unwrap_or(Texts { locale: Locale::REFERENCE, slots: &[] });
    }

    pub fn locale(&self) -> Locale {
        self.locale
    }

    #[cfg(feature = "ssr")]
    pub fn of(locale: Locale) -> Texts {
        Texts { locale, slots: generated::TABLES[locale.0 as usize] }
    }

    /// What the page carries to the browser: the parts every page has, and
    /// `own` (the page's), each as its name, U+001D, its texts joined by
    /// U+001F; parts joined by U+001C.
    #[cfg(feature = "ssr")]
    pub fn for_browser(&self, own: &[&str]) -> String {
        generated::PARTS
            .iter()
            .filter(|(name, .., every)| *every || own.contains(name))
            .map(|&(name, start, end, _)| format!("{name}\u{1d}{}", self.slots[start..end].join("\u{1f}")))
            .collect::<Vec<_>>()
            .join("\u{1c}")
    }

    /// The texts of the browser's part `name` (what `install` takes).
    #[cfg(feature = "ssr")]
    pub fn part(&self, name: &str) -> Option<Vec<String>> {
        part(name).map(|slots| self.slots[slots].iter().map(|s| (*s).to_owned()).collect())
    }

    /// The texts the server put in the page (`for_browser`), read once and
    /// kept for the page's life.
    #[cfg(not(feature = "ssr"))]
    pub fn from_page() -> Option<Texts> {
        use std::sync::OnceLock;
        static PAGE: OnceLock<Option<Texts>> = OnceLock::new();
        *PAGE.get_or_init(|| {
            let document = web_sys::window()?.document()?;
            let root = document.document_element()?;
            let locale = Locale::from_tag(&root.get_attribute("lang")?)?;
            let meta = document.query_selector("meta[name=texts]").ok()??;
            let joined: &'static str = Box::leak(meta.get_attribute("content")?.into_boxed_str());
            let slots: Slots = Box::leak((0..generated::BROWSER_SLOTS).map(|_| OnceLock::new()).collect());
            let texts = Texts { locale, slots };
            for carried in joined.split('\u{1c}') {
                let (name, joined) = carried.split_once('\u{1d}')?;
                texts.fill(name, joined.split('\u{1f}'));
            }
            Some(texts)
        })
    }

    /// Whether the browser has the part `name` (the server has them all).
    pub fn has(&self, name: &str) -> bool {
        #[cfg(feature = "ssr")]
        return part(name).is_some();
        #[cfg(not(feature = "ssr"))]
        return part(name).is_some_and(|slots| self.slots[slots.start].get().is_some());
    }

    /// Keeps the part `name` the server sent (`Texts::part`) for the page's
    /// life: the browser went to a page whose texts it did not have.
    #[cfg(not(feature = "ssr"))]
    pub fn install(&self, name: &str, texts: Vec<String>) {
        self.fill(name, texts.into_iter().map(|t| &*Box::leak(t.into_boxed_str())));
    }

    #[cfg(not(feature = "ssr"))]
    fn fill(&self, name: &str, texts: impl Iterator<Item = &'static str>) {
        let Some(slots) = part(name) else { return };
        let texts: Vec<&'static str> = texts.collect();
        if texts.len() == slots.len() {
            for (cell, text) in self.slots[slots].iter().zip(texts) {
                let _ = cell.set(text);
            }
        }
    }

    fn slot(&self, slot: usize) -> &'static str {
        #[cfg(feature = "ssr")]
        return self.slots.get(slot).copied().unwrap_or("");
        #[cfg(not(feature = "ssr"))]
        return self.slots.get(slot).and_then(|cell| cell.get().copied()).unwrap_or("");
    }

    fn plural(&self, slot: usize, n: u64, args: &[(&str, &dyn std::fmt::Display)]) -> String {
        let mut with_n: Vec<(&str, &dyn std::fmt::Display)> = vec![("n", &n)];
        with_n.extend_from_slice(args);
        fill(self.form(self.slot(slot), n), &with_n)
    }

    /// The form of a plural text (its forms joined by U+001E) that `n` takes.
    fn form(&self, forms: &'static str, n: u64) -> &'static str {
        let forms: Vec<&str> = forms.split('\u{1e}').collect();
        forms.get(self.locale.plural_form(n)).or(forms.last()).copied().unwrap_or("")
    }
}

/// A text of the catalogue not yet in a language: which one, and its
/// arguments. An error carries one from where it happens (a rule, a use
/// case) to where the request's language is known (`Texts::say`).
/// Constructors are generated, one per key: `Text::rule_mobile_empty()`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Text {
    slot: u16,
    args: Vec<(String, String)>,
}

impl Text {
    fn new(slot: usize, args: Vec<(&str, String)>) -> Text {
        Text { slot: slot as u16, args: args.into_iter().map(|(name, value)| (name.to_owned(), value)).collect() }
    }
}

impl Texts {
    /// `text` in this locale. (A browser asked for a text only the server
    /// has gets the general apology: the server says its own texts before
    /// they leave.)
    pub fn say(&self, text: &Text) -> String {
        let found = self.slot(usize::from(text.slot));
        if found.is_empty() {
            return self.failure_unexpected().to_owned();
        }
        let args: Vec<(&str, &dyn std::fmt::Display)> =
            text.args.iter().map(|(name, value)| (name.as_str(), value as &dyn std::fmt::Display)).collect();
        let n = text.args.iter().find(|(name, _)| name == "n").and_then(|(_, v)| v.parse().ok());
        match n {
            Some(n) if found.contains('\u{1e}') => fill(self.form(found, n), &args),
            _ => fill(found, &args),
        }
    }
}

/// `text` in the reference locale: for logs, and tests written in it.
#[cfg(feature = "ssr")]
pub fn say(text: Text) -> String {
    Texts::of(Locale::REFERENCE).say(&text)
}

/// `text` with each `{name}` replaced by its value.
fn fill(text: &str, args: &[(&str, &dyn std::fmt::Display)]) -> String {
    let mut out = String::with_capacity(text.len() + 16);
    let mut rest = text;
    while let Some(start) = rest.find('{') {
        let Some(len) = rest[start..].find('}') else { break };
        out.push_str(&rest[..start]);
        let name = &rest[start + 1..start + len];
        match args.iter().find(|(n, _)| *n == name) {
            Some((_, value)) => out.push_str(&value.to_string()),
            None => out.push_str(&rest[start..=start + len]),
        }
        rest = &rest[start + len + 1..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn en() -> Locale {
        Locale::from_tag("en").unwrap()
    }

    #[test]
    fn the_cookie_wins_then_accept_language_by_weight_then_the_default() {
        let zh = Locale::REFERENCE;
        assert_eq!(negotiate(Some("en"), Some("zh-CN"), zh), en());
        assert_eq!(negotiate(Some("xx"), Some("en-GB,zh;q=0.8"), zh), en());
        assert_eq!(negotiate(None, Some("fr;q=1, zh-TW;q=0.9, en;q=0.8"), en()), zh);
        assert_eq!(negotiate(None, Some("en;q=0.5, zh-CN;q=0.9"), zh), zh);
        assert_eq!(negotiate(None, Some("zh-CN;q=0, en;q=0.1"), zh), en());
        assert_eq!(negotiate(None, Some("fr, de"), en()), en());
        assert_eq!(negotiate(None, Some("*"), en()), en());
        assert_eq!(negotiate(None, None, zh), zh);
        assert_eq!(negotiate(None, Some(";;,q=,;q=abc"), zh), zh);
        assert_eq!(negotiate(Some("EN"), None, zh), en());
    }

    /// Every text a person reads comes from the catalogue: no Han character
    /// in our Rust outside comments and tests (the pages, the components,
    /// the rules, the use cases, the server's own pages).
    #[test]
    fn no_text_a_person_reads_is_written_in_the_code() {
        let app = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut dirs = vec![app.join("src"), app.join("../server/src"), app.join("../frontend/src")];
        let mut found = Vec::new();
        while let Some(dir) = dirs.pop() {
            for entry in std::fs::read_dir(&dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    dirs.push(path);
                } else if path.extension().is_some_and(|e| e == "rs") && !path.ends_with("test_support.rs") {
                    found.extend(written_in(&path, &std::fs::read_to_string(&path).unwrap()));
                }
            }
        }
        assert!(found.is_empty(), "texts written in the code, not the catalogue:\n{}", found.join("\n"));
        // And the check sees one.
        let planted = "fn page() -> &'static str {\n    \"注册\" // the title\n}\n// 注释\n#[cfg(test)]\nmod tests {\n    const T: &str = \"测试\";\n}\n";
        assert_eq!(written_in(std::path::Path::new("x.rs"), planted), ["x.rs:2: \"注册\" // the title"]);
    }

    /// The lines of `source` (outside comments and its tests module) that
    /// hold a Han character.
    fn written_in(path: &std::path::Path, source: &str) -> Vec<String> {
        let han = |c: char| ('\u{3400}'..='\u{9fff}').contains(&c) || ('\u{f900}'..='\u{faff}').contains(&c);
        let lines: Vec<&str> = source.lines().collect();
        let mut found = Vec::new();
        for (n, line) in lines.iter().enumerate() {
            let trimmed = line.trim();
            if trimmed == "#[cfg(test)]"
                && lines.get(n + 1).is_some_and(|next| next.trim_start().starts_with("mod tests"))
            {
                break;
            }
            // A comment, whole or trailing (" // ": a URL's "://" is code).
            let code = if trimmed.starts_with("//") { "" } else { trimmed.split(" // ").next().unwrap_or("") };
            if code.chars().any(han) {
                found.push(format!("{}:{}: {trimmed}", path.display(), n + 1));
            }
        }
        found
    }

    #[test]
    fn a_text_is_said_in_the_language_of_whoever_reads_it() {
        let text = Text::rule_password_length(6, 16);
        assert_eq!(Texts::of(Locale::REFERENCE).say(&text), "密码长度应为6-16个字符");
        assert_eq!(Texts::of(en()).say(&text), "A password has 6 to 16 characters.");
        // A browser's texts lack the server's part: it says the apology.
        let browser = Texts { locale: en(), slots: &generated::TABLES[1][..generated::BROWSER_SLOTS] };
        assert_eq!(browser.say(&Text::error_sms_code_wrong(4)), Texts::of(en()).failure_unexpected());
        assert_eq!(browser.say(&text), "A password has 6 to 16 characters.");
    }

    #[test]
    fn placeholders_are_filled_and_plurals_follow_the_locale() {
        let args: [(&str, &dyn std::fmt::Display); 1] = [("name", &"夜莺")];
        assert_eq!(fill("欢迎，{name}", &args), "欢迎，夜莺");
        assert_eq!(fill("{unknown} {name}", &args), "{unknown} 夜莺");
        assert_eq!(fill("a {b", &args), "a {b");
        assert_eq!(en().plural_form(1), 0);
        assert_eq!(en().plural_form(0), 1);
        assert_eq!(en().plural_form(60), 1);
        assert_eq!(Locale::REFERENCE.plural_form(1), 0);
    }

    #[test]
    fn every_locale_has_the_texts_and_the_browser_gets_only_its_part() {
        for locale in Locale::all() {
            let texts = Texts::of(locale);
            assert_eq!(texts.slots.len(), generated::TABLES[0].len());
            assert!(texts.slots.iter().all(|s| !s.is_empty()), "{}", locale.tag());
            // Every page's parts, and a page's own only when asked for.
            let carried = texts.for_browser(&[]);
            let parts: Vec<&str> = carried.split('\u{1c}').map(|p| p.split('\u{1d}').next().unwrap()).collect();
            assert!(parts.contains(&"register") && parts.contains(&"rule") && !parts.contains(&"forgot"));
            assert!(texts.for_browser(&["forgot"]).contains("forgot\u{1d}"));
            let every: usize = generated::PARTS.iter().filter(|p| p.3).map(|p| p.2 - p.1).sum();
            // Each part every page has is a part of the catalogue (a renamed
            // one would silently leave the pages without it).
            for part in model::EVERY_PAGE {
                assert!(generated::PARTS.iter().any(|p| p.0 == *part && p.3), "no part {part}");
            }
            assert_eq!(carried.split(['\u{1c}', '\u{1f}']).count(), every);
        }
        assert_eq!(Texts::of(en()).home_welcome_name("Ada"), "Welcome, Ada");
        // Arguments in the order the reference text uses them (not by name:
        // `max` sorts before `min`).
        assert_eq!(Texts::of(Locale::REFERENCE).register_password_hint(6, 16), "6-16个字符，不能是常见密码");
        assert_eq!(Texts::of(Locale::REFERENCE).home_welcome_name("夜莺"), "欢迎，夜莺");
    }
}
