import AxeBuilder from "@axe-core/playwright";
import { expect, test } from "@playwright/test";
import { PASSWORD, createUser, freshMobile, open, signIn, useOwnAddress } from "./helpers";

async function noViolations(page: import("@playwright/test").Page) {
  const results = await new AxeBuilder({ page }).analyze();
  expect(results.violations.map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target).join(", ")})`)).toEqual([]);
}

test("the register page has no accessibility violations", async ({ page }) => {
  await open(page, "/register");
  await noViolations(page);
});

test("the privacy policy and the terms have no accessibility violations, and each links the other", async ({ page }) => {
  for (const path of ["/privacy", "/terms"]) {
    await open(page, path);
    await expect(page.getByTestId("legal-version")).toHaveText(/^版本：/);
    await expect(page.locator("footer").getByRole("link", { name: "隐私政策" })).toBeVisible();
    await expect(page.locator("footer").getByRole("link", { name: "用户协议" })).toBeVisible();
    await noViolations(page);
  }
});

test("the sign-in page has no accessibility violations, on either tab", async ({ page }) => {
  await open(page, "/login");
  await noViolations(page);
  await page.getByRole("tab", { name: "短信登录" }).click();
  await expect(page.locator("#sms-login")).toBeVisible();
  await noViolations(page);
});

test("the recovery page has no accessibility violations, on either tab", async ({ page }) => {
  await open(page, "/forgot");
  await noViolations(page);
  await page.getByRole("tab", { name: "通过手机号" }).click();
  await expect(page.locator("#forgot-sms")).toBeVisible();
  await noViolations(page);
});

test("the reset page has no accessibility violations when the link does not work", async ({ page }) => {
  await open(page, "/reset?token=nonsense");
  await expect(page.getByTestId("link-refused")).toBeVisible();
  await noViolations(page);
});

test("the user centre has no accessibility violations", async ({ page, context }) => {
  await useOwnAddress(context);
  const user = createUser();
  await open(page, "/login");
  await signIn(page, user.username, PASSWORD);
  await expect(page.getByTestId("signed-in-user")).toHaveText(user.username);
  await open(page, "/user");
  await expect(page.getByRole("heading").first()).toBeVisible();
  await noViolations(page);
});

test("the keyboard reaches every field and button of the form", async ({ page }) => {
  await open(page, "/register");
  // A valid, free number enables the send button, so that it can take focus.
  await page.getByLabel("手机号").fill(freshMobile());
  await expect(page.getByRole("button", { name: "获取验证码" })).toBeEnabled();
  await page.getByLabel("手机号").focus();
  const reached: string[] = [];
  for (let i = 0; i < 16; i++) {
    await page.keyboard.press("Tab");
    reached.push(
      await page.evaluate(() => {
        const el = document.activeElement as HTMLElement | null;
        return el?.id || el?.getAttribute("aria-label") || el?.textContent?.trim() || "";
      }),
    );
  }
  for (const stop of ["captcha-text", "图片验证码，点击换一张", "sms-code", "获取验证码", "password", "password2", "username", "nickname", "allow", "注册"]) {
    expect(reached).toContain(stop);
  }
});

test("errors are announced beside their fields", async ({ page }) => {
  await open(page, "/register");
  await page.getByRole("button", { name: "注册", exact: true }).click();
  const message = page.locator("#mobile-message");
  await expect(message).toHaveText("请输入手机号");
  await expect(message).toHaveAttribute("aria-live", "polite");
  await expect(page.getByLabel("手机号")).toHaveAttribute("aria-describedby", "mobile-message");
  await expect(page.getByLabel("手机号")).toHaveAttribute("aria-invalid", "true");
});
