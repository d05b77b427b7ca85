//! The captcha's cost and its samples: draws `BENCH_CAPTCHAS` (300) fresh
//! captchas on one core, reports the CPU time per image, and, given a folder
//! (`captchas DIR`), writes them there as `N.png` with `answers.txt` (one
//! `N ANSWER` per line), for an OCR adversary to read (bench/ocr/solve_rate.py).

use app::core::captcha::{draw_png, new_answer};
use std::time::Instant;

fn main() {
    let count: usize = std::env::var("BENCH_CAPTCHAS").ok().and_then(|v| v.parse().ok()).unwrap_or(300);
    let dir = std::env::args().nth(1).map(std::path::PathBuf::from);
    let mut samples = Vec::with_capacity(count);
    let started = Instant::now();
    for _ in 0..count {
        let answer = new_answer();
        let png = draw_png(&answer);
        samples.push((answer, png));
    }
    let per_image = started.elapsed().as_secs_f64() * 1000.0 / count as f64;
    let bytes = samples.iter().map(|(_, png)| png.len()).sum::<usize>() / count.max(1);
    println!("captcha drawing: {per_image:.2} ms of CPU per image, {bytes} bytes per PNG ({count} drawn)");
    if let Some(dir) = dir {
        std::fs::create_dir_all(&dir).expect("the samples folder");
        let mut answers = String::new();
        for (n, (answer, png)) in samples.iter().enumerate() {
            std::fs::write(dir.join(format!("{n}.png")), png).expect("a sample");
            answers.push_str(&format!("{n} {answer}\n"));
        }
        std::fs::write(dir.join("answers.txt"), answers).expect("the answers");
    }
}
