//! Drawing image captchas. Each character of the answer is a line of dots
//! along the strokes of a built-in font, rotated, sheared and scaled at
//! random; two solid curves in the same inks run across them, over a pale
//! background of glyph fragments, and the dots sit on a wave.
//!
//! Why dots: a person reads a dotted letter at a glance (the eye joins the
//! dots), while captcha-solving OCR models, trained on solid strokes, follow
//! the solid curves instead. `bench/ocr/` measures what such a model reads
//! (ddddocr, both models: under 1 % whole answers; solid glyphs with the same
//! curves: about 70 %), and CI fails when it reads 5 % or more.

use crate::rules::{CAPTCHA_ALPHABET, CAPTCHA_LEN};
use rand::Rng;

pub const WIDTH: usize = 130;
pub const HEIGHT: usize = 48;

type Stroke = &'static [(f32, f32)];

/// Glyphs on a 4 x 6 grid (y down), as polylines: the alphabet's only.
fn glyph(c: u8) -> &'static [Stroke] {
    match c {
        b'A' => &[&[(0., 6.), (2., 0.), (4., 6.)], &[(0.9, 3.6), (3.1, 3.6)]],
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
        b'T' => &[&[(0., 0.), (4., 0.)], &[(2., 0.), (2., 6.)]],
        b'U' => &[&[(0., 0.), (0., 5.), (1., 6.), (3., 6.), (4., 5.), (4., 0.)]],
        b'V' => &[&[(0., 0.), (2., 6.), (4., 0.)]],
        b'W' => &[&[(0., 0.), (1., 6.), (2., 2.), (3., 6.), (4., 0.)]],
        b'X' => &[&[(0., 0.), (4., 6.)], &[(4., 0.), (0., 6.)]],
        b'Y' => &[&[(0., 0.), (2., 3.), (4., 0.)], &[(2., 3.), (2., 6.)]],
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

/// Draws `answer` as a PNG. CPU-bound (well under a millisecond): run it
/// through the CPU limiter all the same.
pub fn draw_png(answer: &str) -> Vec<u8> {
    render(answer, Style::Captcha)
}

/// How to draw: the real thing, or (for tests) clean upright solid glyphs,
/// which show that what defeats OCR is the drawing, not the font.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Style {
    Captcha,
    #[cfg(test)]
    Plain,
}

type Point = (f32, f32);
type Rgb = [f32; 3];

/// One thing drawn: a round-ended segment from `a` to `b` (a dot when they
/// are the same point).
struct Mark {
    a: Point,
    b: Point,
    half_width: f32,
    color: Rgb,
}

/// Where a glyph goes and how it is bent: grid point -> image point.
struct Placement {
    center: Point,
    scale: (f32, f32),
    sin_cos: (f32, f32),
    shear: f32,
}

impl Placement {
    fn random(center: Point, rng: &mut impl Rng) -> Placement {
        let angle: f32 = rng.random_range(-0.5..0.5);
        Placement {
            center,
            scale: (rng.random_range(3.6..5.6), rng.random_range(4.2..5.8)),
            sin_cos: angle.sin_cos(),
            shear: rng.random_range(-0.35..0.35),
        }
    }

    fn upright(center: Point) -> Placement {
        Placement { center, scale: (5.0, 5.0), sin_cos: (0.0, 1.0), shear: 0.0 }
    }

    fn place(&self, (gx, gy): Point) -> Point {
        let (x, y) = (gx - 2.0, gy - 3.0);
        let (x, y) = ((x + self.shear * y) * self.scale.0, y * self.scale.1);
        let (sin, cos) = self.sin_cos;
        (self.center.0 + x * cos - y * sin, self.center.1 + x * sin + y * cos)
    }
}

/// The segments of `strokes`, placed.
fn segments(strokes: &[Stroke], placement: &Placement) -> Vec<(Point, Point)> {
    strokes.iter().flat_map(|s| s.windows(2).map(|pair| (placement.place(pair[0]), placement.place(pair[1])))).collect()
}

/// Points every `spacing` pixels along `segments`, ends included.
fn dots_along(segments: &[(Point, Point)], spacing: f32) -> Vec<Point> {
    let mut dots = Vec::new();
    for &(a, b) in segments {
        let n = (((b.0 - a.0).hypot(b.1 - a.1)) / spacing).round().max(1.0) as usize;
        dots.extend((0..n).map(|k| {
            let t = k as f32 / n as f32;
            (a.0 + t * (b.0 - a.0), a.1 + t * (b.1 - a.1))
        }));
        dots.push(b);
    }
    dots.dedup_by(|p, q| (p.0 - q.0).hypot(p.1 - q.1) < spacing / 2.0);
    dots
}

/// A piece of a random glyph (one to three segments of one stroke).
fn fragment(rng: &mut impl Rng) -> &'static [(f32, f32)] {
    let strokes = glyph(CAPTCHA_ALPHABET[rng.random_range(0..CAPTCHA_ALPHABET.len())]);
    let stroke = strokes[rng.random_range(0..strokes.len())];
    let first = rng.random_range(0..stroke.len() - 1);
    let last = (first + rng.random_range(1..=3)).min(stroke.len() - 1);
    &stroke[first..=last]
}

/// Cuts segments longer than `step` so that the wave can bend them.
fn split(segments: Vec<(Point, Point)>, step: f32) -> impl Iterator<Item = (Point, Point)> {
    segments.into_iter().flat_map(move |(a, b)| {
        let n = ((b.0 - a.0).hypot(b.1 - a.1) / step).ceil().max(1.0) as usize;
        let at = move |k: usize| {
            let t = k as f32 / n as f32;
            (a.0 + t * (b.0 - a.0), a.1 + t * (b.1 - a.1))
        };
        (0..n).map(move |k| (at(k), at(k + 1)))
    })
}

fn render(answer: &str, style: Style) -> Vec<u8> {
    let mut rng = rand::rng();
    let mut marks = Vec::new();
    let cell = (WIDTH as f32 - 22.0) / CAPTCHA_LEN as f32;
    let center = |i: usize| (11.0 + cell * (i as f32 + 0.5), HEIGHT as f32 / 2.0);
    let background = if style == Style::Captcha {
        [rng.random_range(225.0..250.0), rng.random_range(225.0..250.0), rng.random_range(225.0..250.0)]
    } else {
        [255.0; 3]
    };
    if style != Style::Captcha {
        for (i, c) in answer.bytes().enumerate() {
            let placed = segments(glyph(c), &Placement::upright(center(i)));
            marks.extend(placed.into_iter().map(|(a, b)| Mark { a, b, half_width: 1.5, color: [0.0; 3] }));
        }
        return encode_png(&rasterize(&marks, background));
    }

    let mut dark = || [rng.random_range(10.0..90.0f32), rng.random_range(10.0..90.0), rng.random_range(10.0..90.0)];
    let palette = [dark(), dark(), dark()];
    // A pale background of glyph fragments.
    for _ in 0..14 {
        let at = (rng.random_range(0.0..WIDTH as f32), rng.random_range(0.0..HEIGHT as f32));
        let placement = Placement::random(at, &mut rng);
        let color = background.map(|c| c - rng.random_range(35.0..70.0));
        let placed = segments(&[fragment(&mut rng)], &placement);
        marks.extend(split(placed, 4.0).map(|(a, b)| Mark { a, b, half_width: 0.9, color }));
    }
    // The answer: dotted glyphs close enough to touch, each with its own
    // dot size and spacing.
    for (i, c) in answer.bytes().enumerate() {
        let at = (center(i).0 + rng.random_range(-2.5..2.5), center(i).1 + rng.random_range(-3.0..3.0));
        let placed = segments(glyph(c), &Placement::random(at, &mut rng));
        let (spacing, half_width) = (rng.random_range(2.9..3.5), rng.random_range(1.15..1.45));
        let color = palette[i % palette.len()];
        marks.extend(dots_along(&placed, spacing).into_iter().map(|p| Mark { a: p, b: p, half_width, color }));
    }
    // Two solid curves across the text, on top, in its inks.
    for color in &palette[..2] {
        let (amp, freq, phase, base) = (
            rng.random_range(4.0..12.0f32),
            rng.random_range(0.03..0.09f32),
            rng.random_range(0.0..6.3f32),
            rng.random_range(12.0..36.0f32),
        );
        let half_width = rng.random_range(0.9..1.5);
        let y = |x: f32| base + amp * (freq * x + phase).sin();
        marks.extend((0..WIDTH).step_by(4).map(|x| {
            let (x0, x1) = (x as f32, (x + 4) as f32);
            Mark { a: (x0, y(x0)), b: (x1, y(x1)), half_width, color: *color }
        }));
    }
    // The wave bends the drawing: each mark's ends move (marks are short).
    let (amp, freq, phase) =
        (rng.random_range(1.5..3.0f32), rng.random_range(0.08..0.16f32), rng.random_range(0.0..6.3f32));
    let wave = |(x, y): Point| (x - amp * (y * freq + phase).sin(), y - amp * (x * freq * 0.7).cos());
    for mark in &mut marks {
        (mark.a, mark.b) = (wave(mark.a), wave(mark.b));
    }
    let mut pixels = rasterize(&marks, background);
    for pixel in pixels.chunks_exact_mut(3) {
        if rng.random_bool(0.02) {
            let speckle: f32 = rng.random_range(-90.0..40.0);
            pixel.iter_mut().for_each(|c| *c = (*c as f32 + speckle).clamp(0.0, 255.0) as u8);
        }
    }
    encode_png(&pixels)
}

/// The distance from `p` to the segment `a`-`b`.
fn distance(p: Point, a: Point, b: Point) -> f32 {
    let (dx, dy) = (b.0 - a.0, b.1 - a.1);
    let len2 = dx * dx + dy * dy;
    let t = if len2 == 0.0 { 0.0 } else { (((p.0 - a.0) * dx + (p.1 - a.1) * dy) / len2).clamp(0.0, 1.0) };
    (a.0 + t * dx - p.0).hypot(a.1 + t * dy - p.1)
}

/// Paints `marks` in order, antialiased, each over only the pixels in its
/// own box (every pixel against every mark cost ~5 ms an image).
fn rasterize(marks: &[Mark], background: Rgb) -> Vec<u8> {
    let mut rgb: Vec<Rgb> = vec![background; WIDTH * HEIGHT];
    for m in marks {
        let outer = m.half_width + 0.5;
        let span = |lo: f32, hi: f32, size: usize| {
            ((lo - outer).floor().max(0.0) as usize)..((hi + outer).ceil().clamp(0.0, size as f32) as usize)
        };
        let xs = span(m.a.0.min(m.b.0), m.a.0.max(m.b.0), WIDTH);
        for y in span(m.a.1.min(m.b.1), m.a.1.max(m.b.1), HEIGHT) {
            for x in xs.clone() {
                let coverage = (outer - distance((x as f32, y as f32), m.a, m.b)).clamp(0.0, 1.0);
                if coverage > 0.0 {
                    let pixel = &mut rgb[y * WIDTH + x];
                    for (channel, ink) in pixel.iter_mut().zip(m.color) {
                        *channel = *channel * (1.0 - coverage) + ink * coverage;
                    }
                }
            }
        }
    }
    rgb.iter().flat_map(|p| p.map(|c| c.clamp(0.0, 255.0) as u8)).collect()
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
        let png = draw_png("AC3D");
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
        assert_ne!(draw_png("AC3D"), draw_png("AC3D"));
    }
}
