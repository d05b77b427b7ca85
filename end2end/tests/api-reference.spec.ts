import { expect, test } from "@playwright/test";
import { freshMobile, useOwnAddress } from "./helpers";

// /api/docs: Swagger UI (npm's swagger-ui-dist, served by us) draws the
// OpenAPI document under the page's nonce-only policy, asks nothing of any
// other site, and its "Try it out" reaches the API.
test("the API reference page draws the document and tries an operation, all from this site", async ({
  page,
  context,
  baseURL,
}) => {
  await useOwnAddress(context);
  const violations: string[] = [];
  await page.exposeFunction("reportViolation", (v: string) => violations.push(v));
  await page.addInitScript(() => {
    document.addEventListener("securitypolicyviolation", (e) =>
      (window as unknown as { reportViolation: (v: string) => void }).reportViolation(
        `${e.violatedDirective} ${e.blockedURI}`,
      ),
    );
  });
  const elsewhere: string[] = [];
  page.on("request", (r) => {
    if (!r.url().startsWith(baseURL!) && !r.url().startsWith("data:")) elsewhere.push(r.url());
  });
  const errors: string[] = [];
  page.on("pageerror", (e) => errors.push(e.message));

  const response = await page.goto("/api/docs");
  expect(response!.headers()["content-security-policy"]).toMatch(/script-src 'nonce-[0-9a-f]+' 'strict-dynamic'/);
  await expect(page.getByRole("heading", { name: /mobile-auth/ })).toBeVisible();
  // Every part of the API is there: registration, sign-in, and OpenID Connect.
  for (const path of ["/api/v1/users", "/api/v1/login", "/api/v1/sms_codes", "/oauth2/token"]) {
    await expect(page.locator(".opblock-summary-path", { hasText: new RegExp(`^${path}$`) }).first()).toBeVisible();
  }

  // Try the mobile lookup on a fresh number: the page calls our API and shows its answer.
  const lookup = page.locator(".opblock", { has: page.locator(".opblock-summary-path", { hasText: /^\/api\/v1\/mobiles\/\{mobile\}\/count$/ }) });
  await lookup.locator(".opblock-summary").click();
  await lookup.getByRole("button", { name: "Try it out" }).click();
  await lookup.locator("input[placeholder='mobile']").fill(freshMobile());
  await lookup.getByRole("button", { name: "Execute" }).click();
  await expect(lookup.locator(".live-responses-table tr.response td.response-col_status").first()).toHaveText("200");
  await expect(lookup.locator(".live-responses-table tr.response td.response-col_description").first()).toContainText('"count": 0');

  expect(violations).toEqual([]);
  expect(elsewhere).toEqual([]);
  expect(errors).toEqual([]);
});

test("the renderer's files are served by us, compressed and cached for a day", async ({ request }) => {
  for (const file of ["/vendor/swagger-ui/swagger-ui-bundle.js", "/vendor/swagger-ui/swagger-ui.css", "/api-docs.js"]) {
    const answer = await request.get(file, { headers: { "accept-encoding": "br" } });
    expect(answer.status(), file).toBe(200);
    expect(answer.headers()["cache-control"], file).toBe("public, max-age=86400");
    expect(answer.headers()["content-encoding"], file).toBe("br");
  }
});
