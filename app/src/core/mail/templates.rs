//! What every e-mail says, in one place: a subject, a plain-text body and an
//! HTML body (zh-CN) for each kind of message. Values are escaped where they
//! enter HTML.

use serde::{Deserialize, Serialize};

/// A message to render. The queue carries this (not the rendered text), so
/// that a message is worded by the templates of the worker that sends it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "template", rename_all = "snake_case")]
pub enum Mail {
    /// `server mail test`: proves that the settings deliver.
    Test { site: String },
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
        }
    }

    pub fn render(&self) -> Rendered {
        match self {
            Mail::Test { site } => Rendered {
                subject: format!("{site}：测试邮件"),
                text: format!("这是一封来自{site}的测试邮件。\n收到它，说明邮件发送配置可用。"),
                html: page(
                    &format!("{site}：测试邮件"),
                    &format!("<p>这是一封来自{}的测试邮件。</p><p>收到它，说明邮件发送配置可用。</p>", escape(site)),
                ),
                key: None,
            },
        }
    }
}

/// The HTML frame every message shares: readable on a phone, no images, no
/// remote content.
fn page(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>{}</title></head>\
         <body style=\"margin:0;padding:24px 16px;font-family:-apple-system,'PingFang SC','Microsoft YaHei',sans-serif;\
         font-size:16px;line-height:1.6;color:#1f2933;background:#ffffff\">\
         <div style=\"max-width:560px;margin:0 auto\">{body}</div></body></html>",
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

    #[test]
    fn html_gets_escaped_values_and_text_gets_them_as_they_are() {
        let rendered = Mail::Test { site: "<b>站点</b>".into() }.render();
        assert!(rendered.html.contains("&lt;b&gt;站点&lt;/b&gt;"));
        assert!(!rendered.html.contains("<b>站点"));
        assert!(rendered.text.contains("<b>站点</b>"));
        assert!(rendered.subject.contains("测试邮件"));
    }

    #[test]
    fn a_mail_survives_the_queue() {
        let mail = Mail::Test { site: "站点".into() };
        let json = serde_json::to_string(&mail).unwrap();
        assert_eq!(serde_json::from_str::<Mail>(&json).unwrap(), mail);
    }
}
