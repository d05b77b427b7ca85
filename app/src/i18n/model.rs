//! The catalogue as files hold it, read and checked: shared by `app/build.rs`
//! (which turns it into the accessors of `i18n::Texts`, so that a key the
//! code uses and no file has is a compile error) and by this crate's unit
//! tests (which show each check refusing a bad file).
//!
//! One TOML file per locale in `app/locales/`, named by its tag
//! (`zh-CN.toml`, `en.toml`). Its `[locale]` table says its name in its own
//! language (what the switch shows) and its plural categories (`"other"`
//! for Chinese, `"one other"` for English: CLDR's, in that order). Every
//! other table is a part of the site; a string is a text, `{name}` a
//! placeholder, and a table of plural categories a text that depends on the
//! count `{n}`. The reference locale (zh-CN, the language the product was
//! written in) decides the keys: every other file has exactly them, with
//! the same placeholders.

use std::collections::{BTreeMap, BTreeSet};

/// The locale whose keys every other must have.
pub const REFERENCE: &str = "zh-CN";
/// Parts of the catalogue only the server uses (mail, SMS notices, the JSON
/// API, the use cases' refusals and answers, which the server puts in the
/// request's language before they leave): kept out of what the browser gets.
pub const SERVER_ONLY: &[&str] = &["mail", "sms", "api", "error", "answer", "plain"];
/// CLDR's plural categories, in their order.
pub const CATEGORIES: &[&str] = &["zero", "one", "two", "few", "many", "other"];
/// Parts every page carries to the browser: the frame, the first pages a
/// visitor sees, and what the rules and failures say. Every other part
/// belongs to a page that is loaded later (`lazy_page!` in `lib.rs`): the
/// page carries it when it is the one drawn, and fetches it when the
/// browser goes there, so that no page pays for another's texts.
pub const EVERY_PAGE: &[&str] =
    &["site", "language", "home", "not_found", "captcha", "sms_code", "mobile", "register", "login", "rule", "failure"];
/// Characters the page uses to carry the catalogue to the browser
/// (`i18n::Texts::for_browser`): between parts, after a part's name,
/// between a plural's forms, between texts. No text may hold them.
pub const SEPARATORS: [char; 4] = ['\u{1c}', '\u{1d}', '\u{1e}', '\u{1f}'];

#[derive(Debug)]
pub struct Locale {
    pub tag: String,
    pub name: String,
    /// Its plural categories, in CLDR order.
    pub categories: Vec<String>,
    pub texts: BTreeMap<String, Text>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Text {
    Plain(String),
    /// One form per category of the locale, in its order.
    Plural(Vec<String>),
}

#[derive(Debug)]
pub struct Key {
    /// Dotted, as in the file: `home.welcome`.
    pub path: String,
    /// The placeholders in the order the reference text first uses them (the
    /// accessor's arguments' order); `n`, the count of a plural text, first.
    pub params: Vec<String>,
    pub plural: bool,
    pub browser: bool,
}

#[derive(Debug)]
pub struct Catalogue {
    /// The reference locale first.
    pub locales: Vec<Locale>,
    /// Browser keys first, then the server's; each group in file order.
    pub keys: Vec<Key>,
}

/// Reads the files (tag, contents) into a checked catalogue, or says every
/// way they are wrong.
pub fn read(files: &[(String, String)]) -> Result<Catalogue, Vec<String>> {
    let mut errors = Vec::new();
    let mut locales = Vec::new();
    for (tag, contents) in files {
        match read_locale(tag, contents) {
            Ok(locale) => locales.push(locale),
            Err(mut e) => errors.append(&mut e),
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let Some(at) = locales.iter().position(|l| l.tag == REFERENCE) else {
        return Err(vec![format!("no {REFERENCE}.toml: the reference locale decides the keys")]);
    };
    let reference = locales.remove(at);
    locales.insert(0, reference);

    let mut keys = Vec::new();
    for (path, text) in &locales[0].texts {
        let params = placeholders(text);
        let browser = !SERVER_ONLY.contains(&path.split('.').next().unwrap_or(""));
        keys.push(Key { path: path.clone(), params, plural: matches!(text, Text::Plural(_)), browser });
    }
    keys.sort_by_key(|k| !k.browser);

    for locale in &locales[1..] {
        for key in &keys {
            match locale.texts.get(&key.path) {
                None => errors
                    .push(format!("{}: no `{}` (every locale has every key of {REFERENCE})", locale.tag, key.path)),
                Some(text) => {
                    if matches!(text, Text::Plural(_)) != key.plural {
                        errors.push(format!(
                            "{}: `{}` must {}be plural, as in {REFERENCE}",
                            locale.tag,
                            key.path,
                            if key.plural { "" } else { "not " }
                        ));
                    } else if !same_placeholders(&placeholders(text), &key.params) {
                        errors.push(format!(
                            "{}: `{}` has placeholders {:?}; {REFERENCE} has {:?}",
                            locale.tag,
                            key.path,
                            placeholders(text),
                            key.params
                        ));
                    }
                }
            }
        }
        for path in locale.texts.keys() {
            if !locales[0].texts.contains_key(path) {
                errors.push(format!("{}: `{path}` is not a key of {REFERENCE}", locale.tag));
            }
        }
    }
    if errors.is_empty() { Ok(Catalogue { locales, keys }) } else { Err(errors) }
}

fn read_locale(tag: &str, contents: &str) -> Result<Locale, Vec<String>> {
    let table: toml::Table = contents.parse().map_err(|e| vec![format!("{tag}.toml: {e}")])?;
    let mut errors = Vec::new();
    let meta = table.get("locale").and_then(|v| v.as_table());
    let name = meta.and_then(|m| m.get("name")).and_then(|v| v.as_str()).unwrap_or_default().to_owned();
    let plural = meta.and_then(|m| m.get("plural")).and_then(|v| v.as_str()).unwrap_or_default();
    let categories: Vec<String> = plural.split_whitespace().map(str::to_owned).collect();
    if name.is_empty() {
        errors.push(format!("{tag}.toml: [locale] needs `name`, the language's name in itself"));
    }
    let in_order = categories.iter().map(|c| CATEGORIES.iter().position(|k| k == c)).collect::<Option<Vec<_>>>();
    if !in_order.is_some_and(|p| p.windows(2).all(|w| w[0] < w[1]))
        || categories.last().map(String::as_str) != Some("other")
    {
        errors.push(format!(
            "{tag}.toml: [locale] `plural` lists CLDR categories in order, ending with `other`: {plural:?}"
        ));
    }
    let mut texts = BTreeMap::new();
    for (section, value) in &table {
        if section == "locale" {
            continue;
        }
        if !snake_case(section) {
            errors.push(format!("{tag}: `{section}`: keys are lower_snake_case"));
        }
        flatten(tag, section, value, &categories, &mut texts, &mut errors);
    }
    if errors.is_empty() { Ok(Locale { tag: tag.to_owned(), name, categories, texts }) } else { Err(errors) }
}

fn flatten(
    tag: &str,
    path: &str,
    value: &toml::Value,
    categories: &[String],
    texts: &mut BTreeMap<String, Text>,
    errors: &mut Vec<String>,
) {
    let valid = |s: &str, errors: &mut Vec<String>| {
        if s.contains(SEPARATORS) {
            errors.push(format!("{tag}: `{path}` holds a control character the page needs"));
        }
    };
    match value {
        toml::Value::String(s) => {
            valid(s, errors);
            texts.insert(path.to_owned(), Text::Plain(s.clone()));
        }
        toml::Value::Table(t) if !t.is_empty() && t.keys().all(|k| CATEGORIES.contains(&k.as_str())) => {
            let got: BTreeSet<&str> = t.keys().map(String::as_str).collect();
            let want: BTreeSet<&str> = categories.iter().map(String::as_str).collect();
            if got != want {
                errors.push(format!("{tag}: `{path}` has the forms {got:?}; this locale's are {want:?}"));
                return;
            }
            let mut forms = Vec::new();
            for category in categories {
                match t[category].as_str() {
                    Some(s) => {
                        valid(s, errors);
                        forms.push(s.to_owned());
                    }
                    None => errors.push(format!("{tag}: `{path}.{category}` is not a string")),
                }
            }
            texts.insert(path.to_owned(), Text::Plural(forms));
        }
        toml::Value::Table(t) => {
            for (name, inner) in t {
                if !snake_case(name) {
                    errors.push(format!("{tag}: `{path}.{name}`: keys are lower_snake_case"));
                }
                flatten(tag, &format!("{path}.{name}"), inner, categories, texts, errors);
            }
        }
        _ => errors.push(format!("{tag}: `{path}` is neither a text nor a table")),
    }
}

fn snake_case(name: &str) -> bool {
    name.starts_with(|c: char| c.is_ascii_lowercase())
        && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// The placeholders a text uses, once each, in the order it first uses them
/// (`n`, a plural's count, first).
pub fn placeholders(text: &Text) -> Vec<String> {
    let forms: Vec<&str> = match text {
        Text::Plain(s) => vec![s],
        Text::Plural(forms) => forms.iter().map(String::as_str).collect(),
    };
    let mut found: Vec<String> = Vec::new();
    if matches!(text, Text::Plural(_)) {
        found.push("n".to_owned());
    }
    for form in forms {
        let mut rest = form;
        while let Some(start) = rest.find('{') {
            let Some(len) = rest[start..].find('}') else { break };
            let name = &rest[start + 1..start + len];
            if !found.iter().any(|f| f == name) {
                found.push(name.to_owned());
            }
            rest = &rest[start + len + 1..];
        }
    }
    found
}

/// The same placeholders, whatever their order.
fn same_placeholders(a: &[String], b: &[String]) -> bool {
    a.iter().collect::<BTreeSet<_>>() == b.iter().collect::<BTreeSet<_>>()
}

#[cfg(test)]
mod tests {
    use super::*;

    const ZH: &str = "[locale]\nname = \"中文\"\nplural = \"other\"\n[home]\ntitle = \"首页\"\nhi = \"你好，{name}\"\nwait = { other = \"{n} 秒\" }\n";
    const EN: &str = "[locale]\nname = \"English\"\nplural = \"one other\"\n[home]\ntitle = \"Home\"\nhi = \"Hi, {name}\"\nwait = { one = \"1 second\", other = \"{n} seconds\" }\n";

    fn files(en: &str) -> Vec<(String, String)> {
        vec![("en".into(), en.into()), ("zh-CN".into(), ZH.into())]
    }

    fn errors(en: &str) -> String {
        read(&files(en)).unwrap_err().join("\n")
    }

    #[test]
    fn a_complete_catalogue_reads_with_the_reference_first() {
        let catalogue = read(&files(EN)).unwrap();
        assert_eq!(catalogue.locales[0].tag, "zh-CN");
        assert_eq!(
            (catalogue.locales[1].name.as_str(), catalogue.locales[1].categories.join(" ")),
            ("English", "one other".into())
        );
        let wait = catalogue.keys.iter().find(|k| k.path == "home.wait").unwrap();
        assert!(wait.plural && wait.browser);
        assert_eq!(wait.params, ["n"]);
        assert_eq!(
            catalogue.locales[1].texts["home.wait"],
            Text::Plural(vec!["1 second".into(), "{n} seconds".into()])
        );
    }

    #[test]
    fn a_missing_key_an_extra_key_or_other_placeholders_are_refused() {
        assert!(errors(&EN.replace("title = \"Home\"\n", "")).contains("en: no `home.title`"));
        assert!(errors(&format!("{EN}extra = \"x\"\n")).contains("`home.extra` is not a key of zh-CN"));
        assert!(errors(&EN.replace("{name}", "{nom}")).contains("`home.hi` has placeholders"));
        assert!(errors(&EN.replace("wait = {", "wait2 = {")).contains("no `home.wait`"));
        assert!(
            errors(&EN.replace("title = \"Home\"", "title = { one = \"a\", other = \"b\" }"))
                .contains("must not be plural")
        );
    }

    #[test]
    fn plural_forms_must_be_the_locales_own() {
        assert!(errors(&EN.replace("one = \"1 second\", ", "")).contains("has the forms"));
        assert!(errors(&EN.replace("\"one other\"", "\"other one\"")).contains("CLDR categories in order"));
        assert!(errors(&EN.replace("name = \"English\"\n", "")).contains("needs `name`"));
    }

    #[test]
    fn no_text_holds_the_pages_separators_and_keys_are_snake_case() {
        assert!(errors(&EN.replace("Home", "Ho\\u001Fme")).contains("control character"));
        assert!(errors(&format!("{EN}[Other]\nx = \"y\"\n")).contains("`Other`: keys are lower_snake_case"));
        assert!(errors(&EN.replace("hi =", "Hi =")).contains("`home.Hi`: keys are lower_snake_case"));
        assert!(read(&[("en".into(), EN.into())]).unwrap_err()[0].contains("no zh-CN.toml"));
    }
}
