//! Drawing image captchas: the answer's characters as strokes of a built-in
//! line font, each one rotated, sheared and scaled at random, the whole image
//! warped by a wave and crossed by noise curves of the text's own colours, so
//! that plain OCR fails while a person still reads it.

use crate::rules::{CAPTCHA_ALPHABET, CAPTCHA_LEN};
use rand::Rng;

pub const WIDTH: usize = 130;
pub const HEIGHT: usize = 48;

type Stroke = &'static [(f32, f32)];

/// Glyphs on a 4 x 6 grid (y down), as polylines.
fn glyph(c: u8) -> &'static [Stroke] {
    match c {
        b'A' => &[&[(0., 6.), (2., 0.), (4., 6.)], &[(0.9, 3.6), (3.1, 3.6)]],
        b'B' => &[
            &[(0., 0.), (0., 6.), (3., 6.), (4., 5.), (4., 4.), (3., 3.), (0., 3.)],
            &[(0., 0.), (3., 0.), (4., 1.), (4., 2.), (3., 3.)],
        ],
        b'C' => &[&[(4., 1.), (3., 0.), (1., 0.), (0., 1.), (0., 5.), (1., 6.), (3., 6.), (4., 5.)]],
        b'D' => &[&[(0., 0.), (0., 6.), (2.5, 6.), (4., 4.5), (4., 1.5), (2.5, 0.), (0., 0.)]],
        b'E' => &[&[(4., 0.), (0., 0.), (0., 6.), (4., 6.)], &[(0., 3.), (3., 3.)]],
        b'F' => &[&[(4., 0.), (0., 0.), (0., 6.)], &[(0., 3.), (3., 3.)]],
        b'G' => {
            &[&[(4., 1.), (3., 0.), (1., 0.), (0., 1.), (0., 5.), (1., 6.), (3., 6.), (4., 5.), (4., 3.), (2., 3.)]]
        }
        b'H' => &[&[(0., 0.), (0., 6.)], &[(4., 0.), (4., 6.)], &[(0., 3.), (4., 3.)]],
        b'J' => &[&[(4., 0.), (4., 5.), (3., 6.), (1., 6.), (0., 5.)]],
        b'K' => &[&[(0., 0.), (0., 6.)], &[(4., 0.), (0., 3.6)], &[(1.4, 2.5), (4., 6.)]],
        b'M' => &[&[(0., 6.), (0., 0.), (2., 3.), (4., 0.), (4., 6.)]],
        b'N' => &[&[(0., 6.), (0., 0.), (4., 6.), (4., 0.)]],
        b'P' => &[&[(0., 6.), (0., 0.), (3., 0.), (4., 1.), (4., 2.), (3., 3.), (0., 3.)]],
        b'Q' => &[
            &[(1., 0.), (3., 0.), (4., 1.), (4., 5.), (3., 6.), (1., 6.), (0., 5.), (0., 1.), (1., 0.)],
            &[(2.4, 4.4), (4.3, 6.4)],
        ],
        b'R' => &[&[(0., 6.), (0., 0.), (3., 0.), (4., 1.), (4., 2.), (3., 3.), (0., 3.)], &[(2., 3.), (4., 6.)]],
        b'S' => &[&[
            (4., 1.),
            (3., 0.),
            (1., 0.),
            (0., 1.),
            (0., 2.),
            (1., 3.),
            (3., 3.),
            (4., 4.),
            (4., 5.),
            (3., 6.),
            (1., 6.),
            (0., 5.),
        ]],
        b'T' => &[&[(0., 0.), (4., 0.)], &[(2., 0.), (2., 6.)]],
        b'U' => &[&[(0., 0.), (0., 5.), (1., 6.), (3., 6.), (4., 5.), (4., 0.)]],
        b'V' => &[&[(0., 0.), (2., 6.), (4., 0.)]],
        b'W' => &[&[(0., 0.), (1., 6.), (2., 2.), (3., 6.), (4., 0.)]],
        b'X' => &[&[(0., 0.), (4., 6.)], &[(4., 0.), (0., 6.)]],
        b'Y' => &[&[(0., 0.), (2., 3.), (4., 0.)], &[(2., 3.), (2., 6.)]],
        b'Z' => &[&[(0., 0.), (4., 0.), (0., 6.), (4., 6.)]],
        b'2' => &[&[(0., 1.), (1., 0.), (3., 0.), (4., 1.), (4., 2.), (0., 6.), (4., 6.)]],
        b'3' => &[
            &[(0., 1.), (1., 0.), (3., 0.), (4., 1.), (4., 2.), (3., 3.), (1.5, 3.)],
            &[(3., 3.), (4., 4.), (4., 5.), (3., 6.), (1., 6.), (0., 5.)],
        ],
        b'4' => &[&[(3., 6.), (3., 0.), (0., 4.), (4., 4.)]],
        b'5' => &[&[(4., 0.), (0., 0.), (0., 3.), (3., 3.), (4., 4.), (4., 5.), (3., 6.), (0., 6.)]],
        b'6' => {
            &[&[(4., 0.), (2., 0.), (0., 2.), (0., 5.), (1., 6.), (3., 6.), (4., 5.), (4., 4.), (3., 3.), (0., 3.)]]
        }
        b'7' => &[&[(0., 0.), (4., 0.), (1.5, 6.)]],
        b'8' => &[&[
            (1., 3.),
            (0., 2.),
            (0., 1.),
            (1., 0.),
            (3., 0.),
            (4., 1.),
            (4., 2.),
            (3., 3.),
            (1., 3.),
            (0., 4.),
            (0., 5.),
            (1., 6.),
            (3., 6.),
            (4., 5.),
            (4., 4.),
            (3., 3.),
        ]],
        b'9' => {
            &[&[(4., 3.), (1., 3.), (0., 2.), (0., 1.), (1., 0.), (3., 0.), (4., 1.), (4., 4.), (2., 6.), (0., 6.)]]
        }
        _ => &[],
    }
}

/// A fresh answer: `CAPTCHA_LEN` characters from the alphabet. `rand::rng()`
/// is a CSPRNG (ChaCha, seeded from the OS).
pub fn new_answer() -> String {
    let mut rng = rand::rng();
    (0..CAPTCHA_LEN).map(|_| CAPTCHA_ALPHABET[rng.random_range(0..CAPTCHA_ALPHABET.len())] as char).collect()
}

struct Segment {
    a: (f32, f32),
    b: (f32, f32),
    half_width: f32,
    color: [f32; 3],
}

fn distance(p: (f32, f32), s: &Segment) -> f32 {
    let (dx, dy) = (s.b.0 - s.a.0, s.b.1 - s.a.1);
    let len2 = dx * dx + dy * dy;
    let t = if len2 == 0.0 { 0.0 } else { (((p.0 - s.a.0) * dx + (p.1 - s.a.1) * dy) / len2).clamp(0.0, 1.0) };
    let (cx, cy) = (s.a.0 + t * dx - p.0, s.a.1 + t * dy - p.1);
    (cx * cx + cy * cy).sqrt()
}

/// How to draw: the real thing, or (for tests) clean upright glyphs, which
/// show that what defeats OCR is the distortion, not the font.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Style {
    Captcha,
    #[cfg(test)]
    Plain,
}

/// Draws `answer` as a PNG. CPU-bound (about a millisecond): run it
/// through the CPU limiter.
pub fn draw_png(answer: &str) -> Vec<u8> {
    render(answer, Style::Captcha)
}

fn render(answer: &str, style: Style) -> Vec<u8> {
    let distort = style == Style::Captcha;
    let mut rng = rand::rng();
    let background = [rng.random_range(225.0..250.0), rng.random_range(225.0..250.0), rng.random_range(225.0..250.0)];
    let mut dark = || [rng.random_range(10.0..110.0f32), rng.random_range(10.0..110.0), rng.random_range(10.0..110.0)];
    let palette = [dark(), dark(), dark()];

    let mut segments = Vec::new();
    let cell = (WIDTH as f32 - 18.0) / CAPTCHA_LEN as f32;
    for (i, c) in answer.bytes().enumerate() {
        let jitter = if distort { 1.0 } else { 0.0 };
        let angle: f32 = jitter * rng.random_range(-0.45..0.45);
        let shear: f32 = jitter * rng.random_range(-0.3..0.3);
        let scale: f32 = if distort { rng.random_range(4.3..5.4) } else { 5.0 };
        let (cx, cy) = (
            9.0 + cell * (i as f32 + 0.5) + jitter * rng.random_range(-2.5..2.5),
            HEIGHT as f32 / 2.0 + jitter * rng.random_range(-3.0..3.0),
        );
        let half_width = if distort { rng.random_range(1.2..1.8) } else { 1.5 };
        let color = if distort { palette[i % palette.len()] } else { [0.0; 3] };
        let (sin, cos) = angle.sin_cos();
        let place = |(gx, gy): (f32, f32)| {
            let (x, y) = (gx - 2.0, gy - 3.0);
            let x = x + shear * y;
            (cx + scale * (x * cos - y * sin), cy + scale * (x * sin + y * cos))
        };
        for stroke in glyph(c) {
            for pair in stroke.windows(2) {
                segments.push(Segment { a: place(pair[0]), b: place(pair[1]), half_width, color });
            }
        }
    }
    // Noise curves through the text, in the text's colours and thickness.
    for k in 0..if distort { 4 } else { 0 } {
        let (amp, freq, phase, base) = (
            rng.random_range(4.0..12.0f32),
            rng.random_range(0.03..0.09f32),
            rng.random_range(0.0..6.3f32),
            rng.random_range(12.0..36.0f32),
        );
        let half_width = rng.random_range(0.6..1.2);
        let color = palette[k % palette.len()];
        let mut prev = (0.0, base + amp * phase.sin());
        for x in (4..=WIDTH).step_by(4) {
            let next = (x as f32, base + amp * (freq * x as f32 + phase).sin());
            segments.push(Segment { a: prev, b: next, half_width, color });
            prev = next;
        }
    }

    let (wave_amp, wave_freq, wave_phase) = if distort {
        (rng.random_range(1.5..3.0f32), rng.random_range(0.08..0.16f32), rng.random_range(0.0..6.3f32))
    } else {
        (0.0, 0.0, 0.0)
    };
    let background = if distort { background } else { [255.0; 3] };
    // Where each pixel samples the drawing (the wave).
    let warp = |x: usize, y: usize| {
        (
            x as f32 + wave_amp * (y as f32 * wave_freq + wave_phase).sin(),
            y as f32 + wave_amp * (x as f32 * wave_freq * 0.7).cos(),
        )
    };
    // Each segment touches only the pixels near it: its box, widened by the
    // wave's reach (every pixel against every segment cost ~5 ms a image).
    let mut rgb: Vec<[f32; 3]> = vec![background; WIDTH * HEIGHT];
    let reach = wave_amp + 1.0;
    for s in &segments {
        let outer = s.half_width + 0.5 + reach;
        let xs = ((s.a.0.min(s.b.0) - outer).floor().max(0.0) as usize)
            ..((s.a.0.max(s.b.0) + outer).ceil().clamp(0.0, WIDTH as f32) as usize);
        let ys = ((s.a.1.min(s.b.1) - outer).floor().max(0.0) as usize)
            ..((s.a.1.max(s.b.1) + outer).ceil().clamp(0.0, HEIGHT as f32) as usize);
        for y in ys {
            for x in xs.clone() {
                let coverage = (s.half_width + 0.5 - distance(warp(x, y), s)).clamp(0.0, 1.0);
                if coverage > 0.0 {
                    let pixel = &mut rgb[y * WIDTH + x];
                    for (channel, ink) in pixel.iter_mut().zip(s.color) {
                        *channel = *channel * (1.0 - coverage) + ink * coverage;
                    }
                }
            }
        }
    }
    let mut pixels = vec![0u8; WIDTH * HEIGHT * 3];
    for (out, pixel) in pixels.chunks_exact_mut(3).zip(&rgb) {
        let speckle: f32 = if distort && rng.random_bool(0.06) { rng.random_range(-90.0..40.0) } else { 0.0 };
        for (o, channel) in out.iter_mut().zip(pixel) {
            *o = (channel + speckle).clamp(0.0, 255.0) as u8;
        }
    }
    encode_png(&pixels)
}

fn encode_png(pixels: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, WIDTH as u32, HEIGHT as u32);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    // Writing into a Vec with dimensions that match the buffer cannot fail.
    if let Ok(mut writer) = encoder.write_header() {
        let _ = writer.write_image_data(pixels);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_alphabet_character_has_a_glyph() {
        for c in CAPTCHA_ALPHABET {
            assert!(!glyph(*c).is_empty(), "{}", *c as char);
        }
    }

    #[test]
    fn answers_use_only_the_alphabet() {
        for _ in 0..200 {
            let a = new_answer();
            assert_eq!(a.len(), CAPTCHA_LEN);
            assert!(a.bytes().all(|c| CAPTCHA_ALPHABET.contains(&c)));
        }
    }

    #[test]
    fn the_image_is_a_png_of_the_stated_size() {
        let png = draw_png("AB3D");
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
        let decoder = png::Decoder::new(std::io::Cursor::new(png));
        let reader = decoder.read_info().unwrap();
        assert_eq!((reader.info().width, reader.info().height), (WIDTH as u32, HEIGHT as u32));
    }

    /// Reads `png` with Tesseract, restricted to the captcha alphabet.
    fn ocr(png: &[u8]) -> String {
        let path = std::env::temp_dir().join(format!("captcha-{}.png", uuid::Uuid::new_v4().simple()));
        std::fs::write(&path, png).unwrap();
        let alphabet = std::str::from_utf8(CAPTCHA_ALPHABET).unwrap();
        let output = std::process::Command::new("tesseract")
            .arg(&path)
            .args(["stdout", "--psm", "7", "-c", &format!("tessedit_char_whitelist={alphabet}")])
            .output()
            .unwrap();
        let _ = std::fs::remove_file(&path);
        String::from_utf8_lossy(&output.stdout).split_whitespace().collect::<String>().to_ascii_uppercase()
    }

    #[test]
    fn plain_ocr_reads_the_clean_glyphs_but_not_the_captchas() {
        if !crate::core::test_support::tool("tesseract") {
            return;
        }
        let answers: Vec<String> = (0..30).map(|_| new_answer()).collect();
        let clean = answers.iter().filter(|a| ocr(&render(a, Style::Plain)) == **a).count();
        let drawn = answers.iter().filter(|a| ocr(&draw_png(a)) == **a).count();
        eprintln!("OCR read {clean}/30 clean renderings and {drawn}/30 captchas");
        // The control: the glyphs themselves are readable by this OCR...
        assert!(clean >= 10, "control failed: OCR read only {clean}/30 clean renderings");
        // ...and the distortion is what stops it.
        assert!(drawn <= 1, "OCR read {drawn}/30 captchas");
    }

    #[test]
    fn the_same_answer_is_drawn_differently_each_time() {
        assert_ne!(draw_png("AB3D"), draw_png("AB3D"));
    }
}
