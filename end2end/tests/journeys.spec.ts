import AxeBuilder from "@axe-core/playwright";
import { Page, TestInfo, expect, test } from "@playwright/test";
import { PASSWORD, createUser, freshMobile, open, outboxCode, solveCaptcha, useOwnAddress } from "./helpers";

// The journeys a person makes, in each language (a browser that reads it:
// `Accept-Language`), on a phone-sized screen: sign-up, the user centre,
// sign-in, recovery. Each page is checked by axe and kept as a screenshot,
// `<page>-<language>-390x844.png`.

const NEW_PASSWORD = "Lantern-Moth-77";

/** What each language's pages say, where the journeys look. */
const SAID = {
  "zh-CN": {
    browser: "zh-CN",
    mobile: "手机号",
    mobileFree: "该手机号可以注册",
    getCode: "获取验证码",
    resendIn: /^\d+秒后重新发送$/,
    smsCode: "短信验证码",
    password: "密码",
    password2: "确认密码",
    tooShort: /密码长度应为\d+-\d+个字符/,
    nickname: "昵称（选填）",
    agree: /我已阅读并同意/,
    signUp: "注册",
    welcome: (name: string) => `欢迎，${name}`,
    userCentre: "用户中心",
    nicknameField: "昵称",
    save: "保存",
    saved: "昵称已保存",
    signedInColumn: "登录时间",
    signOut: "退出",
    account: "账号",
    signIn: "登录",
    wrong: "账号或密码错误",
    forgot: "忘记密码？",
    bySms: "通过手机号",
    newPassword: "新密码",
    newPassword2: "确认新密码",
    reset: "重置密码",
    resetDone: /密码已重置/,
  },
  en: {
    browser: "en-US",
    mobile: "Mobile number",
    mobileFree: "This number can sign up.",
    getCode: "Get code",
    resendIn: /^Resend in \d+ seconds$/,
    smsCode: "SMS code",
    password: "Password",
    password2: "Confirm password",
    tooShort: /A password has \d+ to \d+ characters\./,
    nickname: "Nickname (optional)",
    agree: /I have read and agree to the/,
    signUp: "Sign up",
    welcome: (name: string) => `Welcome, ${name}`,
    userCentre: "Your account",
    nicknameField: "Nickname",
    save: "Save",
    saved: "Nickname saved.",
    signedInColumn: "Signed in",
    signOut: "Sign out",
    account: "Account",
    signIn: "Sign in",
    wrong: "Wrong account or password.",
    forgot: "Forgot your password?",
    bySms: "By mobile",
    newPassword: "New password",
    newPassword2: "Confirm the new password",
    reset: "Reset password",
    resetDone: /Your password was reset/,
  },
};

for (const [lang, said] of Object.entries(SAID)) {
  test.describe(lang, () => {
    test.use({ locale: said.browser });

    async function checked(page: Page, testInfo: TestInfo, name: string) {
      await expect(page.locator("html")).toHaveAttribute("lang", lang);
      const axe = await new AxeBuilder({ page }).analyze();
      expect(axe.violations.map((v) => `${v.id}: ${v.help}`)).toEqual([]);
      await page.screenshot({ path: testInfo.outputPath(`${name}-${lang}-390x844.png`), fullPage: true });
    }

    test("signs up, reaches the user centre, changes the nickname, signs out and in again", async ({
      page,
      context,
    }, testInfo) => {
      await useOwnAddress(context);
      const mobile = freshMobile();
      await open(page, "/register");
      await page.getByLabel(said.mobile).fill(mobile);
      await expect(page.getByText(said.mobileFree)).toBeVisible();
      await solveCaptcha(page);
      await page.getByRole("button", { name: said.getCode }).click();
      await expect(page.getByRole("button", { name: said.resendIn })).toBeDisabled();
      await page.getByLabel(said.smsCode).fill(await outboxCode("sms", mobile));
      // A rule broken in the browser is said in the page's language too.
      await page.getByLabel(said.password, { exact: true }).fill("short");
      await page.getByRole("button", { name: said.signUp, exact: true }).click();
      await expect(page.getByText(said.tooShort)).toBeVisible();
      await page.getByLabel(said.password, { exact: true }).fill(PASSWORD);
      await page.getByLabel(said.password2).fill(PASSWORD);
      await page.getByLabel(said.nickname).fill("Wren");
      await page.getByLabel(said.agree).check();
      await checked(page, testInfo, "register");
      await page.getByRole("button", { name: said.signUp, exact: true }).click();
      await expect(page).toHaveURL(/\/$/);
      await expect(page.getByRole("heading", { name: said.welcome("Wren") })).toBeVisible();

      await open(page, "/user");
      await expect(page.getByRole("heading", { name: said.userCentre, exact: true })).toBeVisible();
      await page.getByLabel(said.nicknameField, { exact: true }).fill("Wren the Second");
      await page.getByRole("button", { name: said.save, exact: true }).click();
      await expect(page.getByText(said.saved)).toBeVisible();
      await expect(page.getByRole("columnheader", { name: said.signedInColumn, exact: true })).toBeVisible();
      await checked(page, testInfo, "user-centre");

      await page.getByRole("banner").getByRole("button", { name: said.signOut }).click();
      await open(page, "/login");
      const form = page.locator("#password-login");
      await form.getByLabel(said.account).fill(mobile);
      await form.getByLabel(said.password, { exact: true }).fill("Wrong-Password-1");
      await page.getByRole("button", { name: said.signIn, exact: true }).click();
      await expect(page.getByText(said.wrong)).toBeVisible();
      await checked(page, testInfo, "sign-in");
      await form.getByLabel(said.password, { exact: true }).fill(PASSWORD);
      await page.getByRole("button", { name: said.signIn, exact: true }).click();
      await expect(page.getByTestId("signed-in-user")).toHaveText("Wren the Second");
    });

    test("recovers a forgotten password by SMS", async ({ page, context }, testInfo) => {
      await useOwnAddress(context);
      const user = createUser();
      await open(page, "/login");
      await page.getByRole("link", { name: said.forgot }).click();
      await page.getByRole("tab", { name: said.bySms }).click();
      await page.getByLabel(said.mobile).fill(user.mobile);
      await solveCaptcha(page);
      await page.getByRole("button", { name: said.getCode }).click();
      await page.getByLabel(said.smsCode).fill(await outboxCode("sms", user.mobile));
      await page.getByLabel(said.newPassword, { exact: true }).fill(NEW_PASSWORD);
      await page.getByLabel(said.newPassword2).fill(NEW_PASSWORD);
      await checked(page, testInfo, "forgot");
      await page.getByRole("button", { name: said.reset }).click();
      await expect(page).toHaveURL(/\/login\?reset=1/);
      await expect(page.getByTestId("reset-done")).toHaveText(said.resetDone);
    });
  });
}
