"""Schemathesis hooks: the authenticated operations get a live session.

The fuzzer itself signs out, ends every session and, having read the
account's name from `/me`, tries it with wrong passwords; so a fixed token
would be dead after the first minutes. This signs in again (with the
account bench/fuzz/run.sh made) whenever a request was refused with 401,
and every few seconds besides, answering the captcha those failures made
the server ask for from the development outbox, as a person reads it.
"""

import os
import uuid

import requests
import schemathesis

BASE = os.environ.get("FUZZ_BASE_URL", "")


def captcha():
    """A fresh captcha's id and its answer."""
    image_code_id = str(uuid.uuid4())
    requests.get(f"{BASE}/api/v1/image_codes/{image_code_id}", timeout=10).raise_for_status()
    entries = requests.get(f"{BASE}/api/v1/dev/outbox", timeout=10).json()
    answer = next(e["code"] for e in entries if e["kind"] == "captcha" and e["to"] == image_code_id)
    return image_code_id, answer


@schemathesis.auth(refresh_interval=5, retry_on=[401])
class SignedIn:
    def get(self, case, ctx):
        image_code_id, text = captcha()
        form = {
            "account": os.environ["FUZZ_ACCOUNT"],
            "password": os.environ["FUZZ_PASSWORD"],
            "image_code_id": image_code_id,
            "text": text,
        }
        answer = requests.post(f"{BASE}/api/v1/login", json=form, timeout=10)
        answer.raise_for_status()
        return answer.json()["token"]

    def set(self, case, data, ctx):
        case.headers = case.headers or {}
        case.headers["Authorization"] = f"Bearer {data}"
