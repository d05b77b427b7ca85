import AxeBuilder from "@axe-core/playwright";
import { type Page, expect, test } from "@playwright/test";
import { PASSWORD, createUser, open, signIn, useOwnAddress } from "./helpers";

async function noAxeViolations(page: Page) {
  const axe = await new AxeBuilder({ page }).analyze();
  expect(axe.violations.map((v) => `${v.id}: ${v.help}`)).toEqual([]);
}

/** `2026-12-13 14:05`: a date as the pages write it. */
const DATE = /\d{4}-\d{2}-\d{2} \d{2}:\d{2}/;

test("a person deletes their account from the user centre, sees the date, signs in again and cancels", async ({
  page,
  context,
}) => {
  await useOwnAddress(context);
  const user = createUser();
  await open(page, "/login?next=/user");
  await signIn(page, user.username, PASSWORD);
  await expect(page.getByTestId("profile-username")).toHaveText(user.username);

  await page.getByTestId("deletion-link").click();
  await expect(page).toHaveURL((url) => url.pathname === "/delete");
  await expect(page.getByRole("heading", { name: "注销账号" })).toBeVisible();
  await expect(page.getByTestId("deletion-when")).toContainText("7天内再次登录可撤销注销");
  await expect(page.locator("body[data-hydrated=true]")).toBeAttached();
  await noAxeViolations(page);

  // A wrong password: said beside the field, and nothing happens.
  await page.getByLabel("当前密码").fill("not-the-Password-1");
  await page.getByRole("button", { name: "注销账号" }).click();
  await expect(page.locator("#deletion-password-message")).toContainText("密码错误");
  await page.getByLabel("当前密码").fill(PASSWORD);
  await page.getByRole("button", { name: "注销账号" }).click();
  const done = page.getByTestId("deletion-done");
  await expect(done).toContainText("注销申请已提交，你的账号将于");
  await expect(done).toContainText(DATE);

  // Every session ended: the user centre asks to sign in, and signing in
  // during the cooling-off period shows the date and 撤销注销 first.
  await open(page, "/user");
  await expect(page).toHaveURL((url) => url.pathname === "/login");
  await signIn(page, user.username, PASSWORD);
  await expect(page).toHaveURL((url) => url.pathname === "/delete" && url.searchParams.get("next") === "/user");
  await expect(page.getByTestId("deletion-pending")).toContainText("你的账号将于");
  await expect(page.getByTestId("deletion-pending")).toContainText(DATE);
  await expect(page.locator("body[data-hydrated=true]")).toBeAttached();
  await noAxeViolations(page);
  await page.getByRole("button", { name: "撤销注销" }).click();
  await expect(page).toHaveURL((url) => url.pathname === "/user");
  await expect(page.getByTestId("profile-username")).toHaveText(user.username);
});
