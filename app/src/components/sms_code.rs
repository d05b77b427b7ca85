//! The image captcha, and the SMS-code field with its send button and resend
//! countdown: shared by sign-up and SMS sign-in. The countdown follows the
//! server's answer and resumes after a reload from what the server says is left.

use super::{Note, TextField};
use crate::{
    api::{new_captcha, send_sms_code, sms_cooldown},
    error::AppError,
    i18n::Texts,
    rules::{CaptchaAnswer, Mobile, Proof, search_proof},
    wire::{CaptchaTicket, PowChallenge, SmsCooldown},
};
use gloo_timers::{callback::Interval, future::TimeoutFuture};
use leptos::{prelude::*, task::spawn_local};
use send_wrapper::SendWrapper;

/// One captcha on a page: its id and proof-of-work challenge (fetched from
/// the server), the proof once the browser has found it, and a way to ask
/// for a new one.
#[derive(Clone, Copy)]
pub struct Captcha {
    round: RwSignal<u32>,
    pub ticket: Resource<Result<CaptchaTicket, AppError>, crate::wire::ResourceCodec>,
    proof: RwSignal<Option<Proof>>,
    /// How long the browser took to find the proof, in ms (shown as
    /// `data-pow-ms` on the image, for the tests' measure).
    solve_ms: RwSignal<Option<u64>>,
}

impl Captcha {
    /// A captcha for sign-in with a password: no proof of work.
    /// Create it at the top of a page, outside any `Suspend`, so that the
    /// browser finds the server's id while hydrating instead of fetching another.
    pub fn new() -> Captcha {
        Captcha::make(None)
    }

    /// A captcha that guards sending a code for `purpose`: it comes with a
    /// proof-of-work challenge, which the browser starts solving as soon as
    /// the page runs, while the person reads the image.
    pub fn guarding_send(purpose: &'static str) -> Captcha {
        let captcha = Captcha::make(Some(purpose));
        Effect::new(move |_| {
            captcha.proof.set(None);
            captcha.solve_ms.set(None);
            let Some(Ok(CaptchaTicket { pow: Some(pow), .. })) = captcha.ticket.get() else { return };
            let round = captcha.round.get_untracked();
            spawn_local(async move {
                let started = js_sys::Date::now();
                let still_shown = move || captcha.round.try_get_untracked() == Some(round);
                if let Some(proof) = solve(pow, still_shown).await {
                    captcha.solve_ms.try_set(Some((js_sys::Date::now() - started) as u64));
                    captcha.proof.try_set(Some(proof));
                }
            });
        });
        captcha
    }

    fn make(purpose: Option<&'static str>) -> Captcha {
        let round = RwSignal::new(0u32);
        let ticket = crate::wire::resource(move || round.get(), move |_| new_captcha(purpose.map(str::to_owned)));
        Captcha { round, ticket, proof: RwSignal::new(None), solve_ms: RwSignal::new(None) }
    }

    pub fn refresh(&self) {
        self.round.update(|n| *n += 1);
    }

    /// The captcha now shown, once loaded.
    pub fn current(&self) -> Option<CaptchaTicket> {
        self.ticket.get_untracked().and_then(Result::ok)
    }

    /// The proof for `ticket`'s challenge: at once when found, else once the
    /// search ends; `None` when the captcha has no challenge or was replaced.
    pub async fn proof_for(&self, ticket: &CaptchaTicket) -> Option<Proof> {
        let challenge = &ticket.pow.as_ref()?.challenge;
        loop {
            match self.proof.try_get_untracked()? {
                Some(proof) if proof.challenge == *challenge => return Some(proof),
                _ if self.current().as_ref() != Some(ticket) => return None,
                _ => TimeoutFuture::new(25).await,
            }
        }
    }
}

impl Default for Captcha {
    fn default() -> Self {
        Captcha::new()
    }
}

/// Searches for the proof in slices of about a frame (16 ms), yielding to the page
/// between them so that typing never stutters; stops when `wanted` says the
/// captcha was replaced.
async fn solve(pow: PowChallenge, wanted: impl Fn() -> bool) -> Option<Proof> {
    const TRIES: u64 = 2048;
    let mut from = 0u64;
    loop {
        let slice_started = js_sys::Date::now();
        while js_sys::Date::now() - slice_started < 16.0 {
            if let Some(nonce) = search_proof(&pow.challenge, pow.bits, from, TRIES) {
                return Some(Proof { challenge: pow.challenge, nonce });
            }
            from += TRIES;
        }
        TimeoutFuture::new(0).await;
        if !wanted() {
            return None;
        }
    }
}

/// The captcha text field with its image beside it; a click on the image
/// shows a new one. `name` puts the answer (and the id) in the form post.
#[component]
pub fn CaptchaField(
    captcha: Captcha,
    text: RwSignal<String>,
    #[prop(into)] note: Signal<Option<Note>>,
    #[prop(into)] on_edit: Callback<()>,
    #[prop(default = "captcha-text")] id: &'static str,
    #[prop(optional)] name: Option<&'static str>,
) -> impl IntoView {
    let refresh = move || {
        text.set(String::new());
        captcha.refresh();
    };
    let texts = Texts::here();
    view! {
        <TextField
            id=id
            // An empty name keeps the answer out of the form post.
            name=name.unwrap_or("")
            label=texts.captcha_label()
            autocomplete="off"
            placeholder=texts.captcha_placeholder()
            maxlength="4"
            value=text
            note=note
            on_edit=on_edit
        >
            <Transition fallback=|| view! { <span class="captcha-placeholder"></span> }>
                {move || Suspend::new(async move {
                    let image_id = captcha.ticket.await.map(|t| t.id).unwrap_or_default();
                    view! {
                        {name.map(|_| view! { <input type="hidden" name="image_code_id" value=image_id.clone() /> })}
                        <button
                            type="button"
                            class="captcha"
                            title=texts.captcha_refresh_title()
                            aria-label=texts.captcha_refresh_label()
                            on:click=move |_| refresh()
                        >
                            <img
                                src=format!("/api/v1/image_codes/{image_id}")
                                alt=texts.captcha_label()
                                width="130"
                                height="48"
                                data-captcha-id=image_id.clone()
                                data-pow-ms=move || captcha.solve_ms.get().map(|ms| ms.to_string())
                            />
                        </button>
                    }
                })}
            </Transition>
        </TextField>
    }
}

/// Seconds after a send at which the page asks whether the provider refused
/// the code: the worker usually knows within seconds; later answers are rare.
const REFUSAL_CHECKS: [u64; 4] = [2, 5, 10, 20];

fn local_storage() -> Option<web_sys::Storage> {
    window().local_storage().ok().flatten()
}

/// The captcha and SMS-code fields for `purpose`, sending to `mobile`.
#[component]
pub fn SmsCodeFields(
    purpose: &'static str,
    captcha: Captcha,
    /// The number as typed; restored after a reload while a countdown runs.
    mobile: RwSignal<String>,
    /// Whether a code may be sent to the number now (valid, and free or
    /// registered as the purpose needs).
    #[prop(into)]
    mobile_ready: Signal<bool>,
    /// Where a refusal about the number goes.
    mobile_error: RwSignal<Option<String>>,
    sms_code: RwSignal<String>,
    /// The code field's own error (the form's checks write here too).
    sms_error: RwSignal<Option<String>>,
    /// The server's error for the code, from the form's last submit.
    #[prop(into)]
    server_error: Signal<Option<String>>,
    /// The code goes to the signed-in account's own number, which the server
    /// knows (`bind_email`): `mobile` is only what the page shows, masked.
    #[prop(optional)]
    own_number: bool,
) -> impl IntoView {
    let pending_key = format!("{purpose}.sms_mobile");
    let text = RwSignal::new(String::new());
    let text_error = RwSignal::new(None::<String>);
    let countdown = RwSignal::new(0u64);
    // `Some` only in the browser (one thread); the server renders with `None`
    // and may drop it from any thread.
    let ticker = StoredValue::new(None::<SendWrapper<Interval>>);
    let sending = RwSignal::new(false);
    let sent_note = RwSignal::new(None::<String>);

    // The number the last code went to: while its countdown runs, the page
    // asks now and then whether the provider refused it.
    let sent_to = StoredValue::new(None::<String>);

    // The ticker and the answers that arrive later may outlive the form (a
    // sign-in navigates away mid-countdown): each touches the form's state
    // with `try_*`, which does nothing once the form is gone, and the form's
    // cleanup stops the ticker.
    let clear_ticker = move || {
        // Dropping the interval cancels it.
        ticker.try_set_value(None);
    };
    on_cleanup(clear_ticker);
    let stop_countdown = move || {
        clear_ticker();
        countdown.try_set(0);
    };
    // A refusal (a blocked number, the provider's own limits) ends the wait:
    // the server gave the number's cooldown back, and the visitor hears why.
    let show_refusal = move |cooldown: &SmsCooldown| {
        if let Some(refusal) = &cooldown.refusal {
            stop_countdown();
            sent_note.try_set(None);
            sms_error.try_set(Some(refusal.message.clone()));
        }
    };
    let check_refusal = move || {
        let Some(Some(number)) = sent_to.try_get_value() else { return };
        spawn_local(async move {
            if let Ok(cooldown) = sms_cooldown(number, purpose.into()).await {
                show_refusal(&cooldown);
            }
        });
    };

    let start_countdown = move |seconds: u64| {
        clear_ticker();
        if countdown.try_set(seconds).is_some() {
            // The form is gone: no ticker for it.
            return;
        }
        let elapsed = std::cell::Cell::new(0u64);
        let interval = Interval::new(1_000, move || {
            elapsed.set(elapsed.get() + 1);
            if REFUSAL_CHECKS.contains(&elapsed.get()) {
                check_refusal();
            }
            let left = countdown.try_update(|n| {
                *n = n.saturating_sub(1);
                *n
            });
            if left.is_none_or(|n| n == 0) {
                // Not from inside its own callback: after it returns.
                spawn_local(async move { clear_ticker() });
            }
        });
        ticker.try_set_value(Some(SendWrapper::new(interval)));
    };

    // After a reload: resume the countdown for the number a code went to,
    // or say why the provider refused it.
    let restore_key = pending_key.clone();
    Effect::new(move |_| {
        let Some(saved) = local_storage().and_then(|s| s.get_item(&restore_key).ok().flatten()) else { return };
        mobile.set(saved.clone());
        sent_to.set_value(Some(saved.clone()));
        spawn_local(async move {
            if let Ok(cooldown) = sms_cooldown(saved, purpose.into()).await {
                if cooldown.seconds > 0 {
                    start_countdown(cooldown.seconds);
                }
                show_refusal(&cooldown);
            }
        });
    });

    let send = move |_| {
        text_error.set(None);
        sms_error.set(None);
        sent_note.set(None);
        let number = match Mobile::parse(&mobile.get_untracked()) {
            Ok(m) => Some(m),
            Err(_) if own_number => None,
            Err(e) => {
                mobile_error.set(Some(Texts::here().say(&e.text())));
                return;
            }
        };
        let answer = text.get_untracked();
        if let Err(e) = CaptchaAnswer::parse(&answer) {
            text_error.set(Some(Texts::here().say(&e.text())));
            return;
        }
        let Some(ticket) = captcha.current() else { return };
        sending.set(true);
        let pending_key = pending_key.clone();
        spawn_local(async move {
            // Usually found while the person typed; else wait for it.
            let proof = captcha.proof_for(&ticket).await;
            let (challenge, nonce) = proof.map(|p| (p.challenge, p.nonce.to_string())).unwrap_or_default();
            let to = number.as_ref().map(ToString::to_string).unwrap_or_default();
            let result = send_sms_code(to, purpose.into(), ticket.id, answer, challenge, nonce).await;
            sending.set(false);
            // The captcha was used, right or wrong: show a fresh one.
            text.set(String::new());
            captcha.refresh();
            match result {
                Ok(sent) => {
                    // The own number's countdown is not restored after a
                    // reload (the page does not hold the number).
                    if let Some(number) = &number {
                        if let Some(storage) = local_storage() {
                            let _ = storage.set_item(&pending_key, number.as_str());
                        }
                        sent_to.set_value(Some(number.to_string()));
                    }
                    start_countdown(sent.resend_after);
                    let to = number.map_or_else(|| mobile.get_untracked(), |n| n.masked());
                    sent_note.set(Some(Texts::here().sms_code_sent(to)));
                }
                Err(e) => {
                    if e.code == crate::error::ErrorCode::SmsCooldown {
                        start_countdown(e.retry_after.unwrap_or(0));
                    }
                    let slot = match e.field.as_deref() {
                        Some("mobile") => mobile_error,
                        Some("text" | "image_code_id") => text_error,
                        _ => sms_error,
                    };
                    slot.set(Some(e.say(&Texts::here())));
                }
            }
        });
    };

    let can_send = move || mobile_ready.get() && countdown.get() == 0 && !sending.get();
    let texts = Texts::here();
    let label = move || {
        if sending.get() {
            texts.sms_code_sending().to_string()
        } else if countdown.get() > 0 {
            texts.sms_code_resend_in(countdown.get())
        } else {
            texts.sms_code_send().to_string()
        }
    };
    let text_note = Signal::derive(move || text_error.get().map(Note::Error));
    let code_note = Signal::derive(move || {
        sms_error.get().or_else(|| server_error.get()).map(Note::Error).or_else(|| sent_note.get().map(Note::Hint))
    });

    view! {
        <CaptchaField captcha text note=text_note on_edit=Callback::new(move |()| text_error.set(None)) />
        <TextField
            id="sms-code"
            name="sms_code"
            label=texts.sms_code_label()
            inputmode="numeric"
            autocomplete="one-time-code"
            placeholder=texts.sms_code_placeholder()
            maxlength="6"
            value=sms_code
            note=code_note
            on_edit=Callback::new(move |()| sms_error.set(None))
        >
            <button type="button" class="secondary send-code" disabled=move || !can_send() on:click=send>
                {label}
            </button>
        </TextField>
    }
}

/// A mobile number and its SMS code as a sign-in-like form holds them (SMS
/// sign-in, recovery by SMS): the fields, and the browser's checks of both.
/// (Registration has its own: the number must also be free.)
#[derive(Clone, Copy)]
pub struct MobileAndCode {
    mobile: RwSignal<String>,
    sms_code: RwSignal<String>,
    mobile_error: RwSignal<Option<String>>,
    sms_error: RwSignal<Option<String>>,
}

impl Default for MobileAndCode {
    fn default() -> Self {
        MobileAndCode::new()
    }
}

impl MobileAndCode {
    pub fn new() -> MobileAndCode {
        MobileAndCode {
            mobile: RwSignal::new(String::new()),
            sms_code: RwSignal::new(String::new()),
            mobile_error: RwSignal::new(None),
            sms_error: RwSignal::new(None),
        }
    }

    /// Checks both fields, showing what is wrong; true when they hold.
    pub fn check(self) -> bool {
        self.mobile_error.set(Mobile::parse(&self.mobile.get_untracked()).err().map(|e| Texts::here().say(&e.text())));
        self.sms_error.set(
            crate::rules::SmsCode::parse(&self.sms_code.get_untracked()).err().map(|e| Texts::here().say(&e.text())),
        );
        self.mobile_error.get_untracked().is_none() && self.sms_error.get_untracked().is_none()
    }

    /// The number's field (`id`), the captcha and the code with its send
    /// button for `purpose`; the server's errors from `server`.
    pub fn fields(
        self,
        id: &'static str,
        purpose: &'static str,
        captcha: Captcha,
        server: super::FormErrors,
    ) -> impl IntoView {
        let MobileAndCode { mobile, sms_code, mobile_error, sms_error } = self;
        view! {
            <super::MobileField
                id=id
                value=mobile
                note=server.note(mobile_error, "mobile")
                on_edit=Callback::new(move |()| mobile_error.set(None))
            />
            <SmsCodeFields
                purpose=purpose
                captcha
                mobile
                mobile_ready=Signal::derive(move || Mobile::parse(&mobile.get()).is_ok())
                mobile_error
                sms_code
                sms_error
                server_error=Signal::derive(move || server.field("sms_code"))
            />
        }
    }
}
