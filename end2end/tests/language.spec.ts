import AxeBuilder from "@axe-core/playwright";
import { expect, test } from "@playwright/test";
import { open, useOwnAddress } from "./helpers";

// The language of the pages: the switch on every page, its cookie, and the
// browser's own languages (Accept-Language) when nothing was chosen.

test("the switch draws the page again in the other language, and the choice is kept", async ({ page, context }) => {
  await useOwnAddress(context);
  await open(page, "/");
  await expect(page.locator("html")).toHaveAttribute("lang", "zh-CN");
  await expect(page.getByRole("link", { name: "立即注册" })).toBeVisible();

  await page.getByRole("button", { name: "English" }).click();
  await expect(page.locator("html")).toHaveAttribute("lang", "en");
  await expect(page.locator("body[data-hydrated=true]")).toBeAttached();
  await expect(page.getByRole("link", { name: "Sign up now" })).toBeVisible();
  await expect(page.getByRole("button", { name: "English" })).toHaveAttribute("aria-pressed", "true");
  expect((await context.cookies()).find((c) => c.name === "lang")?.value).toBe("en");
  const axe = await new AxeBuilder({ page }).analyze();
  expect(axe.violations.map((v) => `${v.id}: ${v.help}`)).toEqual([]);

  // Hydrated in English: a client-side navigation keeps the language, in
  // the header and in the page whose code loads then.
  await page.getByRole("banner").getByRole("link", { name: "Sign in", exact: true }).click();
  await expect(page).toHaveURL(/\/login$/);
  await expect(page.getByRole("banner").getByRole("link", { name: "Sign up", exact: true })).toBeVisible();
  await expect(page.getByRole("heading", { name: "Sign in" })).toBeVisible();
  await expect(page.getByRole("tab", { name: "SMS code" })).toBeVisible();
  await expect(page.getByLabel("Remember me for 14 days").first()).toBeAttached();

  // The choice outlives the page, and the switch comes back to where it was.
  await open(page, "/login?next=/user");
  await page.getByRole("button", { name: "中文" }).click();
  await expect(page).toHaveURL(/\/login\?next=\/user$/);
  await expect(page.locator("html")).toHaveAttribute("lang", "zh-CN");
  expect((await context.cookies()).find((c) => c.name === "lang")?.value).toBe("zh-CN");
});

test.describe("a browser that asks for English", () => {
  test.use({ locale: "en-US" });

  test("gets English pages, hydrated in English, without a switch", async ({ page, context }) => {
    await useOwnAddress(context);
    await open(page, "/");
    await expect(page.locator("html")).toHaveAttribute("lang", "en");
    await expect(page.getByRole("heading", { name: "Welcome" })).toBeVisible();
    await expect(page.getByRole("link", { name: "Sign up now" })).toBeVisible();
    await expect(page).toHaveTitle(/Home/);
    // The first page, fields and notes, in English too.
    await open(page, "/register");
    await expect(page.getByRole("heading", { name: "Sign up" })).toBeVisible();
    await expect(page.getByLabel("Mobile number")).toBeVisible();
    await expect(page.getByLabel("Confirm password")).toBeVisible();
    await expect(page.getByRole("button", { name: "Get code" })).toBeVisible();
    const axe = await new AxeBuilder({ page }).analyze();
    expect(axe.violations.map((v) => `${v.id}: ${v.help}`)).toEqual([]);
  });

  test("a later-loaded page carries its texts when drawn, and fetches them when the browser goes there", async ({
    page,
    context,
  }) => {
    await useOwnAddress(context);
    const fetched: string[] = [];
    page.on("request", (request) => {
      if (request.url().includes("/api/texts")) fetched.push(request.url());
    });
    // Drawn by the server: its part came in the page, and it hydrates as drawn.
    await open(page, "/forgot");
    await expect(page.getByRole("heading", { name: "Forgot your password" })).toBeVisible();
    await page.getByRole("tab", { name: "By mobile" }).click();
    await expect(page.locator("#forgot-sms")).toBeVisible();
    await expect(page.getByLabel("Confirm the new password")).toBeVisible();
    expect(fetched).toEqual([]);
    const axe = await new AxeBuilder({ page }).analyze();
    expect(axe.violations.map((v) => `${v.id}: ${v.help}`)).toEqual([]);

    // Reached from another page: its part is fetched once, in English.
    await open(page, "/login");
    await page.getByRole("link", { name: "Forgot your password?" }).click();
    await expect(page).toHaveURL(/\/forgot$/);
    await expect(page.getByRole("heading", { name: "Forgot your password" })).toBeVisible();
    await expect(page.getByRole("button", { name: "Send the reset link" })).toBeVisible();
    expect(fetched.length).toBe(1);
    // A refusal from the server, in English too.
    await page.getByLabel("E-mail").fill("someone@example.com");
    await page.locator("#forgot-email-captcha").fill("zzzz");
    await page.getByRole("button", { name: "Send the reset link" }).click();
    await expect(page.getByText("Those aren't the characters in the picture. Please try again.")).toBeVisible();
  });
});
