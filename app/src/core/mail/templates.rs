//! How every e-mail is laid out: a subject, a plain-text body and an HTML
//! body for each kind of message, its words from the catalogue (`[mail]`)
//! in the recipient's language. Values are escaped where they enter HTML.

use crate::i18n::Texts;
use serde::{Deserialize, Serialize};

/// A message to render. The queue carries this (not the rendered text), so
/// that a message is worded by the templates of the worker that sends it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "template", rename_all = "snake_case")]
pub enum Mail {
    /// `server mail test`: proves that the settings deliver.
    Test { site: String },
    /// The link that proves an address the user asked to bind.
    VerifyEmail { site: String, link: String, hours: u64 },
    /// The link that sets a new password ("忘记密码").
    PasswordReset { site: String, link: String, minutes: u64 },
    /// To the old verified address, once a new one is verified.
    EmailChanged { site: String, new_address: String },
    /// After a reset: when, and from which client address.
    PasswordChanged { site: String, at: String, client_ip: String },
    /// 注销 asked: the account goes at `date` unless its owner signs in and
    /// cancels.
    DeletionRequested { site: String, date: String },
    /// 注销 done: the account was erased at `at`.
    AccountDeleted { site: String, at: String },
}

/// A rendered message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rendered {
    pub subject: String,
    pub text: String,
    pub html: String,
    /// The code or link the message carries, for the development outbox.
    pub key: Option<String>,
}

impl Mail {
    /// The kind of message, for records and logs.
    pub fn name(&self) -> &'static str {
        match self {
            Mail::Test { .. } => "test",
            Mail::VerifyEmail { .. } => "verify_email",
            Mail::PasswordReset { .. } => "password_reset",
            Mail::EmailChanged { .. } => "email_changed",
            Mail::PasswordChanged { .. } => "password_changed",
            Mail::DeletionRequested { .. } => "deletion_requested",
            Mail::AccountDeleted { .. } => "account_deleted",
        }
    }

    /// The message in `texts`' language.
    pub fn render(&self, texts: &Texts) -> Rendered {
        match self {
            Mail::Test { site } => {
                let subject = texts.mail_test_subject(site);
                let text = texts.mail_test_text(site);
                Rendered { html: page(texts, &subject, &paragraphs(&text)), text, subject, key: None }
            }
            Mail::VerifyEmail { site, link, hours } => {
                let subject = texts.mail_verify_subject(site);
                let ignore = texts.mail_verify_ignore();
                Rendered {
                    text: format!("{}\n{link}\n\n{ignore}", texts.mail_verify_text(*hours, site)),
                    html: page(
                        texts,
                        &subject,
                        &format!(
                            "<p>{}</p>{}<p style=\"color:#52606d\">{}</p>",
                            escape(&texts.mail_verify_html(*hours, site)),
                            button(link, texts.mail_verify_button()),
                            escape(ignore),
                        ),
                    ),
                    subject,
                    key: Some(link.clone()),
                }
            }
            Mail::PasswordReset { site, link, minutes } => {
                let subject = texts.mail_reset_subject(site);
                let ignore = texts.mail_reset_ignore();
                Rendered {
                    text: format!("{}\n{link}\n\n{ignore}", texts.mail_reset_text(*minutes, site)),
                    html: page(
                        texts,
                        &subject,
                        &format!(
                            "<p>{}</p>{}<p style=\"color:#52606d\">{}</p>",
                            escape(&texts.mail_reset_html(*minutes, site)),
                            button(link, texts.mail_reset_button()),
                            escape(ignore),
                        ),
                    ),
                    subject,
                    key: Some(link.clone()),
                }
            }
            Mail::EmailChanged { site, new_address } => {
                let subject = texts.mail_email_changed_subject(site);
                let text = texts.mail_email_changed_text(site, new_address);
                Rendered { html: page(texts, &subject, &paragraphs(&text)), text, subject, key: None }
            }
            Mail::PasswordChanged { site, at, client_ip } => {
                let subject = texts.mail_password_changed_subject(site);
                let text = texts.mail_password_changed_text(site, at, client_ip);
                Rendered { html: page(texts, &subject, &paragraphs(&text)), text, subject, key: None }
            }
            Mail::DeletionRequested { site, date } => {
                let subject = texts.mail_deletion_requested_subject(site);
                let text = texts.mail_deletion_requested_text(site, date);
                Rendered { html: page(texts, &subject, &paragraphs(&text)), text, subject, key: None }
            }
            Mail::AccountDeleted { site, at } => {
                let subject = texts.mail_account_deleted_subject(site);
                let text = texts.mail_account_deleted_text(site, at);
                Rendered { html: page(texts, &subject, &paragraphs(&text)), text, subject, key: None }
            }
        }
    }
}

/// Plain text as HTML paragraphs, one per line, escaped.
fn paragraphs(text: &str) -> String {
    text.lines().map(|line| format!("<p>{}</p>", escape(line))).collect()
}

/// A link as a button a thumb can hit, with the address written out under
/// it for clients that drop styles.
fn button(link: &str, label: &str) -> String {
    let link = escape(link);
    format!(
        "<p><a href=\"{link}\" style=\"display:inline-block;padding:12px 24px;background:#1f6feb;color:#ffffff;\
         text-decoration:none;border-radius:6px\">{}</a></p>\
         <p style=\"font-size:13px;color:#52606d;word-break:break-all\">{link}</p>",
        escape(label)
    )
}

/// The HTML frame every message shares: readable on a phone, no images, no
/// remote content.
fn page(texts: &Texts, title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html><html lang=\"{}\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>{}</title></head>\
         <body style=\"margin:0;padding:24px 16px;font-family:-apple-system,'PingFang SC','Microsoft YaHei',sans-serif;\
         font-size:16px;line-height:1.6;color:#1f2933;background:#ffffff\">\
         <div style=\"max-width:560px;margin:0 auto\">{body}</div></body></html>",
        texts.locale().tag(),
        escape(title)
    )
}

/// Escapes text for HTML content and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::i18n::Locale;

    fn zh() -> Texts {
        Texts::of(Locale::REFERENCE)
    }

    #[test]
    fn a_mail_is_in_the_language_it_is_rendered_in() {
        let mail = Mail::PasswordReset { site: "Shop".into(), link: "https://a.example/r".into(), minutes: 30 };
        let english = mail.render(&Texts::of(Locale::from_tag("en").unwrap()));
        assert_eq!(english.subject, "Shop: reset your password");
        assert!(
            english.text.contains("valid for 30 minutes, once")
                && english.html.starts_with("<!DOCTYPE html><html lang=\"en\"")
        );
        assert!(english.html.contains(">Reset password</a>"), "{}", english.html);
        let chinese = mail.render(&zh());
        assert!(chinese.text.contains("30分钟内有效") && chinese.html.contains("lang=\"zh-CN\""));
    }

    #[test]
    fn the_deletion_notices_say_the_date_and_what_happens() {
        let asked =
            Mail::DeletionRequested { site: "<站>".into(), date: "2026-12-13 14:05（北京时间）".into() }.render(&zh());
        assert!(asked.text.contains("将于 2026-12-13 14:05（北京时间） 注销") && asked.text.contains("撤销注销"));
        assert!(asked.html.contains("&lt;站&gt;") && !asked.html.contains("<站>"));
        let gone = Mail::AccountDeleted { site: "站".into(), at: "2026-12-13 14:05（北京时间）".into() }.render(&zh());
        assert!(gone.subject.contains("已注销") && gone.text.contains("已于 2026-12-13 14:05（北京时间） 注销"));
        assert_eq!((asked.key, gone.key), (None, None), "no link, no code");
    }

    #[test]
    fn html_gets_escaped_values_and_text_gets_them_as_they_are() {
        let rendered = Mail::Test { site: "<b>站点</b>".into() }.render(&zh());
        assert!(rendered.html.contains("&lt;b&gt;站点&lt;/b&gt;"));
        assert!(!rendered.html.contains("<b>站点"));
        assert!(rendered.text.contains("<b>站点</b>"));
        assert!(rendered.subject.contains("测试邮件"));
    }

    #[test]
    fn a_link_is_escaped_in_html_and_kept_for_the_outbox() {
        let link = "https://a.example/reset?token=ab\"><script>".to_owned();
        let rendered = Mail::PasswordReset { site: "站".into(), link: link.clone(), minutes: 30 }.render(&zh());
        assert!(!rendered.html.contains("<script>") && rendered.html.contains("&quot;&gt;&lt;script&gt;"));
        assert!(rendered.text.contains(&link) && rendered.text.contains("30分钟"));
        assert_eq!(rendered.key, Some(link));
        let notice = Mail::PasswordChanged { site: "站".into(), at: "<b>".into(), client_ip: "1.2.3.4".into() };
        let rendered = notice.render(&zh());
        assert!(rendered.html.contains("&lt;b&gt;") && rendered.text.contains("1.2.3.4") && rendered.key.is_none());
    }

    #[test]
    fn a_mail_survives_the_queue() {
        let mail = Mail::Test { site: "站点".into() };
        let json = serde_json::to_string(&mail).unwrap();
        assert_eq!(serde_json::from_str::<Mail>(&json).unwrap(), mail);
    }
}
