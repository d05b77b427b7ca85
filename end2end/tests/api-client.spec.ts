import { expect, test } from "@playwright/test";
import createClient from "openapi-fetch";
// Made by scripts/test.sh from the server's own document (openapi-typescript),
// then the suite is type-checked against it (tsc): a request below that the
// document no longer describes fails the run before any test starts.
import type { paths } from "../generated/openapi";
import { PASSWORD, freshMobile, outboxCode, powFor } from "./helpers";

// What an app team does with the document: generate a client, then register
// and sign in through it, with nothing written by hand about the API's shape.
test("a client generated from the OpenAPI document registers and signs in", async ({ baseURL }) => {
  const address = `10.200.${Math.floor(Math.random() * 250)}.${Math.floor(Math.random() * 250) + 1}`;
  const api = createClient<paths>({ baseUrl: baseURL, headers: { "x-forwarded-for": address } });
  const mobile = freshMobile();

  const lookup = await api.GET("/api/v1/mobiles/{mobile}/count", { params: { path: { mobile } } });
  expect(lookup.data?.count).toBe(0);

  const id = crypto.randomUUID();
  const image = await api.GET("/api/v1/image_codes/{id}", { params: { path: { id } }, parseAs: "arrayBuffer" });
  expect(image.response.headers.get("content-type")).toBe("image/png");
  const text = await outboxCode("captcha", id);
  const pow = await api.GET("/api/v1/image_codes/{id}/pow", {
    params: { path: { id }, query: { purpose: "register" } },
  });
  expect(pow.data).toBeDefined();
  const sent = await api.POST("/api/v1/sms_codes", {
    body: { mobile, purpose: "register", image_code_id: id, text, ...powFor(pow.data!) },
  });
  expect(sent.error).toBeUndefined();
  const smsCode = await outboxCode("sms", mobile);

  const created = await api.POST("/api/v1/users", {
    body: { mobile, password: PASSWORD, password2: PASSWORD, sms_code: smsCode, allow: true },
  });
  expect(created.response.status).toBe(201);

  // A wrong password is an error the document names, read as typed data.
  const refused = await api.POST("/api/v1/login", { body: { account: mobile, password: `${PASSWORD}x` } });
  expect(refused.response.status).toBe(401);
  expect(refused.error?.code).toBe("wrong_credentials");

  const signedIn = await api.POST("/api/v1/login", { body: { account: mobile, password: PASSWORD } });
  expect(signedIn.error).toBeUndefined();
  const token = signedIn.data!.token;
  const me = await api.GET("/api/v1/me", { headers: { authorization: `Bearer ${token}` } });
  expect(me.data?.id).toBe(signedIn.data!.id);
  expect(me.data?.mobile).toBe(`${mobile.slice(0, 3)}****${mobile.slice(-4)}`);

  const out = await api.POST("/api/v1/logout", { headers: { authorization: `Bearer ${token}` } });
  expect(out.response.ok).toBeTruthy();
  const after = await api.GET("/api/v1/me", { headers: { authorization: `Bearer ${token}` } });
  expect(after.response.status).toBe(401);
});
