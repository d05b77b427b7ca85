import AxeBuilder from "@axe-core/playwright";
import { execFileSync } from "node:child_process";
import { Page, expect, test } from "@playwright/test";
import { PASSWORD, createUser, open, outboxCode, signIn, solveCaptcha, useOwnAddress } from "./helpers";

// The server under test sends e-mail through SMTP to maildev (scripts/test.sh):
// links are read from the mail it received, as a person would.
const NEW_PASSWORD = "Lantern-Moth-77";
const MAILDEV = process.env.MAILDEV_URL;

test.beforeEach(async ({ context }) => {
  test.skip(!MAILDEV, "needs MAILDEV_URL (scripts/test.sh starts maildev)");
  await useOwnAddress(context);
});

type Mail = { to: { address: string }[]; subject: string; text: string; date: string };

/** The link to `path` in the newest mail to `to` whose subject holds `subject`. */
async function mailedLink(to: string, subject: string, path: string): Promise<string> {
  let link = "";
  await expect
    .poll(async () => {
      const all: Mail[] = await (await fetch(`${MAILDEV}/api/email`)).json();
      const mine = all.filter((m) => m.to[0]?.address === to && m.subject.includes(subject));
      const newest = mine.sort((a, b) => Date.parse(b.date) - Date.parse(a.date))[0];
      const found = newest?.text.match(/https?:\/\/\S+/g)?.find((l) => new URL(l).pathname === path);
      link = found ? new URL(found).pathname + new URL(found).search : "";
      return link;
    })
    .not.toBe("");
  return link;
}

function freshEmail(): string {
  return `p${Date.now().toString(36)}${Math.floor(Math.random() * 1e6)}@example.com`;
}

/** Runs SQL on the test server's SQLite file (to age a link). */
function sql(statement: string) {
  const file = (process.env.DATABASE_URL ?? "").replace(/^sqlite:\/\//, "");
  execFileSync("python3", ["-c", "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute(sys.argv[2]); c.commit()", file, statement]);
}

async function askForLink(page: Page, email: string) {
  await open(page, "/forgot");
  await page.getByLabel("邮箱").fill(email);
  await solveCaptcha(page, "forgot-email-captcha");
  await page.getByRole("button", { name: "发送重置链接" }).click();
  await expect(page.getByTestId("forgot-sent")).toHaveText(/如果该邮箱已绑定账号，我们已发送重置链接/);
}

async function setNewPassword(page: Page) {
  await page.getByLabel("新密码", { exact: true }).fill(NEW_PASSWORD);
  await page.getByLabel("确认新密码").fill(NEW_PASSWORD);
  await page.getByRole("button", { name: "重置密码" }).click();
  // After a reset by SMS of an account with an e-mail, a signed offer follows.
  await expect(page).toHaveURL(/\/login\?reset=1(&offer=[0-9a-f.]+)?$/);
  await expect(page.getByTestId("reset-done")).toBeVisible();
}

test("binds an e-mail from the user centre, verifies it by the mailed link, then signs in with it", async ({ page, browser }) => {
  const user = createUser();
  const email = freshEmail();
  await open(page, "/login");
  await signIn(page, user.username, PASSWORD);
  await expect(page.getByTestId("signed-in-user")).toHaveText(user.username);
  await open(page, "/user");
  await page.locator("#bind-email").fill(email);
  await page.locator("#bind-email-password").fill(PASSWORD);
  // The phone says yes too: a code sent to the account's own mobile.
  await solveCaptcha(page);
  await page.getByRole("button", { name: "获取验证码" }).click();
  await page.getByLabel("短信验证码").fill(await outboxCode("sms", user.mobile));
  await page.getByRole("button", { name: "发送验证邮件" }).click();
  await expect(page.getByTestId("email-pending")).toContainText(email);

  // The link opens in another browser, not signed in.
  const other = await browser.newContext();
  await useOwnAddress(other);
  const elsewhere = await other.newPage();
  await open(elsewhere, await mailedLink(email, "验证你的邮箱", "/email/verify"));
  // Opening the link asks first (mail scanners open links too).
  await expect(elsewhere.getByText(email)).toBeVisible();
  await elsewhere.getByRole("button", { name: "确认验证" }).click();
  await expect(elsewhere).toHaveURL(/\/email\/verify\?verified=1$/);
  await expect(elsewhere.getByTestId("email-verified")).toContainText("邮箱已验证");
  await open(elsewhere, "/login");
  await signIn(elsewhere, email.toUpperCase(), PASSWORD);
  await expect(elsewhere.getByTestId("signed-in-user")).toHaveText(user.username);
  await other.close();

  await open(page, "/user");
  await expect(page.getByTestId("email-verified")).toHaveText(`已验证：${email}`);
});

test("recovers by e-mail end to end, and a session in another browser is signed out", async ({ page, browser }) => {
  const user = createUser({ email: true });
  const other = await browser.newContext();
  await useOwnAddress(other);
  const elsewhere = await other.newPage();
  await open(elsewhere, "/login");
  await signIn(elsewhere, user.username, PASSWORD);
  await expect(elsewhere.getByTestId("signed-in-user")).toHaveText(user.username);

  await open(page, "/login");
  await page.getByRole("link", { name: "忘记密码？" }).click();
  await expect(page).toHaveURL(/\/forgot$/);
  await askForLink(page, user.email);
  const link = await mailedLink(user.email, "重置密码", "/reset");
  await open(page, link);
  const axe = await new AxeBuilder({ page }).analyze();
  expect(axe.violations.map((v) => `${v.id}: ${v.help}`)).toEqual([]);
  await setNewPassword(page);
  await signIn(page, user.username, NEW_PASSWORD);
  await expect(page.getByTestId("signed-in-user")).toHaveText(user.username);

  await open(elsewhere, "/user");
  await expect(elsewhere).toHaveURL(/\/login\?next=/);
  await other.close();

  // The link worked once.
  await open(page, link);
  await expect(page.getByTestId("link-refused")).toHaveText("该重置链接已使用或已失效，请重新获取");
  await expect(page.getByRole("link", { name: "重新获取重置链接" })).toBeVisible();
});

test("recovers by SMS code end to end", async ({ page }) => {
  const user = createUser();
  await open(page, "/forgot");
  await page.getByRole("tab", { name: "通过手机号" }).click();
  await page.getByLabel("手机号").fill(user.mobile);
  await solveCaptcha(page);
  await page.getByRole("button", { name: "获取验证码" }).click();
  await expect(page.getByRole("button", { name: /秒后重新发送/ })).toBeDisabled();
  await page.getByLabel("短信验证码").fill(await outboxCode("sms", user.mobile));
  await setNewPassword(page);
  await signIn(page, user.mobile, NEW_PASSWORD);
  await expect(page.getByTestId("signed-in-user")).toHaveText(user.username);
});

test("after a reset by SMS, an address someone else bound is shown and removed", async ({ page }) => {
  const user = createUser({ email: true });
  await open(page, "/forgot");
  await page.getByRole("tab", { name: "通过手机号" }).click();
  await page.getByLabel("手机号").fill(user.mobile);
  await solveCaptcha(page);
  await page.getByRole("button", { name: "获取验证码" }).click();
  await page.getByLabel("短信验证码").fill(await outboxCode("sms", user.mobile));
  await setNewPassword(page);
  const offer = page.getByTestId("email-removal-offer");
  await expect(offer).toContainText(`${user.email[0]}***@example.com`);
  await offer.getByRole("button", { name: "解除此邮箱" }).click();
  await expect(page.getByTestId("email-removed")).toBeVisible();
  await expect(page.getByTestId("email-removal-offer")).toHaveCount(0);
  // The address no longer signs in; the number does.
  await signIn(page, user.email, NEW_PASSWORD);
  await expect(page.getByText("账号或密码错误")).toBeVisible();
});

test("an expired link and a mangled one say so, with a way to ask again", async ({ page }) => {
  const user = createUser({ email: true });
  await askForLink(page, user.email);
  const link = await mailedLink(user.email, "重置密码", "/reset");
  await open(page, link.slice(0, -6));
  await expect(page.getByTestId("link-refused")).toContainText("链接无效");
  sql("UPDATE password_resets SET expires_at = 1");
  await open(page, link);
  await expect(page.getByTestId("link-refused")).toHaveText("该重置链接已过期，请重新获取");
  await page.getByRole("link", { name: "重新获取重置链接" }).click();
  await expect(page).toHaveURL(/\/forgot$/);
});
