//! The privacy policy and the terms: their texts (the operator's Markdown
//! files, or ours), their versions, and the records of who accepted which
//! version, when and from where (PIPL art. 69: the processor proves
//! consent).

use crate::core::db::{Database, DbError, on_pool};
use crate::rules::LegalKind;

/// One text as the operator set it, rendered once at start.
#[derive(Clone, Debug)]
pub struct LegalText {
    /// Any short string the operator chooses (a date, a number).
    pub version: String,
    /// The Markdown rendered to HTML; raw HTML in it is shown as text.
    pub html: String,
}

/// Both texts.
#[derive(Clone, Debug)]
pub struct LegalTexts {
    pub privacy: LegalText,
    pub terms: LegalText,
}

/// Our own texts, for an operator who has not written theirs yet.
const DEFAULT_PRIVACY: &str = include_str!("privacy.md");
const DEFAULT_TERMS: &str = include_str!("terms.md");

/// The longest version string: it is stored with every acceptance.
pub const VERSION_MAX: usize = 32;

impl LegalText {
    pub fn new(version: &str, markdown: &str) -> LegalText {
        LegalText { version: version.to_owned(), html: markdown_to_html(markdown) }
    }
}

impl Default for LegalTexts {
    fn default() -> Self {
        LegalTexts { privacy: LegalText::new("1", DEFAULT_PRIVACY), terms: LegalText::new("1", DEFAULT_TERMS) }
    }
}

impl LegalTexts {
    /// The texts from the operator's files (`None`: ours) and versions.
    pub fn load(
        privacy: (&str, Option<&std::path::Path>),
        terms: (&str, Option<&std::path::Path>),
    ) -> Result<LegalTexts, String> {
        let one = |(version, file): (&str, Option<&std::path::Path>), default: &str| {
            if version.is_empty() || version.len() > VERSION_MAX || version.chars().any(char::is_control) {
                return Err(format!("a text's version must be 1 to {VERSION_MAX} printable characters: {version:?}"));
            }
            let markdown = match file {
                Some(path) => std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?,
                None => default.to_owned(),
            };
            Ok(LegalText::new(version, &markdown))
        };
        Ok(LegalTexts { privacy: one(privacy, DEFAULT_PRIVACY)?, terms: one(terms, DEFAULT_TERMS)? })
    }

    pub fn get(&self, kind: LegalKind) -> &LegalText {
        match kind {
            LegalKind::Privacy => &self.privacy,
            LegalKind::Terms => &self.terms,
        }
    }
}

/// Markdown to HTML (CommonMark with tables). Raw HTML is escaped: the
/// pages carry a strict CSP, and a stray `<script>` in a policy text must
/// not become one.
fn markdown_to_html(markdown: &str) -> String {
    use pulldown_cmark::{Event, Options, Parser, html};
    let parser = Parser::new_ext(markdown, Options::ENABLE_TABLES).map(|event| match event {
        Event::Html(raw) | Event::InlineHtml(raw) => Event::Text(raw),
        other => other,
    });
    let mut out = String::with_capacity(markdown.len() * 2);
    html::push_html(&mut out, parser);
    out
}

/// One acceptance, as stored.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct AcceptanceRow {
    pub kind: String,
    pub version: String,
    pub accepted_at: i64,
    pub client_ip: String,
    pub user_agent: String,
}

/// An acceptance about to be recorded.
pub struct NewAcceptance<'a> {
    pub kind: LegalKind,
    pub version: &'a str,
    pub now_ms: i64,
    pub client_ip: &'a str,
    pub user_agent: &'a str,
}

pub(crate) const INSERT_ACCEPTANCE: &str = "INSERT INTO legal_acceptances \
    (user_id, kind, version, accepted_at, client_ip, user_agent) VALUES ($1, $2, $3, $4, $5, $6)";

/// Writes `$accepted` (acceptances of user `$user_id`) in the transaction
/// `$tx`: the account's own, at registration, or one of their own. (A
/// macro: one body for either backend's transaction.)
macro_rules! insert_acceptances_impl {
    ($tx:expr, $user_id:expr, $accepted:expr) => {
        async {
            for a in $accepted {
                sqlx::query($crate::core::legal::INSERT_ACCEPTANCE)
                    .bind($user_id)
                    .bind(a.kind.as_str())
                    .bind(a.version)
                    .bind(a.now_ms)
                    .bind(a.client_ip)
                    .bind(a.user_agent)
                    .execute(&mut *$tx)
                    .await?;
            }
            Ok::<(), sqlx::Error>(())
        }
    };
}
pub(crate) use insert_acceptances_impl as insert_acceptances;

impl Database {
    /// Records acceptances of `user_id`.
    pub async fn record_acceptances(&self, user_id: i64, accepted: &[NewAcceptance<'_>]) -> Result<(), DbError> {
        on_pool!(self, |pool| async {
            let mut tx = pool.begin().await?;
            insert_acceptances!(tx, user_id, accepted).await?;
            tx.commit().await
        }
        .await)?;
        Ok(())
    }

    /// The texts whose version in force `user_id` has never accepted. (Any
    /// acceptance of that version counts, not only the latest: servers of
    /// a rolling update, some still on the old version, do not ask back
    /// and forth.)
    pub async fn texts_to_accept(&self, user_id: i64, texts: &LegalTexts) -> Result<Vec<LegalKind>, DbError> {
        let q = "SELECT DISTINCT kind, version FROM legal_acceptances WHERE user_id = $1";
        let rows: Vec<(String, String)> = on_pool!(self, |pool| sqlx::query_as(q).bind(user_id).fetch_all(pool).await)?;
        Ok(LegalKind::ALL
            .into_iter()
            .filter(|kind| !rows.iter().any(|(k, v)| k == kind.as_str() && *v == texts.get(*kind).version))
            .collect())
    }

    /// Every acceptance of `user_id`, the latest first.
    pub async fn acceptances(&self, user_id: i64) -> Result<Vec<AcceptanceRow>, DbError> {
        let q = "SELECT kind, version, accepted_at, client_ip, user_agent FROM legal_acceptances \
                 WHERE user_id = $1 ORDER BY accepted_at DESC, id DESC";
        Ok(on_pool!(self, |pool| sqlx::query_as(q).bind(user_id).fetch_all(pool).await)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn our_texts_render_and_raw_html_stays_text() {
        let texts = LegalTexts::default();
        assert!(texts.privacy.html.contains("<table>") && texts.privacy.html.contains("手机号"));
        assert!(texts.terms.html.contains("<ol>"));
        let hostile = LegalText::new("1", "# 政策\n\n<script>alert(1)</script>\n\n正文 <img src=x onerror=alert(1)>");
        assert!(!hostile.html.contains("<script") && !hostile.html.contains("<img"), "{}", hostile.html);
        assert!(hostile.html.contains("&lt;script&gt;"), "{}", hostile.html);
    }

    #[test]
    fn a_version_is_short_and_printable() {
        assert!(LegalTexts::load(("2026-12-01", None), ("1", None)).is_ok());
        assert!(LegalTexts::load(("", None), ("1", None)).is_err());
        assert!(LegalTexts::load(("1", None), (&"9".repeat(33), None)).is_err());
        assert!(LegalTexts::load(("1\n", None), ("1", None)).is_err());
        let missing = std::path::Path::new("/nonexistent/privacy.md");
        assert!(LegalTexts::load(("1", Some(missing)), ("1", None)).unwrap_err().contains("/nonexistent/privacy.md"));
    }
}
