// A real browser logs in: headless Debian chromium, driven by playwright-core, against the
// wasm Worker in workerd (wrangler dev) and the Vipps Login simulator, all on 127.0.0.1; and a
// Norwegian browser on a phone-sized screen sees the Worker's pages in Norwegian.
// Run by `make test` after the Worker is built (scripts/test.sh).
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createServer } from "node:net";
import http from "node:http";
import { mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createInterface } from "node:readline";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const out = path.join(root, "target/e2e/browser");
rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });

const children = [];
function start(cmd, args, logName) {
  const log = openSync(path.join(out, logName), "w");
  const child = spawn(cmd, args, { cwd: root, detached: true, stdio: ["ignore", "pipe", log] });
  children.push(child);
  return child;
}
after(() => {
  for (const c of children) {
    try { process.kill(-c.pid, "SIGTERM"); } catch {}
  }
});

function freePort() {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, "127.0.0.1", () => { const { port } = s.address(); s.close(() => resolve(port)); });
  });
}

async function startSim(redirectUri) {
  const sim = start(path.join(root, "target/debug/vipps-sim"),
    ["--listen", "127.0.0.1:0", "--client-id", "browser-client", "--client-secret", "browser-secret",
     "--redirect-uri", redirectUri], "sim.log");
  const line = await new Promise((resolve, reject) => {
    createInterface({ input: sim.stdout }).once("line", resolve);
    sim.once("exit", () => reject(new Error("simulator exited")));
  });
  return line.replace("vipps-sim listening on ", "").trim();
}

// The repo's wrangler.toml without [build] and with absolute paths: the Worker is built once
// up front (scripts/test.sh), so no build watcher restarts workerd mid-test.
function writeTestConfig() {
  const src = readFileSync(path.join(root, "wrangler.toml"), "utf8");
  let inBuild = false;
  const lines = [];
  for (const line of src.split("\n")) {
    const t = line.trim();
    if (t.startsWith("[")) inBuild = t === "[build]";
    if (inBuild) continue;
    lines.push(line
      .replace('"build/worker/shim.mjs"', JSON.stringify(path.join(root, "build/worker/shim.mjs")))
      .replace('"demo/public"', JSON.stringify(path.join(root, "demo/public"))));
  }
  const file = path.join(out, "wrangler.browser.toml");
  writeFileSync(file, lines.join("\n"));
  return file;
}

// A front end on a second origin (same site: 127.0.0.1, another port) that uses the Worker as
// its login backend; its port is known before the Worker starts, for CORS_ORIGINS.
let frontPort;

async function startWorker(port, simBase) {
  const redirect = `http://127.0.0.1:${port}/auth/callback`;
  frontPort ??= await freePort();
  const vars = {
    CORS_ORIGINS: `http://127.0.0.1:${frontPort}`,
    VIPPS_DISCOVERY_URL: `${simBase}/access-management-1.0/access/.well-known/openid-configuration`,
    VIPPS_CLIENT_ID: "browser-client",
    VIPPS_CLIENT_SECRET: "browser-secret",
    VIPPS_REDIRECT_URI: redirect,
    SESSION_SECRET: "browser-session-secret-0123456789abcdef",
  };
  const args = ["dev", "--config", writeTestConfig(), "--ip", "127.0.0.1", "--port", String(port), "--inspector-port", String(await freePort()),
    "--persist-to", path.join(out, "state")];
  for (const [k, v] of Object.entries(vars)) args.push("--var", `${k}:${v}`);
  const w = start(path.join(root, "node_modules/.bin/wrangler"), args, "wrangler.log");
  w.stdout.on("data", () => {});
  const base = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 120_000;
  for (;;) {
    try { await fetch(`${base}/auth/session`); return { base, child: w }; } catch {}
    const log = readFileSync(path.join(out, "wrangler.log"), "utf8");
    if (log.includes("Address already in use") || log.includes("failed to start")) {
      throw new Error("port taken");
    }
    if (Date.now() > deadline) throw new Error("wrangler dev did not start; see target/e2e/browser/wrangler.log");
    await new Promise((r) => setTimeout(r, 250));
  }
}

// Ports are picked free just before use; if another process takes one first, start the
// simulator and the Worker again on new ports.
async function startBoth() {
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const simBase = await startSim(`http://127.0.0.1:${port}/auth/callback`);
    const sim = children[children.length - 1];
    try {
      const { base } = await startWorker(port, simBase);
      return { simBase, base };
    } catch (e) {
      for (const c of children.splice(children.indexOf(sim))) {
        try { process.kill(-c.pid, "SIGTERM"); } catch {}
      }
      if (attempt >= 3) throw e;
    }
  }
}

// One simulator and Worker for every test of this file.
let both;
const servers = () => (both ??= startBoth());

const launch = () => chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});

test("a user logs in with the simulator in headless chromium and sees the members page", async () => {
  const { simBase, base } = await servers();
  const browser = await launch();
  try {
    const page = await browser.newPage();
    await page.goto(`${base}/`);
    await page.waitForSelector('#status[data-state="logged-out"]');
    await page.screenshot({ path: path.join(out, "1-front-page.png") });

    await page.click("#login");
    await page.waitForURL((u) => u.toString().startsWith(simBase));
    assert.match(await page.title(), /Vipps MobilePay Login \(simulator\)/);
    await page.screenshot({ path: path.join(out, "2-simulator.png") });
    const sub = await page.getAttribute("button.confirm", "data-user");
    await page.click("button.confirm");

    await page.waitForURL(`${base}/private/`);
    await page.waitForSelector('#status[data-state="logged-in"]');
    assert.equal(await page.getAttribute("#status", "data-sub"), sub);
    assert.match(await page.textContent("#status"), /Logged in as /);
    await page.screenshot({ path: path.join(out, "3-members-page.png") });

    const cookies = await page.context().cookies(base);
    const session = cookies.find((c) => c.name === "__Host-vipps-session");
    assert.ok(session, "session cookie stored by the browser");
    assert.equal(session.httpOnly, true);
    assert.equal(session.secure, true);
    assert.equal(session.sameSite, "Lax");
    assert.equal(cookies.find((c) => c.name === "__Host-vipps-login"), undefined, "login transaction cookie cleared");

    await page.click("#logout");
    await page.waitForURL(`${base}/`);
    await page.waitForSelector('#status[data-state="logged-out"]');
    const res = await page.goto(`${base}/private/`);
    assert.ok(res.url().startsWith(simBase), "members page sends a logged-out user to login again");
  } finally {
    await browser.close();
  }
});


// What a page offers a phone and a keyboard: nothing wider than the screen, touch targets of
// at least 44 px, and a visible focus ring on the first thing Tab reaches.
async function checkPhoneAndKeyboard(page, what) {
  const { scrollWidth, innerWidth } = await page.evaluate(() => ({ scrollWidth: document.documentElement.scrollWidth, innerWidth: window.innerWidth }));
  assert.ok(scrollWidth <= innerWidth, `${what}: ${scrollWidth}px wide on a ${innerWidth}px screen`);
  for (const box of await page.$$eval("main a, main button", (els) => els.map((e) => e.getBoundingClientRect().height))) {
    assert.ok(box >= 44, `${what}: a touch target of ${box}px`);
  }
  await page.keyboard.press("Tab");
  const focus = await page.evaluate(() => {
    const s = getComputedStyle(document.activeElement);
    return { tag: document.activeElement.tagName, style: s.outlineStyle, width: parseFloat(s.outlineWidth) };
  });
  assert.ok(["A", "BUTTON"].includes(focus.tag), `${what}: Tab reaches a link or button first (${focus.tag})`);
  assert.ok(focus.style !== "none" && focus.width >= 2, `${what}: visible focus (${focus.style} ${focus.width}px)`);
}

test("a Norwegian browser on a phone sees Norwegian pages, and the retry keeps the page it wanted", async () => {
  const { simBase, base } = await servers();
  const browser = await launch();
  try {
    const context = await browser.newContext({ locale: "nb-NO", viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
    const page = await context.newPage();
    await page.goto(`${base}/`);
    await page.waitForSelector('#status[data-state="logged-out"]');
    assert.equal((await page.textContent("#login")).trim(), "Logg inn med Vipps", "the demo's button speaks Norwegian");
    await page.screenshot({ path: path.join(out, "nb-1-front-page.png") });

    // The members page sends the user to Vipps; they cancel there.
    await page.goto(`${base}/private/`);
    await page.waitForURL((u) => u.toString().startsWith(simBase));
    await page.click('button[data-action="cancel"]');
    await page.waitForURL((u) => u.toString().startsWith(`${base}/auth/callback`));
    assert.equal(await page.getAttribute("html", "lang"), "nb");
    assert.equal((await page.textContent("h1")).trim(), "Innloggingen ble avbrutt");
    assert.match(await page.textContent("main"), /Feilkode: callback\.access_denied/);
    const retry = page.locator("a.login");
    assert.equal((await retry.textContent()).trim(), "Logg inn med Vipps");
    assert.equal(await retry.getAttribute("href"), "/auth/login?return_to=%2Fprivate%2F");
    assert.equal(await retry.evaluate((e) => getComputedStyle(e).backgroundColor), "rgb(255, 91, 36)", "Vipps orange");
    assert.equal(await retry.evaluate((e) => getComputedStyle(e).color), "rgb(255, 255, 255)");
    await page.screenshot({ path: path.join(out, "nb-2-cancelled.png"), fullPage: true });
    await checkPhoneAndKeyboard(page, "the error page");
    await page.screenshot({ path: path.join(out, "nb-3-cancelled-focus.png"), fullPage: true });

    // The retry logs in and lands on the page the user wanted.
    await retry.click();
    await page.waitForURL((u) => u.toString().startsWith(simBase));
    await page.click("button.confirm");
    await page.waitForURL(`${base}/private/`);
    await page.waitForSelector('#status[data-state="logged-in"]');

    // Logging out: the Worker's button page, then the logged-out page, both Norwegian.
    await page.goto(`${base}/auth/logout`);
    assert.equal((await page.textContent("h1")).trim(), "Logge ut?");
    await checkPhoneAndKeyboard(page, "the logout page");
    await page.screenshot({ path: path.join(out, "nb-4-logout.png"), fullPage: true });
    await page.click('button[type="submit"]');
    await page.waitForURL(`${base}/`);
    await page.goto(`${base}/auth/logged-out?return_to=%2Fprivate%2F`);
    assert.equal(await page.getAttribute("html", "lang"), "nb");
    assert.equal((await page.textContent("h1")).trim(), "Du er logget ut");
    assert.equal(await page.getAttribute("a.login", "href"), "/auth/login?return_to=%2Fprivate%2F");
    await checkPhoneAndKeyboard(page, "the logged-out page");
    await page.screenshot({ path: path.join(out, "nb-5-logged-out.png"), fullPage: true });
    const res = await page.goto(`${base}/private/`);
    assert.ok(res.url().startsWith(simBase), "logged out for good");
    await context.close();
  } finally {
    await browser.close();
  }
});


// A Jamstack front end on another origin: a static page whose script reads the session from
// the Worker with fetch and credentials, a login link whose return_to is the front end's own
// URL, and a logout by fetch.
function startFrontEnd(port, worker) {
  const html = `<!doctype html><html lang="en"><meta charset="utf-8"><title>Front end</title>
<p id="status" data-state="loading">Loading</p>
<a id="login" href="${worker}/auth/login?return_to=${encodeURIComponent(`http://127.0.0.1:${port}/`)}">Log in</a>
<button id="logout" type="button">Log out</button>
<script>
const W = ${JSON.stringify(worker)};
async function check() {
  const s = document.getElementById("status");
  try {
    const r = await fetch(W + "/auth/session", { credentials: "include", headers: { accept: "application/json" } });
    if (r.ok) { const u = await r.json(); s.dataset.state = "logged-in"; s.dataset.sub = u.sub; s.textContent = "Hello " + u.name; }
    else { s.dataset.state = "logged-out"; s.textContent = "Not logged in (" + r.status + ")"; }
  } catch (e) { s.dataset.state = "error"; s.textContent = String(e); }
}
document.getElementById("logout").onclick = async () => {
  const r = await fetch(W + "/auth/logout", { method: "POST", credentials: "include", headers: { accept: "application/json" } });
  document.getElementById("status").dataset.logout = String(r.status);
  await check();
};
check();
</script>`;
  return new Promise((resolve) => {
    const server = http.createServer((req, res) => {
      res.writeHead(200, { "content-type": "text/html; charset=utf-8", "cache-control": "no-store" });
      res.end(html);
    });
    server.listen(port, "127.0.0.1", () => resolve(server));
  });
}

test("a front end on another origin reads the session with credentials, logs in and out", async () => {
  const { simBase, base } = await servers();
  const front = `http://127.0.0.1:${frontPort}`;
  const server = await startFrontEnd(frontPort, base);
  const browser = await launch();
  try {
    const page = await browser.newPage();
    await page.goto(`${front}/`);
    await page.waitForSelector('#status[data-state="logged-out"]');
    assert.match(await page.textContent("#status"), /Not logged in \(401\)/);
    await page.screenshot({ path: path.join(out, "fe-1-logged-out.png") });

    await page.click("#login");
    await page.waitForURL((u) => u.toString().startsWith(simBase));
    const sub = await page.getAttribute("button.confirm", "data-user");
    await page.click("button.confirm");
    // Back on the front end's own URL (an absolute return_to on a CORS_ORIGINS origin).
    await page.waitForURL(`${front}/`);
    await page.waitForSelector('#status[data-state="logged-in"]');
    assert.equal(await page.getAttribute("#status", "data-sub"), sub);
    assert.match(await page.textContent("#status"), /^Hello \S/);
    await page.screenshot({ path: path.join(out, "fe-2-logged-in.png") });

    await page.click("#logout");
    await page.waitForSelector('#status[data-logout="200"][data-state="logged-out"]');
    await page.screenshot({ path: path.join(out, "fe-3-logged-out-again.png") });

    // The logout really ended the session: the browser holds no session cookie for the Worker.
    const cookies = await page.context().cookies(base);
    assert.equal(cookies.find((c) => c.name === "__Host-vipps-session"), undefined);
  } finally {
    await browser.close();
    server.close();
  }
});
