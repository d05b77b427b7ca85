"""Schemathesis hooks: the authenticated operations get a live session.

The fuzzer itself signs out, ends every session and, having read the
account's name from `/me`, tries it with wrong passwords; so a fixed token
would be dead after the first minutes. This signs in again (with the
account bench/fuzz/run.sh made) whenever a request was refused with 401,
and every few seconds besides, answering the captcha those failures made
the server ask for from the development outbox, as a person reads it.

The OpenID Connect endpoints are reached as a relying party reaches them:
the token, introspection and revocation endpoints with the confidential
client's credentials (HTTP Basic) that run.sh registered, and userinfo
with an access token got through the authorization code flow (PKCE) for
the signed-in account; so the fuzzer's input gets past client
authentication, to the code that reads it.
"""

import base64
import hashlib
import os
import secrets
import urllib.parse
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


# Operations a client authenticates to with its id and secret.
CLIENT_AUTHENTICATED = {"/oauth2/token", "/oauth2/introspect", "/oauth2/revoke"}
USERINFO = "/oauth2/userinfo"


def access_token(session_token):
    """An access token for the signed-in account: the authorization code
    flow with PKCE, as a relying party runs it (no consent: a first-party
    client)."""
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    redirect_uri = os.environ["FUZZ_REDIRECT_URI"]
    query = {
        "response_type": "code",
        "client_id": os.environ["FUZZ_CLIENT_ID"],
        "redirect_uri": redirect_uri,
        "scope": "openid profile phone",
        "state": secrets.token_urlsafe(8),
        "nonce": secrets.token_urlsafe(8),
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    answer = requests.get(
        f"{BASE}/oauth2/authorize",
        params=query,
        headers={"Authorization": f"Bearer {session_token}"},
        allow_redirects=False,
        timeout=10,
    )
    location = answer.headers.get("location", "")
    code = urllib.parse.parse_qs(urllib.parse.urlsplit(location).query).get("code", [None])[0]
    if answer.status_code != 303 or not location.startswith(redirect_uri) or code is None:
        raise RuntimeError(f"authorize answered {answer.status_code} {location}")
    tokens = requests.post(
        f"{BASE}/oauth2/token",
        data={"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri, "code_verifier": verifier},
        auth=(os.environ["FUZZ_CLIENT_ID"], os.environ["FUZZ_CLIENT_SECRET"]),
        timeout=10,
    )
    tokens.raise_for_status()
    return tokens.json()["access_token"]


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
        session = answer.json()["token"]
        return {"session": session, "access": access_token(session)}

    def set(self, case, data, ctx):
        case.headers = case.headers or {}
        path = case.operation.path
        if path in CLIENT_AUTHENTICATED:
            pair = f"{os.environ['FUZZ_CLIENT_ID']}:{os.environ['FUZZ_CLIENT_SECRET']}"
            case.headers["Authorization"] = "Basic " + base64.b64encode(pair.encode()).decode()
        elif path == USERINFO:
            case.headers["Authorization"] = f"Bearer {data['access']}"
        else:
            case.headers["Authorization"] = f"Bearer {data['session']}"
