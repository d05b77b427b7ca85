import { defineConfig, devices } from "@playwright/test";

// Runs against a server the test command started (BASE_URL), in Debian's
// Chromium: Playwright never downloads a browser here.
export default defineConfig({
  testDir: "./tests",
  timeout: 60_000,
  expect: { timeout: 10_000 },
  fullyParallel: false,
  workers: 1,
  retries: 0,
  reporter: [["list"]],
  outputDir: "test-results",
  use: {
    baseURL: process.env.BASE_URL ?? "http://127.0.0.1:3000",
    // The pages follow Accept-Language: the suite reads them in Chinese
    // (tests/language.spec.ts asks for English itself).
    locale: "zh-CN",
    trace: "retain-on-failure",
    screenshot: "only-on-failure",
    launchOptions: {
      executablePath: "/usr/bin/chromium",
      args: [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
    },
  },
  projects: [
    { name: "phone", use: { ...devices["Pixel 7"], defaultBrowserType: "chromium", viewport: { width: 390, height: 844 } } },
    // The main journey once more on a desktop screen.
    { name: "desktop", use: { ...devices["Desktop Chrome"] }, grep: /registers with a mobile number/ },
  ],
});
