import AxeBuilder from "@axe-core/playwright";
import { Page, TestInfo, expect, test } from "@playwright/test";
import { PASSWORD, createUser, freshMobile, open, outboxCode, solveCaptcha, useOwnAddress } from "./helpers";

// The journeys a person makes, in English (a browser whose language is
// English: `Accept-Language`), on a phone-sized screen, each page checked by
// axe and kept as a screenshot beside the Chinese ones.

test.use({ locale: "en-US" });

const NEW_PASSWORD = "Lantern-Moth-77";

async function checked(page: Page, testInfo: TestInfo, name: string) {
  await expect(page.locator("html")).toHaveAttribute("lang", "en");
  const axe = await new AxeBuilder({ page }).analyze();
  expect(axe.violations.map((v) => `${v.id}: ${v.help}`)).toEqual([]);
  await page.screenshot({ path: testInfo.outputPath(`${name}-en-390x844.png`), fullPage: true });
}

test("signs up, reaches the user centre, changes the nickname, signs out and in again", async ({ page, context }, testInfo) => {
  await useOwnAddress(context);
  const mobile = freshMobile();
  await open(page, "/register");
  await page.getByLabel("Mobile number").fill(mobile);
  await expect(page.getByText("This number can sign up.")).toBeVisible();
  await solveCaptcha(page);
  await page.getByRole("button", { name: "Get code" }).click();
  await expect(page.getByRole("button", { name: /^Resend in \d+ seconds$/ })).toBeDisabled();
  const code = await outboxCode("sms", mobile);
  await page.getByLabel("SMS code").fill(code);
  // A rule broken in the browser is said in English too.
  await page.getByLabel("Password", { exact: true }).fill("short");
  await page.getByRole("button", { name: "Sign up", exact: true }).click();
  await expect(page.getByText(/A password has \d+ to \d+ characters\./)).toBeVisible();
  await page.getByLabel("Password", { exact: true }).fill(PASSWORD);
  await page.getByLabel("Confirm password").fill(PASSWORD);
  await page.getByLabel("Nickname (optional)").fill("Wren");
  await page.getByLabel(/I have read and agree to the/).check();
  await checked(page, testInfo, "register");
  await page.getByRole("button", { name: "Sign up", exact: true }).click();
  await expect(page).toHaveURL(/\/$/);
  await expect(page.getByRole("heading", { name: "Welcome, Wren" })).toBeVisible();

  await open(page, "/user");
  await expect(page.getByRole("heading", { name: "Your account", exact: true })).toBeVisible();
  await page.getByLabel("Nickname", { exact: true }).fill("Wren the Second");
  await page.getByRole("button", { name: "Save", exact: true }).click();
  await expect(page.getByText("Nickname saved.")).toBeVisible();
  await expect(page.getByRole("columnheader", { name: "Signed in", exact: true })).toBeVisible();
  await checked(page, testInfo, "user-centre");

  await page.getByRole("banner").getByRole("button", { name: "Sign out" }).click();
  await open(page, "/login");
  const form = page.locator("#password-login");
  await form.getByLabel("Account").fill(mobile);
  await form.getByLabel("Password", { exact: true }).fill("Wrong-Password-1");
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
  await expect(page.getByText("Wrong account or password.")).toBeVisible();
  await checked(page, testInfo, "sign-in");
  await form.getByLabel("Password", { exact: true }).fill(PASSWORD);
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
  await expect(page.getByTestId("signed-in-user")).toHaveText("Wren the Second");
});

test("recovers a forgotten password by SMS", async ({ page, context }, testInfo) => {
  await useOwnAddress(context);
  const user = createUser();
  await open(page, "/login");
  await page.getByRole("link", { name: "Forgot your password?" }).click();
  await page.getByRole("tab", { name: "By mobile" }).click();
  await page.getByLabel("Mobile number").fill(user.mobile);
  await solveCaptcha(page);
  await page.getByRole("button", { name: "Get code" }).click();
  await page.getByLabel("SMS code").fill(await outboxCode("sms", user.mobile));
  await page.getByLabel("New password", { exact: true }).fill(NEW_PASSWORD);
  await page.getByLabel("Confirm the new password").fill(NEW_PASSWORD);
  await checked(page, testInfo, "forgot");
  await page.getByRole("button", { name: "Reset password" }).click();
  await expect(page).toHaveURL(/\/login\?reset=1/);
  await expect(page.getByTestId("reset-done")).toHaveText(/Your password was reset/);
});
