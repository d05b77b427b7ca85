"""The attacker's measure of our captcha: the share of answers that OCR
adversaries read whole, judged as the server judges an answer (any case;
Z, S and B read as 2, 5 and 8). The adversaries: ddddocr (a pretrained
captcha-solving model from PyPI, both of its models; "either" counts an
answer that one of them reads) and, weaker, tesseract when installed.

    python solve_rate.py DIR            # DIR holds N.png and answers.txt ("N ANSWER")
    python solve_rate.py URL [--count 300] [--max 0.05]

With a URL (a server in development mode), the captchas come through the
public API (GET /api/v1/image_codes/{uuid}) and their answers from the dev
outbox, as many as --count. Prints one JSON line; with --max, exits 1 when
"either" reaches it.
"""
import argparse, json, os, pathlib, shutil, subprocess, sys, urllib.request, uuid

ALPHABET = "ACDEFGHJKMNPQRTUVWXY23456789"
LOOK_ALIKES = str.maketrans("ZSB", "258")


def as_the_server_reads(text):
    return text.strip().upper().translate(LOOK_ALIKES)


def from_dir(d):
    d = pathlib.Path(d)
    answers = dict(line.split() for line in (d / "answers.txt").read_text().splitlines())
    return [((d / f"{n}.png").read_bytes(), a) for n, a in answers.items()]


def from_server(base, count):
    get = lambda path: urllib.request.urlopen(base.rstrip("/") + path, timeout=30).read()
    samples = []
    # The outbox lists the newest 200 entries: read it after each 100.
    while len(samples) < count:
        batch = {}
        for _ in range(min(100, count - len(samples))):
            id = str(uuid.uuid4())
            batch[id] = get(f"/api/v1/image_codes/{id}")
        answers = {e["to"]: e["code"] for e in json.loads(get("/api/v1/dev/outbox")) if e["kind"] == "captcha"}
        samples += [(png, answers[id]) for id, png in batch.items()]
    return samples


TESSERACT_CRASHES = 0


def tesseract(png):
    """What tesseract reads; nothing when it crashes on an image (Debian's
    build died with SIGFPE on one captcha in a CI run: an adversary that
    crashes reads nothing, and the run is not the worse for it)."""
    global TESSERACT_CRASHES
    out = subprocess.run(
        ["tesseract", "stdin", "stdout", "--psm", "7", "-c", f"tessedit_char_whitelist={ALPHABET}"],
        input=png, capture_output=True, env={**os.environ, "OMP_THREAD_LIMIT": "1"},
    )
    if out.returncode != 0:
        TESSERACT_CRASHES += 1
        return ""
    return out.stdout.decode(errors="replace").replace(" ", "")


def main():
    args = argparse.ArgumentParser()
    args.add_argument("source")
    args.add_argument("--count", type=int, default=300)
    args.add_argument("--max", type=float)
    args = args.parse_args()
    try:
        samples = from_server(args.source, args.count) if "://" in args.source else from_dir(args.source)
    except urllib.error.HTTPError as e:
        sys.exit(f"the server answered {e.code} to {e.url} (a 429: raise CAPTCHAS_PER_MINUTE; a 404: not development)")

    import ddddocr
    ddddocr_models = {
        "ddddocr_beta": ddddocr.DdddOcr(show_ad=False, beta=True).classification,
        "ddddocr": ddddocr.DdddOcr(show_ad=False).classification,
    }
    solved = {name: 0 for name in ddddocr_models}
    either = 0
    for png, answer in samples:
        hits = [name for name, read in ddddocr_models.items() if as_the_server_reads(read(png)) == answer]
        for name in hits:
            solved[name] += 1
        either += bool(hits)
    if shutil.which("tesseract"):
        solved["tesseract"] = sum(as_the_server_reads(tesseract(png)) == answer for png, answer in samples)
    n = len(samples)
    report = {"captchas": n, **{k: round(v / n, 3) for k, v in solved.items()}, "either": round(either / n, 3)}
    if TESSERACT_CRASHES:
        report["tesseract_crashes"] = TESSERACT_CRASHES
    print(json.dumps(report))
    if args.max is not None and either / n >= args.max:
        print(f"the OCR adversary read {either} of {n} captchas: {either / n:.1%}, the limit is {args.max:.0%}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
