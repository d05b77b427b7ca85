"""The attacker's measure of our captcha: the share of answers that a
pretrained captcha-solving OCR model from PyPI (ddddocr, both of its
models) reads whole, case-insensitively.

    python solve_rate.py DIR    # DIR holds N.png and answers.txt ("N ANSWER")

Prints one JSON line: the rate of each model and of either.
"""
import json, sys, pathlib
import ddddocr
d = pathlib.Path(sys.argv[1])
answers = dict(l.split() for l in (d / "answers.txt").read_text().splitlines())
models = {"common": ddddocr.DdddOcr(show_ad=False, beta=True), "common_old": ddddocr.DdddOcr(show_ad=False)}
solved = {m: 0 for m in models}; either = 0
for n, a in answers.items():
    png = (d / f"{n}.png").read_bytes(); hit = False
    for name, m in models.items():
        if m.classification(png).strip().lower() == a.lower():
            solved[name] += 1; hit = True
    either += hit
N = len(answers)
print(json.dumps({"captchas": N, **{k: round(v / N, 3) for k, v in solved.items()}, "either": round(either / N, 3)}))
