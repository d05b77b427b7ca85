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
            Mail::VerifyEmail { site, link, hours } => {
                let subject = format!("{site}：请验证你的邮箱");
                Rendered {
                    text: format!(
                        "你正在{site}绑定此邮箱。打开下面的链接完成验证（{hours}小时内有效）：\n{link}\n\n\
                         如果这不是你本人的操作，请忽略本邮件，此邮箱不会被绑定。"
                    ),
                    html: page(
                        &subject,
                        &format!(
                            "<p>你正在{}绑定此邮箱。点击下面的按钮完成验证（{hours}小时内有效）：</p>{}\
                             <p style=\"color:#52606d\">如果这不是你本人的操作，请忽略本邮件，此邮箱不会被绑定。</p>",
                            escape(site),
                            button(link, "验证邮箱"),
                        ),
                    ),
                    subject,
                    key: Some(link.clone()),
                }
            }
            Mail::PasswordReset { site, link, minutes } => {
                let subject = format!("{site}：重置密码");
                Rendered {
                    text: format!(
                        "有人（希望是你）请求重置{site}账号的密码。打开下面的链接设置新密码（{minutes}分钟内有效，只能使用一次）：\n\
                         {link}\n\n如果不是你本人的请求，请忽略本邮件，你的密码不会改变。"
                    ),
                    html: page(
                        &subject,
                        &format!(
                            "<p>有人（希望是你）请求重置{}账号的密码。点击下面的按钮设置新密码（{minutes}分钟内有效，只能使用一次）：</p>{}\
                             <p style=\"color:#52606d\">如果不是你本人的请求，请忽略本邮件，你的密码不会改变。</p>",
                            escape(site),
                            button(link, "重置密码"),
                        ),
                    ),
                    subject,
                    key: Some(link.clone()),
                }
            }
            Mail::EmailChanged { site, new_address } => {
                let subject = format!("{site}：账号邮箱已更换");
                let text = format!(
                    "你在{site}的账号已改为使用新邮箱 {new_address}，此邮箱不再用于登录和找回密码。\n\
                     如果这不是你本人的操作，请立即用手机号登录并修改密码。"
                );
                Rendered { html: page(&subject, &paragraphs(&text)), text, subject, key: None }
            }
            Mail::PasswordChanged { site, at, client_ip } => {
                let subject = format!("{site}：密码已重置");
                let text = format!(
                    "你在{site}的账号密码已于 {at} 重置（来自 {client_ip}），所有已登录的设备都已退出。\n\
                     如果这不是你本人的操作，请立即通过“忘记密码”重新设置密码。"
                );
                Rendered { html: page(&subject, &paragraphs(&text)), text, subject, key: None }
            }
            Mail::DeletionRequested { site, date } => {
                let subject = format!("{site}：账号注销申请已提交");
                let text = format!(
                    "你在{site}的账号已申请注销，将于 {date} 注销，所有已登录的设备都已退出。\n\
                     在此之前登录即可撤销注销；到期后，账号及其数据将被删除且无法恢复。\n\
                     如果这不是你本人的操作，请立即登录撤销注销并修改密码。"
                );
                Rendered { html: page(&subject, &paragraphs(&text)), text, subject, key: None }
            }
            Mail::AccountDeleted { site, at } => {
                let subject = format!("{site}：账号已注销");
                let text = format!(
                    "你在{site}的账号已于 {at} 注销，手机号、邮箱、登录记录等数据均已删除。\n\
                     此邮箱今后不会再收到与该账号有关的邮件。感谢你的使用。"
                );
                Rendered { html: page(&subject, &paragraphs(&text)), text, subject, key: None }
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
         text-decoration:none;border-radius:6px\">{label}</a></p>\
         <p style=\"font-size:13px;color:#52606d;word-break:break-all\">{link}</p>"
    )
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
    fn the_deletion_notices_say_the_date_and_what_happens() {
        let asked =
            Mail::DeletionRequested { site: "<站>".into(), date: "2026-12-13 14:05（北京时间）".into() }.render();
        assert!(asked.text.contains("将于 2026-12-13 14:05（北京时间） 注销") && asked.text.contains("撤销注销"));
        assert!(asked.html.contains("&lt;站&gt;") && !asked.html.contains("<站>"));
        let gone = Mail::AccountDeleted { site: "站".into(), at: "2026-12-13 14:05（北京时间）".into() }.render();
        assert!(gone.subject.contains("已注销") && gone.text.contains("已于 2026-12-13 14:05（北京时间） 注销"));
        assert_eq!((asked.key, gone.key), (None, None), "no link, no code");
    }

    #[test]
    fn html_gets_escaped_values_and_text_gets_them_as_they_are() {
        let rendered = Mail::Test { site: "<b>站点</b>".into() }.render();
        assert!(rendered.html.contains("&lt;b&gt;站点&lt;/b&gt;"));
        assert!(!rendered.html.contains("<b>站点"));
        assert!(rendered.text.contains("<b>站点</b>"));
        assert!(rendered.subject.contains("测试邮件"));
    }

    #[test]
    fn a_link_is_escaped_in_html_and_kept_for_the_outbox() {
        let link = "https://a.example/reset?token=ab\"><script>".to_owned();
        let rendered = Mail::PasswordReset { site: "站".into(), link: link.clone(), minutes: 30 }.render();
        assert!(!rendered.html.contains("<script>") && rendered.html.contains("&quot;&gt;&lt;script&gt;"));
        assert!(rendered.text.contains(&link) && rendered.text.contains("30分钟"));
        assert_eq!(rendered.key, Some(link));
        let notice = Mail::PasswordChanged { site: "站".into(), at: "<b>".into(), client_ip: "1.2.3.4".into() };
        let rendered = notice.render();
        assert!(rendered.html.contains("&lt;b&gt;") && rendered.text.contains("1.2.3.4") && rendered.key.is_none());
    }

    #[test]
    fn a_mail_survives_the_queue() {
        let mail = Mail::Test { site: "站点".into() };
        let json = serde_json::to_string(&mail).unwrap();
        assert_eq!(serde_json::from_str::<Mail>(&json).unwrap(), mail);
    }
}
