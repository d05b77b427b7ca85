import AxeBuilder from "@axe-core/playwright";
import { expect, test } from "@playwright/test";
import { PASSWORD, createUser, open, signIn, useOwnAddress } from "./helpers";

test("a person with no recorded consent is asked at sign-in, accepts, and goes on; asked once", async ({
  page,
  context,
}) => {
  await useOwnAddress(context);
  const user = createUser({ accepted: false });
  await open(page, "/login");
  await signIn(page, user.username, PASSWORD);
  await expect(page).toHaveURL(/\/accept\?next=%2F$/);
  await expect(page.getByTestId("accept-ask")).toContainText("《隐私政策》和《用户协议》");
  await expect(page.getByRole("heading", { name: /《隐私政策》（版本：/ })).toBeVisible();
  await expect(page.locator("body[data-hydrated=true]")).toBeAttached();
  const axe = await new AxeBuilder({ page }).analyze();
  expect(axe.violations.map((v) => `${v.id}: ${v.help}`)).toEqual([]);
  await page.getByRole("button", { name: "同意并继续" }).click();
  await expect(page).toHaveURL((url) => url.pathname === "/");
  await expect(page.getByTestId("signed-in-user")).toHaveText(user.username);

  // Accepted: the user centre opens, and the next sign-in asks nothing.
  await open(page, "/user");
  await expect(page.getByTestId("profile-username")).toHaveText(user.username);
  await page.getByRole("button", { name: "退出", exact: true }).click();
  await expect(page.getByTestId("signed-in-user")).toHaveCount(0);
  await open(page, "/login");
  await signIn(page, user.username, PASSWORD);
  await expect(page.getByTestId("signed-in-user")).toHaveText(user.username);
  await expect(page).toHaveURL((url) => url.pathname === "/");
});

test("a person who does not accept is signed out", async ({ page, context }) => {
  await useOwnAddress(context);
  const user = createUser({ accepted: false });
  await open(page, "/login?next=/user");
  await signIn(page, user.username, PASSWORD);
  await expect(page).toHaveURL(/\/accept\?next=%2Fuser$/);
  await expect(page.locator("body[data-hydrated=true]")).toBeAttached();
  await page.getByRole("button", { name: "不同意，退出登录" }).click();
  await expect(page).toHaveURL((url) => url.pathname === "/");
  await expect(page.getByTestId("signed-in-user")).toHaveCount(0);
  // Still asked on the way to the user centre.
  await open(page, "/login?next=/user");
  await signIn(page, user.username, PASSWORD);
  await expect(page).toHaveURL(/\/accept\?next=%2Fuser$/);
});
