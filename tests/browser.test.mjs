// A real browser logs in: headless Debian chromium, driven by playwright-core, against the
// wasm Worker in workerd (wrangler dev) and the Vipps Login simulator, all on 127.0.0.1.
// Run by `make test` after the Worker is built (scripts/test.sh).
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createServer } from "node:net";
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

async function startWorker(port, simBase) {
  const redirect = `http://127.0.0.1:${port}/auth/callback`;
  const vars = {
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

test("a user logs in with the simulator in headless chromium and sees the members page", async () => {
  const { simBase, base } = await startBoth();
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
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
