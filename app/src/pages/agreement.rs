//! The user agreement (a short default text; operators replace it).

use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn AgreementPage() -> impl IntoView {
    view! {
        <Title text="用户协议" />
        <article class="card prose">
            <h1>"用户协议"</h1>
            <p>"欢迎使用本服务。注册即表示你同意以下条款："</p>
            <ol>
                <li>"你提供的手机号归你本人所有，并会妥善保管账号和密码。"</li>
                <li>"我们只将你的手机号用于登录、找回密码和安全通知，不会出售或公开。"</li>
                <li>"密码以不可逆的方式保存，任何人都无法查看你的密码。"</li>
                <li>"请勿利用本服务从事违法活动；违反者，我们有权停用其账号。"</li>
            </ol>
            <p>
                <a href="/register">"返回注册"</a>
            </p>
        </article>
    }
}
