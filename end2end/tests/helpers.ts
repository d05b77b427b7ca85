import { APIRequestContext, Page, expect } from "@playwright/test";

/** A fresh mainland mobile number for each test. */
export function freshMobile(): string {
  const tail = Math.floor(Math.random() * 1e8).toString().padStart(8, "0");
  return `139${tail}`;
}

type OutboxEntry = { kind: string; to: string; text: string; code: string; created_at: string };

/** The newest code of `kind` sent to `to`, read from the dev outbox. */
export async function outboxCode(request: APIRequestContext, kind: string, to: string): Promise<string> {
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

/** Fills the captcha from the answer the outbox recorded for the image shown. */
export async function solveCaptcha(page: Page) {
  const image = page.getByRole("img", { name: "图片验证码" });
  await expect(image).toBeVisible();
  const id = await image.getAttribute("data-captcha-id");
  expect(id).toBeTruthy();
  const answer = await outboxCode(page.request, "captcha", id!);
  await page.getByLabel("图片验证码", { exact: true }).fill(answer.toLowerCase());
}

/** Types a number, solves the captcha and sends a register code; returns it. */
export async function sendCode(page: Page, mobile: string): Promise<string> {
  await page.getByLabel("手机号").fill(mobile);
  await expect(page.getByText("该手机号可以注册")).toBeVisible();
  await solveCaptcha(page);
  await page.getByRole("button", { name: "获取验证码" }).click();
  return outboxCode(page.request, "sms", mobile);
}

/** Registers `mobile` through the JSON API (a fixture for "taken" cases). */
export async function registerThroughApi(request: APIRequestContext, mobile: string) {
  const id = crypto.randomUUID();
  expect((await request.get(`/api/v1/image_codes/${id}`)).ok()).toBeTruthy();
  const text = await outboxCode(request, "captcha", id);
  const sent = await request.post("/api/v1/sms_codes", { data: { mobile, purpose: "register", image_code_id: id, text } });
  expect(sent.status()).toBe(200);
  const code = await outboxCode(request, "sms", mobile);
  const created = await request.post("/api/v1/users", {
    data: { mobile, password: "tangerine-Kite-42", password2: "tangerine-Kite-42", sms_code: code, allow: true },
  });
  expect(created.status()).toBe(201);
}
