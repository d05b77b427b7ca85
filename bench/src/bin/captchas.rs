//! The captcha's cost and its samples: draws `BENCH_CAPTCHAS` (300) fresh
//! captchas on one core, reports the CPU time per image, what its proof of
//! work costs a native solver (a farm's machine) and the server's check,
//! and, given a folder
//! (`captchas DIR`), writes them there as `N.png` with `answers.txt` (one
//! `N ANSWER` per line), for an OCR adversary to read (bench/ocr/solve_rate.py).

use app::{
    core::captcha::{draw_png, new_answer},
    rules::{proves, search_proof},
};
use std::time::Instant;

/// Mean time for one core to solve challenges shaped like ours (about 120
/// ASCII bytes) at `bits`, over `count` of them.
fn native_solve_ms(bits: u32, count: u32) -> f64 {
    let started = Instant::now();
    for _ in 0..count {
        let challenge = format!("1.{}.register.{bits}.1764470000.{}", uuid::Uuid::new_v4().simple(), "a".repeat(64));
        search_proof(&challenge, bits, 0, u64::MAX).expect("a nonce");
    }
    started.elapsed().as_secs_f64() * 1000.0 / count as f64
}

fn proof_of_work_figures() {
    for (bits, count) in [(16, 80), (18, 40), (20, 20), (22, 8)] {
        println!(
            "proof of work, {bits} bits: {:.0} ms per solve on one native core (mean of {count})",
            native_solve_ms(bits, count)
        );
    }
    let challenge = format!("1.{}.register.18.1764470000.{}", uuid::Uuid::new_v4().simple(), "a".repeat(64));
    let checks = 100_000;
    let started = Instant::now();
    let held = (0..checks).filter(|n| proves(&challenge, *n, 18)).count();
    let per_check = started.elapsed().as_secs_f64() * 1e6 / checks as f64;
    println!("proof of work check: {per_check:.2} µs per check on the server ({held} of {checks} random nonces held)");
}

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
    proof_of_work_figures();
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
