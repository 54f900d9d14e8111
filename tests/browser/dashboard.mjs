// The /analytics dashboard in headless Chromium: it renders without console
// errors, shows the request count that is in the store, and a search narrows
// the results table. Usage: node dashboard.mjs --url http://127.0.0.1:PORT
//   --expect-total N --model M --expect-model N --screenshot FILE
import { test } from "node:test";
import assert from "node:assert/strict";
import { chromium } from "playwright-core";

const args = Object.fromEntries(
  process.argv.slice(2).reduce((pairs, a, i, all) => (a.startsWith("--") ? [...pairs, [a.slice(2), all[i + 1]]] : pairs), []),
);
const url = args.url;
const expectTotal = Number(args["expect-total"]);
const expectModel = Number(args["expect-model"]);

test("dashboard renders, counts and searches", async () => {
  const browser = await chromium.launch({ executablePath: process.env.CHROMIUM || "/usr/bin/chromium", args: ["--no-sandbox"] });
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 1400 } });
    const problems = [];
    page.on("console", (m) => { if (m.type() === "error" || m.type() === "warning") problems.push(`${m.type()}: ${m.text()}`); });
    page.on("pageerror", (e) => problems.push(`pageerror: ${e.message}`));
    page.on("requestfailed", (r) => problems.push(`requestfailed: ${r.url()}`));
    const external = [];
    page.on("request", (r) => { if (!r.url().startsWith(url)) external.push(r.url()); });

    await page.goto(url + "/analytics", { waitUntil: "networkidle" });
    await page.waitForFunction(() => document.getElementById("total-requests").textContent !== "–", null, { timeout: 10000 });
    assert.equal(await page.textContent("#total-requests"), expectTotal.toLocaleString("en-US"));
    assert.match(await page.textContent("#status-line"), /^updated /);
    const allRows = await page.locator("#results tbody tr").count();
    assert.equal(allRows, expectTotal, "unfiltered search lists every request");
    assert.ok((await page.locator("#by-model tbody tr").count()) >= 2, "per-model table");
    assert.ok((await page.locator("#chart rect").count()) > 0, "request-rate chart drawn");
    assert.ok((await page.locator("#errors-table tbody tr").count()) > 0, "error table shows the 404s");

    await page.fill("#search-model", args.model);
    await page.click("#search-button");
    await page.waitForFunction((n) => document.querySelectorAll("#results tbody tr").length === n, expectModel, { timeout: 10000 });
    const models = await page.locator("#results tbody tr td:nth-child(2)").allTextContents();
    assert.deepEqual([...new Set(models)], [args.model]);
    assert.match(await page.textContent("#search-count"), new RegExp(`^${expectModel} matching`));
    assert.match(await page.getAttribute("#export-csv", "href"), new RegExp(`format=csv`));
    assert.match(await page.getAttribute("#export-csv", "href"), new RegExp(`model=${args.model}`));

    await page.screenshot({ path: args.screenshot, fullPage: true });
    assert.deepEqual(problems, [], "no console errors");
    assert.deepEqual(external, [], "nothing fetched from outside corral");
  } finally {
    await browser.close();
  }
});
