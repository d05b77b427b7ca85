//! Development-only tools that are not part of the app's pages:
//! `/dev/captchas`, forty fresh captchas beside their answers, so that anyone
//! tuning the drawing can judge by eye whether a person still reads them (on
//! a phone-sized screen too). Like the outbox, it exists only in development
//! and answers only direct requests from this machine (`security`).

use app::core::{
    Core,
    captcha::{draw_png, new_answer},
};
use axum::{
    Router,
    extract::State,
    http::{StatusCode, header},
    response::{IntoResponse, Response},
    routing::get,
};
use base64::Engine as _;

/// How many captchas the page shows.
const SAMPLES: usize = 40;

pub fn router<S: Clone + Send + Sync + 'static>(core: Core) -> Router<S> {
    Router::new().route("/dev/captchas", get(captchas)).with_state(core)
}

async fn captchas(State(core): State<Core>) -> Response {
    // Forty drawings: through the captcha bound like any other.
    let drawn = core.captcha_cpu.run(|| {
        (0..SAMPLES)
            .map(|_| {
                let answer = new_answer();
                let png = draw_png(&answer);
                (answer, png)
            })
            .collect::<Vec<_>>()
    });
    let Ok(samples) = drawn.await else {
        return (StatusCode::SERVICE_UNAVAILABLE, crate::language::texts().failure_busy()).into_response();
    };
    let mut cells = String::new();
    for (answer, png) in samples {
        let data = base64::engine::general_purpose::STANDARD.encode(png);
        cells.push_str(&format!(
            "<figure><img src=\"data:image/png;base64,{data}\" alt=\"captcha\" width=\"{w}\" height=\"{h}\">\
             <figcaption>{answer}</figcaption></figure>",
            w = app::core::captcha::WIDTH * 2,
            h = app::core::captcha::HEIGHT * 2,
        ));
    }
    let texts = crate::language::texts();
    let (lang, title, heading) = (texts.locale().tag(), texts.plain_samples_title(), texts.plain_samples_heading());
    let note = texts.plain_samples_note(SAMPLES);
    let html = format!(
        "<!DOCTYPE html><html lang=\"{lang}\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title}</title><style>\
         body{{font-family:sans-serif;margin:1rem}}\
         main{{display:grid;grid-template-columns:repeat(auto-fill,minmax(140px,1fr));gap:.75rem}}\
         figure{{margin:0}}img{{width:100%;height:auto;image-rendering:pixelated}}\
         figcaption{{font:1rem monospace;text-align:center}}</style></head>\
         <body><h1>{heading}</h1><p>{note}</p>\
         <main>{cells}</main></body></html>"
    );
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
            // Inline images and the inline style only; nothing else.
            (
                header::CONTENT_SECURITY_POLICY,
                "default-src 'none'; img-src data:; style-src 'unsafe-inline'; frame-ancestors 'none'",
            ),
        ],
        html,
    )
        .into_response()
}
