import { APIRequestContext, Page, expect, request as playwrightRequest } from "@playwright/test";

/** A fresh mainland mobile number for each test. */
export function freshMobile(): string {
  const tail = Math.floor(Math.random() * 1e8).toString().padStart(8, "0");
  return `139${tail}`;
}

type OutboxEntry = { kind: string; to: string; text: string; code: string; created_at: string };

/** A request context of its own for the outbox: the server answers it only
 * to direct requests, and a test's page may send `X-Forwarded-For` (its own
 * address, `useOwnAddress`) on every request. */
let outboxRequests: APIRequestContext | undefined;

/** The newest code of `kind` sent to `to`, read from the dev outbox. */
export async function outboxCode(kind: string, to: string): Promise<string> {
  outboxRequests ??= await playwrightRequest.newContext({ baseURL: process.env.BASE_URL ?? "http://127.0.0.1:3000" });
  const request = outboxRequests;
  let code = "";
  await expect
    .poll(async () => {
      const entries: OutboxEntry[] = await (await request.get("/api/v1/dev/outbox")).json();
      code = entries.find((e) => e.kind === kind && e.to === to)?.code ?? "";
      return code;
    })
    .not.toBe("");
  return code;
}

/** Opens a page and waits until the WASM has hydrated it; fails on page errors. */
export async function open(page: Page, path: string) {
  page.on("pageerror", (error) => {
    throw error;
  });
  await page.goto(path);
  await expect(page.locator("body[data-hydrated=true]")).toBeAttached();
}

/** Fills the captcha field `inputId` from the answer the outbox recorded
 * for the image beside it. */
export async function solveCaptcha(page: Page, inputId = "captcha-text") {
  const input = page.locator(`#${inputId}`);
  const image = input.locator("xpath=..").getByRole("img", { name: /图片验证码|Image code/ });
  await expect(image).toBeVisible();
  const id = await image.getAttribute("data-captcha-id");
  expect(id).toBeTruthy();
  const answer = await outboxCode("captcha", id!);
  await input.fill(answer.toLowerCase());
}

/** Types a number, solves the captcha and sends a register code; returns it. */
export async function sendCode(page: Page, mobile: string): Promise<string> {
  await page.getByLabel("手机号").fill(mobile);
  await expect(page.getByText("该手机号可以注册")).toBeVisible();
  await solveCaptcha(page);
  await page.getByRole("button", { name: "获取验证码" }).click();
  return outboxCode("sms", mobile);
}

/** The proof of work for a challenge from `GET /image_codes/{id}/pow`,
 * found as docs/api.md's solver does (empty fields when none is asked). */
export function powFor({ challenge, bits }: { challenge?: string | null; bits: number }) {
  if (!challenge) return { pow_challenge: "", pow_nonce: "" };
  for (let nonce = 0; ; nonce++) {
    const digest = createHash("sha256").update(`${challenge}${nonce}`).digest();
    if (BigInt("0x" + digest.toString("hex")) >> BigInt(256 - bits) === 0n) {
      return { pow_challenge: challenge, pow_nonce: String(nonce) };
    }
  }
}

/** The proof of work for captcha `id`. */
export async function solvePow(request: APIRequestContext, id: string, purpose: string) {
  return powFor(await (await request.get(`/api/v1/image_codes/${id}/pow?purpose=${purpose}`)).json());
}

/** Registers `mobile` through the JSON API (a fixture for "taken" cases). */
export async function registerThroughApi(request: APIRequestContext, mobile: string) {
  const id = crypto.randomUUID();
  expect((await request.get(`/api/v1/image_codes/${id}`)).ok()).toBeTruthy();
  const text = await outboxCode("captcha", id);
  const pow = await solvePow(request, id, "register");
  const sent = await request.post("/api/v1/sms_codes", {
    data: { mobile, purpose: "register", image_code_id: id, text, ...pow },
  });
  expect(sent.status()).toBe(200);
  const code = await outboxCode("sms", mobile);
  const created = await request.post("/api/v1/users", {
    data: { mobile, password: "tangerine-Kite-42", password2: "tangerine-Kite-42", sms_code: code, allow: true },
  });
  expect(created.status()).toBe(201);
}

import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { BrowserContext } from "@playwright/test";
import path from "node:path";

export const PASSWORD = "tangerine-Kite-42";

/** Runs `server user ...` against the database of the server under test. */
export function cli(args: string[]): Record<string, unknown> {
  const binary = process.env.SERVER_BIN ?? path.join(__dirname, "..", "..", "target", "release", "server");
  const out = execFileSync(binary, args, { env: process.env, encoding: "utf8" });
  return JSON.parse(out.trim().split("\n").pop()!);
}

let userCount = 0;

/** Creates a user through the operators' CLI; returns its names. */
/** A person made by the operator's CLI; `accepted: false` leaves them
 * without a recorded acceptance of the texts (asked at sign-in). */
export function createUser(options: { email?: boolean; accepted?: boolean } = {}) {
  userCount += 1;
  const mobile = freshMobile();
  const username = `pw${Date.now().toString(36)}${userCount}`.slice(0, 20);
  const email = `${username}@example.com`;
  const args = ["user", "create", "--mobile", mobile, "--password", PASSWORD, "--username", username];
  if (options.email) args.push("--email", email);
  if (options.accepted ?? true) args.push("--accepted");
  cli(args);
  return { mobile, username, email };
}

/** Gives this browser context a client address of its own (the test server
 * trusts X-Forwarded-For), so that per-IP counters do not leak between tests. */
export async function useOwnAddress(context: BrowserContext) {
  const ip = `10.${Math.floor(Math.random() * 250)}.${Math.floor(Math.random() * 250)}.${Math.floor(Math.random() * 250) + 1}`;
  await context.setExtraHTTPHeaders({ "x-forwarded-for": ip });
}

/** Signs in through the password tab. */
export async function signIn(page: Page, account: string, password: string, options: { remember?: boolean } = {}) {
  await page.getByLabel("账号").fill(account);
  await page.getByLabel("密码", { exact: true }).fill(password);
  if (options.remember) await page.locator("#password-login").getByLabel("记住我").check();
  await page.getByRole("button", { name: "登录", exact: true }).click();
}

/** A server function's answer as the pages read it (postcard, `app::wire`):
 * struct fields in order, unsigned integers as LEB128, `true`/`Some` as 1,
 * `false`/`None` as 0, a string as its UTF-8 length then its bytes. */
export function postcard(...fields: (number | boolean | string)[]): Buffer {
  const bytes: number[] = [];
  const varint = (n: number) => {
    for (; n >= 0x80; n = Math.floor(n / 0x80)) bytes.push((n % 0x80) | 0x80);
    bytes.push(n);
  };
  for (const field of fields) {
    if (typeof field === "string") {
      const utf8 = Buffer.from(field, "utf8");
      varint(utf8.length);
      bytes.push(...utf8);
    } else varint(Number(field));
  }
  return Buffer.from(bytes);
}
