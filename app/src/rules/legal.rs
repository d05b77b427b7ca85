//! The texts a person accepts: which there are, and what each is called.

use serde::{Deserialize, Serialize};

/// A text a person accepts at registration (and again when it changes).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub enum LegalKind {
    /// 隐私政策, at `/privacy`.
    Privacy,
    /// 用户协议, at `/terms`.
    Terms,
}

impl LegalKind {
    pub const ALL: [LegalKind; 2] = [LegalKind::Privacy, LegalKind::Terms];

    /// As stored and as the API says it.
    pub fn as_str(self) -> &'static str {
        match self {
            LegalKind::Privacy => "privacy",
            LegalKind::Terms => "terms",
        }
    }

    pub fn parse(raw: &str) -> Option<LegalKind> {
        LegalKind::ALL.into_iter().find(|kind| kind.as_str() == raw)
    }

    /// Its title, as pages say it.
    pub fn title(self, texts: &crate::i18n::Texts) -> &'static str {
        match self {
            LegalKind::Privacy => texts.site_privacy(),
            LegalKind::Terms => texts.site_terms(),
        }
    }

    /// Where it is read.
    pub fn path(self) -> &'static str {
        match self {
            LegalKind::Privacy => "/privacy",
            LegalKind::Terms => "/terms",
        }
    }
}

/// The page that asks for the texts in force, then goes on to `next` (a
/// path of this site).
pub fn accept_texts_path(next: &str) -> String {
    format!("/accept?next={}", super::url_encode(next))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_kind_reads_back_from_its_name() {
        for kind in LegalKind::ALL {
            assert_eq!(LegalKind::parse(kind.as_str()), Some(kind));
        }
        assert_eq!(LegalKind::parse("cookies"), None);
    }
}
