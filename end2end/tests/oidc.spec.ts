import { expect, test } from "@playwright/test";
import http from "node:http";
import { AddressInfo } from "node:net";
import * as oidc from "openid-client";
import { PASSWORD, cli, createUser, freshMobile, sendCode, signIn, useOwnAddress } from "./helpers";

/** A tiny site that signs people in through us, as a team would write one:
 * openid-client (a maintained library no one here wrote) discovers us,
 * sends the browser with PKCE, and on the way back checks the state, the
 * `iss`, the ID token against our JWKS and the nonce, then reads userinfo. */
async function startRelyingParty(options: { loginHint?: string; consent?: boolean } = {}) {
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const redirectUri = `${base}/cb`;
  const registered = cli([
    "clients",
    "create",
    "--name",
    "Demo 商城",
    "--redirect-uri",
    redirectUri,
    ...(options.consent ? ["--consent"] : []),
  ]);
  const issuer = new URL(process.env.BASE_URL ?? "http://127.0.0.1:3000");
  // Our test server speaks http; the library asks to be told that is fine.
  const config = await oidc.discovery(
    issuer,
    registered.client_id as string,
    registered.client_secret as string,
    undefined,
    { execute: [oidc.allowInsecureRequests] },
  );
  const verifier = oidc.randomPKCECodeVerifier();
  const state = oidc.randomState();
  const nonce = oidc.randomNonce();
  server.on("request", async (req, res) => {
    try {
      if (req.url === "/start") {
        const to = oidc.buildAuthorizationUrl(config, {
          redirect_uri: redirectUri,
          scope: "openid phone profile",
          code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
          code_challenge_method: "S256",
          state,
          nonce,
          ...(options.loginHint ? { login_hint: options.loginHint } : {}),
        });
        res.writeHead(302, { location: to.href }).end();
        return;
      }
      const tokens = await oidc.authorizationCodeGrant(config, new URL(req.url!, base), {
        pkceCodeVerifier: verifier,
        expectedState: state,
        expectedNonce: nonce,
      });
      const claims = tokens.claims()!;
      const info = await oidc.fetchUserInfo(config, tokens.access_token, claims.sub);
      res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
      res.end(`<p data-testid="rp-phone">${info.phone_number}</p><p data-testid="rp-user">${info.preferred_username}</p>`);
    } catch (error) {
      // An error the provider sent back (`access_denied`, ...), as the
      // library reports it.
      const code = (error as { error?: string }).error ?? "";
      res.writeHead(500, { "content-type": "text/html; charset=utf-8" });
      res.end(`<p data-testid="rp-error">${code}</p><pre>relying party: ${error}</pre>`);
    }
  });
  return { start: `${base}/start`, close: () => server.close() };
}

test("a site signs a visitor in through us: our sign-in in between, then back at the site", async ({
  page,
  context,
}) => {
  await useOwnAddress(context);
  const user = createUser();
  const rp = await startRelyingParty({ loginHint: user.username });
  try {
    await page.goto(rp.start);
    await expect(page).toHaveURL(/\/login\?next=%2Foauth2%2Fauthorize/);
    await expect(page.locator("body[data-hydrated=true]")).toBeAttached();
    // The site named the account (login_hint): the field has it already.
    await expect(page.getByLabel("账号")).toHaveValue(user.username);
    await signIn(page, user.username, PASSWORD);
    await expect(page.getByTestId("rp-phone")).toHaveText(`+86${user.mobile}`);
    await expect(page.getByTestId("rp-user")).toHaveText(user.username);
  } finally {
    rp.close();
  }
});

test("a new visitor registers in the middle of a site's sign-in and arrives back at the site", async ({
  page,
  context,
}) => {
  await useOwnAddress(context);
  const rp = await startRelyingParty();
  try {
    await page.goto(rp.start);
    await expect(page.locator("body[data-hydrated=true]")).toBeAttached();
    await page.locator("p.switch").getByRole("link", { name: "注册" }).click();
    await expect(page).toHaveURL(/\/register\?next=%2Foauth2%2Fauthorize/);
    await expect(page.locator("body[data-hydrated=true]")).toBeAttached();
    const mobile = freshMobile();
    const code = await sendCode(page, mobile);
    await page.getByLabel("短信验证码").fill(code);
    await page.getByLabel("密码", { exact: true }).fill(PASSWORD);
    await page.getByLabel("确认密码").fill(PASSWORD);
    await page.getByLabel("我已阅读并同意").check();
    await page.getByRole("button", { name: "注册", exact: true }).click();
    await expect(page.getByTestId("rp-phone")).toHaveText(`+86${mobile}`);
  } finally {
    rp.close();
  }
});

test("a third-party site asks first; the person allows it, later takes it back in the user centre, then refuses", async ({
  page,
  context,
}) => {
  await useOwnAddress(context);
  const user = createUser();
  const rp = await startRelyingParty({ consent: true });
  try {
    await page.goto("/login");
    await expect(page.locator("body[data-hydrated=true]")).toBeAttached();
    await signIn(page, user.username, PASSWORD);
    await expect(page.getByTestId("signed-in-user")).toHaveText(user.username);

    await page.goto(rp.start);
    await expect(page).toHaveURL(/\/consent\?request=/);
    await expect(page.getByTestId("consent-ask")).toHaveText("Demo 商城 请求获取：你的用户名和昵称、你的手机号");
    await expect(page.getByTestId("consent-host")).toHaveText("127.0.0.1");
    await expect(page.locator("body[data-hydrated=true]")).toBeAttached();
    await page.getByRole("button", { name: "同意" }).click();
    await expect(page.getByTestId("rp-phone")).toHaveText(`+86${user.mobile}`);

    // Allowed once, not asked again.
    await page.goto(rp.start);
    await expect(page.getByTestId("rp-phone")).toHaveText(`+86${user.mobile}`);

    await page.goto("/user");
    const app = page.getByTestId("application-row");
    await expect(app).toHaveCount(1);
    await expect(app).toContainText("Demo 商城");
    await expect(app).toContainText("你的手机号");
    await expect(page.getByTestId("session-clients").first()).toContainText("Demo 商城");
    await expect(page.locator("body[data-hydrated=true]")).toBeAttached();
    await app.getByRole("button", { name: "取消授权" }).click();
    await expect(page.getByTestId("no-applications")).toBeVisible();

    // Taken back: asked again, and a no goes back to the site as a no.
    await page.goto(rp.start);
    await expect(page).toHaveURL(/\/consent\?request=/);
    await expect(page.locator("body[data-hydrated=true]")).toBeAttached();
    await page.getByRole("button", { name: "拒绝" }).click();
    await expect(page.getByTestId("rp-error")).toHaveText("access_denied");
  } finally {
    rp.close();
  }
});
