#!/usr/bin/env node
// `make bench` (via scripts/bench.sh): runs every benchmark on loopback and writes BENCHMARKS.md.
//
//   (a) vipps-edge-login: the release wasm Worker in local workerd (`wrangler dev`)
//   (b) a no-op Rust Worker (bench/noop) built with the same toolchain, returning the same asset
//   (c) @hono/oidc-auth (bench/hono) protecting the same assets on the same workerd
//
// all against one vipps-sim (target/release) that has both redirect URIs registered. Every
// comparison is a ratio of figures measured in the same repetition (the targets take turns, in a
// rotating order, so noise from other work on the machine hits them alike), and every figure is
// the median over repetitions.
//
// Each runs twice over: in one workerd process through Miniflare (bench/serve.mjs: the bundle
// `wrangler deploy --dry-run` makes, no dev proxy; the main figures), and under `wrangler dev` as
// tests/e2e.rs starts it (a dev proxy in a second workerd and a request log line through Node on
// every request; a cross-check of the hot path, and the start time). Two more measure CPU inside
// the isolate: each Worker's fetch handler called in a loop with ASSETS stubbed (the hot path),
// and the core compiled to wasm (bench/wasmcore) with its handler in a loop (callback, login start).
//
// Knobs (environment): BENCH_REPS (hot path, default 9), BENCH_LOGIN_REPS (3), BENCH_DURATION
// (seconds per wrk/login run, 10), BENCH_DEV_REPS (3) and BENCH_DEV_DURATION (5) for the wrangler
// dev cross-check, BENCH_CONNECTIONS (wrk, 4), BENCH_LOGIN_CONCURRENCY (4), BENCH_START_REPS (3),
// BENCH_SKIP_CARGO=1 (reuse the criterion/costs results), BENCH_OUT (file), BENCH_KEEP_TMP=1 (keep
// the work directory with logs and bundles), BENCH_PIN=0 (no taskset; by default the serving
// workerd runs on the last CPU, BENCH_SERVER_CPU, and wrk, the simulator and this process on CPU 0,
// BENCH_LOAD_CPU), BENCH_ISOLATE_REPS (7), BENCH_ISOLATE_N (20000) and BENCH_ISOLATE_TARGETS (a,b,c; with
// BENCH_ONLY=isolate) for the in-isolate loop,
// BENCH_ONLY=isolate|wasmcore|report (one part alone, for tuning), and with BENCH_ONLY=isolate,
// BENCH_PROFILE=a|b|c (V8's sampling profile of that target's loop instead of the timing: functions
// by self time, and target/isolate.cpuprofile for DevTools; a wasm built with names reads best).

import { spawn, spawnSync, execFileSync } from 'node:child_process'
import crypto from 'node:crypto'
import fs from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import zlib from 'node:zlib'

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const env = process.env
const OPT = {
  reps: Number(env.BENCH_REPS || 9),
  loginReps: Number(env.BENCH_LOGIN_REPS || 3),
  duration: Number(env.BENCH_DURATION || 10),
  connections: Number(env.BENCH_CONNECTIONS || 4),
  loginConcurrency: Number(env.BENCH_LOGIN_CONCURRENCY || 4),
  startReps: Number(env.BENCH_START_REPS || 3),
  devReps: Number(env.BENCH_DEV_REPS || 3),
  devDuration: Number(env.BENCH_DEV_DURATION || 5),
  skipCargo: env.BENCH_SKIP_CARGO === '1',
  // Pinning: the serving workerd on one core, the load (wrk, Node's login client, the simulator)
  // on the other, so they do not take turns on one core. BENCH_PIN=0 turns it off.
  pin: env.BENCH_PIN !== '0' && os.cpus().length >= 2 && spawnSync('taskset', ['-V']).status === 0,
  serverCpu: env.BENCH_SERVER_CPU || String(os.cpus().length - 1),
  loadCpu: env.BENCH_LOAD_CPU || '0',
  out: env.BENCH_OUT || path.join(ROOT, 'BENCHMARKS.md'),
}
const WRANGLER = path.join(ROOT, 'node_modules/.bin/wrangler')
const SIM_BIN = path.join(ROOT, 'target/release/vipps-sim')
const TMP = fs.mkdtempSync(path.join(os.tmpdir(), 'vipps-bench-'))
const CLIENT_ID = 'bench-client'
const CLIENT_SECRET = 'bench-client-secret'
const SESSION_SECRET = 'bench-session-secret-0123456789abcdef'
const HONO_SECRET = 'bench-hono-auth-secret-0123456789abcdef'
const PROTECTED = '/private/'
const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100

const log = (...a) => console.log('\x1b[1;34m[bench]\x1b[0m', ...a)
const sleep = (ms) => new Promise((r) => setTimeout(r, ms))
const median = (xs) => {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b)
  if (!s.length) return NaN
  const m = s.length >> 1
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2
}
/** The spread of per-repetition figures (ratios): median, range, the largest deviation from the
 *  median in %, outliers (more than 3 robust standard deviations, 1.4826 x MAD, from the
 *  median; reported, not dropped), and the smallest change between two runs' medians that this
 *  noise lets one see at 95% (1.96 x sqrt 2 x the median's standard error, 1.2533 sigma / sqrt n,
 *  with sigma the larger of the robust and the sample standard deviation: outliers count). */
function spread(xs) {
  const v = xs.filter((x) => Number.isFinite(x))
  const m = median(v)
  const sigma = 1.4826 * median(v.map((x) => Math.abs(x - m)))
  const dev = Math.max(...v.map((x) => Math.abs(x - m))) / m * 100
  const outliers = v.map((x, i) => [i + 1, x]).filter(([, x]) => sigma > 0 && Math.abs(x - m) > 3 * sigma)
  const mean = v.reduce((a, x) => a + x, 0) / v.length
  const sd = v.length > 1 ? Math.sqrt(v.reduce((a, x) => a + (x - mean) ** 2, 0) / (v.length - 1)) : NaN
  const detect = 1.96 * Math.SQRT2 * 1.2533 * Math.max(sigma, sd) / Math.sqrt(v.length) / m * 100
  return { m, min: Math.min(...v), max: Math.max(...v), dev, outliers, detect, n: v.length }
}
const spreadText = (sp, d = 3) => `per repetition ${fmt(sp.min, d)}–${fmt(sp.max, d)}, at most ±${fmt(sp.dev, 1)}% from the median${sp.outliers.length ? `, outliers (over 3 robust SD): ${sp.outliers.map(([i, x]) => `rep ${i} ${fmt(x, d)}`).join(', ')}` : ', no outliers'}; detectable change ${fmt(sp.detect, 1)}%`
const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b)
  if (!s.length) return NaN
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]
}
const fmt = (x, d = 1) => (Number.isFinite(x) ? x.toFixed(d) : 'n/a')
const fmtInt = (x) => (Number.isFinite(x) ? Math.round(x).toLocaleString('en-US') : 'n/a')

// ---- processes ---------------------------------------------------------------------------------

const groups = new Set()
function spawnGroup(cmd, args, { cwd = ROOT, logFile, extraEnv = {}, cpu } = {}) {
  const fd = fs.openSync(logFile, 'a')
  if (OPT.pin && cpu != null) { args = ['-c', cpu, cmd, ...args]; cmd = 'taskset' }
  const child = spawn(cmd, args, {
    cwd,
    detached: true,
    stdio: ['ignore', 'pipe', fd],
    env: { ...env, WRANGLER_SEND_METRICS: 'false', CI: 'true', NO_COLOR: '1', ...extraEnv },
  })
  groups.add(child)
  child.on('exit', () => groups.delete(child))
  return child
}
async function stopGroup(child) {
  if (!child || child.exitCode !== null) return
  try { process.kill(-child.pid, 'SIGTERM') } catch {}
  for (let i = 0; i < 100 && child.exitCode === null && child.signalCode === null; i++) await sleep(50)
  try { process.kill(-child.pid, 'SIGKILL') } catch {}
}
function stopAll() {
  for (const c of groups) { try { process.kill(-c.pid, 'SIGKILL') } catch {} }
}
process.on('exit', stopAll)
for (const s of ['SIGINT', 'SIGTERM']) process.on(s, () => { stopAll(); process.exit(130) })

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer()
    s.on('error', reject)
    s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)) })
  })
}

/** CPU seconds used so far by `pid` and all its descendants (only processes named `only`, when
 *  given): the sum of the kernel's per-thread run time (/proc/PID/task/TID/schedstat, in ns), or
 *  utime + stime in clock ticks where schedstat is missing. */
function treeCpuSeconds(pid, only) {
  const procs = new Map()
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue
    try {
      const s = fs.readFileSync(`/proc/${d}/stat`, 'utf8')
      const rest = s.slice(s.lastIndexOf(')') + 2).split(' ')
      const comm = s.slice(s.indexOf('(') + 1, s.lastIndexOf(')'))
      procs.set(Number(d), { ppid: Number(rest[1]), ticks: Number(rest[11]) + Number(rest[12]), comm })
    } catch {}
  }
  const children = new Map()
  for (const [p, s] of procs) { if (!children.has(s.ppid)) children.set(s.ppid, []); children.get(s.ppid).push(p) }
  let total = 0
  const stack = [pid]
  while (stack.length) {
    const p = stack.pop()
    const st = procs.get(p)
    if (st && (!only || st.comm === only)) total += processCpu(p, st.ticks)
    stack.push(...(children.get(p) ?? []))
  }
  return total
}
function processCpu(pid, ticks) {
  try {
    let ns = 0
    for (const t of fs.readdirSync(`/proc/${pid}/task`)) ns += Number(fs.readFileSync(`/proc/${pid}/task/${t}/schedstat`, 'utf8').split(' ')[0])
    if (ns > 0) return ns / 1e9
  } catch {}
  return ticks / CLK_TCK
}

// ---- a minimal HTTP client with a cookie jar (no redirects followed: each hop is checked) ----

class Jar {
  constructor() { this.c = new Map() }
  absorb(res) {
    for (const sc of res.headers.getSetCookie()) {
      const [pair] = sc.split(';')
      const i = pair.indexOf('=')
      const k = pair.slice(0, i).trim(), v = pair.slice(i + 1).trim()
      if (/max-age=0|expires=thu, 01 jan 1970/i.test(sc) || v === '') this.c.delete(k)
      else this.c.set(k, v)
    }
  }
  header() { return [...this.c].map(([k, v]) => `${k}=${v}`).join('; ') }
}
async function req(url, { jar, method = 'GET', body, headers = {} } = {}) {
  const h = { accept: 'text/html,application/xhtml+xml', ...headers }
  if (jar && jar.c.size) h.cookie = jar.header()
  if (body && !h['content-type']) h['content-type'] = 'application/x-www-form-urlencoded'
  const res = await fetch(url, { method, body, headers: h, redirect: 'manual' })
  if (jar) jar.absorb(res)
  const text = await res.text()
  return { status: res.status, location: res.headers.get('location'), text, res }
}

// ---- the simulator and the three Workers -------------------------------------------------------

async function startSim(redirectUris) {
  const args = ['--listen', '127.0.0.1:0', '--client-id', CLIENT_ID, '--client-secret', CLIENT_SECRET]
  for (const r of redirectUris) args.push('--redirect-uri', r)
  const child = spawnGroup(SIM_BIN, args, { logFile: path.join(TMP, 'sim.log'), cpu: OPT.loadCpu })
  const base = await new Promise((resolve, reject) => {
    let buf = ''
    child.stdout.on('data', (d) => {
      buf += d
      const m = /vipps-sim listening on (\S+)/.exec(buf)
      if (m) resolve(m[1])
    })
    child.on('exit', (c) => reject(new Error(`vipps-sim exited (${c}); see ${TMP}/sim.log`)))
  })
  child.stdout.resume()
  return {
    child, base, args,
    issuer: `${base}/access-management-1.0/access/`,
    discovery: `${base}/access-management-1.0/access/.well-known/openid-configuration`,
    async stats() { return JSON.parse((await req(`${base}/_sim/stats`)).text) },
  }
}

/** The root wrangler.toml, minus [build], pointed at a snapshot of build/ (so that an edit to src/
 *  during the run cannot rebuild and reload the Worker under measurement). */
function snapshotWorkerConfig() {
  const dir = path.join(TMP, 'worker-a')
  fs.cpSync(path.join(ROOT, 'build'), path.join(dir, 'build'), { recursive: true })
  let toml = fs.readFileSync(path.join(ROOT, 'wrangler.toml'), 'utf8')
  toml = toml.replace(/^\[build\][\s\S]*?(?=^\[)/m, '')
  toml = toml.replace(/^main = .*$/m, `main = ${JSON.stringify(path.join(dir, 'build/worker/shim.mjs'))}`)
  toml = toml.replace(/^directory = .*$/m, `directory = ${JSON.stringify(path.join(ROOT, 'demo/public'))}`)
  const file = path.join(dir, 'wrangler.toml')
  fs.writeFileSync(file, toml)
  return file
}

const TARGETS = {
  a: { label: '(a) vipps-edge-login', short: 'vipps-edge-login' },
  b: { label: '(b) no-op Rust Worker', short: 'no-op' },
  c: { label: '(c) @hono/oidc-auth', short: '@hono/oidc-auth' },
  // In the isolate only: (a) with a native app's bearer session instead of the cookie.
  ab: { label: '(a) with a bearer session', short: 'vipps-edge-login, bearer' },
}

// Native-app logins (app_to_app_v2) are on in (a), so a bearer session can be measured too.
const APP_URI = 'benchapp://login/done'
const APP_VERIFIER = 'bench-app-verifier-0123456789-bench-app-verifier-0123'

function workerVars(key, port, sim) {
  const base = `http://127.0.0.1:${port}`
  if (key === 'a') {
    return {
      VIPPS_DISCOVERY_URL: sim.discovery,
      VIPPS_CLIENT_ID: CLIENT_ID,
      VIPPS_CLIENT_SECRET: CLIENT_SECRET,
      VIPPS_REDIRECT_URI: `${base}/auth/callback`,
      SESSION_SECRET,
      LOGIN_FLOWS: 'app_to_app_v2',
      APP_URIS: APP_URI,
    }
  }
  if (key === 'c') {
    return {
      OIDC_ISSUER: sim.issuer,
      OIDC_CLIENT_ID: CLIENT_ID,
      OIDC_CLIENT_SECRET: CLIENT_SECRET,
      OIDC_AUTH_SECRET: HONO_SECRET,
      OIDC_REDIRECT_URI: `${base}/callback`,
      OIDC_SCOPES: 'openid name email',
      OIDC_AUTH_REFRESH_INTERVAL: '31536000', // Vipps issues no refresh tokens: never refresh
      OIDC_AUTH_EXPIRES: '86400',
    }
  }
  return {}
}

let startCount = 0

/** Waits until the protected page answers 200 (with the session cookie when one is known; (c)
 *  without one answers 302 to the simulator, which also proves it is up). */
async function waitReady(key, child, base, t0, logFile, cookie, probe = PROTECTED, timeoutMs = 180000) {
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${key} exited; see ${logFile}`)
    if (performance.now() - t0 > timeoutMs) throw new Error(`${key} not ready after ${timeoutMs} ms; see ${logFile}`)
    try {
      const r = await fetch(base + probe, { redirect: 'manual', headers: cookie ? { cookie, accept: 'text/html' } : { accept: 'text/html' } })
      await r.arrayBuffer()
      if (r.status === 200 || (!cookie && key !== 'b' && (r.status === 302 || r.status === 401))) break
    } catch {}
    await sleep(20)
  }
  return performance.now() - t0
}

/** `wrangler dev`, started as tests/e2e.rs starts it (with --log-level error). */
async function startDev(key, configFile, port, sim, { cookie } = {}) {
  const inspector = await freePort()
  const n = ++startCount
  const args = ['dev', '--config', configFile, '--ip', '127.0.0.1', '--port', String(port),
    '--inspector-port', String(inspector), '--persist-to', path.join(TMP, `state-${key}-${n}`),
    '--log-level', 'error']
  for (const [k, v] of Object.entries(workerVars(key, port, sim))) args.push('--var', `${k}:${v}`)
  const logFile = path.join(TMP, `wrangler-${key}-${n}.log`)
  const t0 = performance.now()
  const child = spawnGroup(WRANGLER, args, { cwd: path.dirname(configFile), logFile, cpu: OPT.serverCpu })
  const base = `http://127.0.0.1:${port}`
  const readyMs = await waitReady(key, child, base, t0, logFile, cookie)
  // The whole dev stack: wrangler (Node, which also receives a request log line per request)
  // and its two workerd processes (the dev proxy and the Worker).
  return { key, kind: 'dev', child, base, port, args, logFile, readyMs, cpu: () => treeCpuSeconds(child.pid) }
}

/** One workerd process running the deployable bundle (bench/serve.mjs). */
async function startDirect(key, bundle, port, sim, { cookie, probe, inspectorPort } = {}) {
  const n = ++startCount
  const spec = {
    ...(inspectorPort ? { inspectorPort } : {}),
    dir: bundle.dir, main: bundle.main, port,
    compatibilityDate: bundle.toml.compatibilityDate, compatibilityFlags: bundle.toml.compatibilityFlags,
    assets: path.join(ROOT, 'demo/public'),
    bindings: { ...bundle.toml.vars, ...(sim ? workerVars(key, port, sim) : {}) },
    kv: bundle.toml.kv,
    persist: path.join(TMP, `state-direct-${key}-${n}`),
  }
  const specFile = path.join(TMP, `serve-${key}-${n}.json`)
  fs.writeFileSync(specFile, JSON.stringify(spec, null, 2))
  const logFile = path.join(TMP, `serve-${key}-${n}.log`)
  const t0 = performance.now()
  const child = spawnGroup(process.execPath, [path.join(ROOT, 'bench/serve.mjs'), specFile], { logFile, cpu: OPT.serverCpu })
  child.stdout.resume()
  const base = `http://127.0.0.1:${port}`
  const readyMs = await waitReady(key, child, base, t0, logFile, cookie, probe)
  // Only the workerd process: the Node process that launched it is idle while it serves.
  return { key, kind: 'direct', child, base, port, args: ['bench/serve.mjs', specFile], spec, logFile, readyMs, cpu: () => treeCpuSeconds(child.pid, 'workerd') }
}

/** The bits of a wrangler.toml the direct runs need: compatibility, [vars], KV bindings. */
function readToml(file) {
  const t = fs.readFileSync(file, 'utf8')
  const compatibilityDate = /^compatibility_date\s*=\s*"([^"]+)"/m.exec(t)?.[1]
  const flags = /^compatibility_flags\s*=\s*\[([^\]]*)\]/m.exec(t)?.[1]
  const compatibilityFlags = flags ? [...flags.matchAll(/"([^"]+)"/g)].map((m) => m[1]) : []
  const vars = {}
  const varsSection = /^\[vars\]\s*$([\s\S]*?)(?=^\[|(?![\s\S]))/m.exec(t)?.[1] ?? ''
  for (const m of varsSection.matchAll(/^([A-Za-z_][A-Za-z0-9_]*)\s*=\s*"((?:[^"\\]|\\.)*)"/gm)) vars[m[1]] = JSON.parse(`"${m[2]}"`)
  const kv = [...t.matchAll(/^\[\[kv_namespaces\]\]\s*$[\s\S]*?^binding\s*=\s*"([^"]+)"/gm)].map((m) => m[1])
  return { compatibilityDate, compatibilityFlags, vars, kv }
}

// ---- browserless logins --------------------------------------------------------------------------

function simPage(html) {
  const r = /name="req" value="([^"]+)"/.exec(html)
  const u = /data-user="([^"]+)"/.exec(html)
  if (!r || !u) throw new Error('simulator login page without req/user markers')
  return { req: r[1], user: u[1] }
}

/** One login; returns the session cookie pair and timings (ms). */
async function login(key, w, sim) {
  const jar = new Jar()
  const t0 = performance.now()
  // Start: (a) /auth/login, (c) the protected page itself (that is where @hono/oidc-auth starts).
  const start = key === 'a' ? `${w.base}/auth/login?return_to=%2Fprivate%2F` : `${w.base}${PROTECTED}`
  const r1 = await req(start, { jar })
  if (r1.status !== 302 || !r1.location?.startsWith(sim.base)) throw new Error(`${key} login start: ${r1.status} ${r1.location} ${r1.text.slice(0, 300)}`)
  const t1 = performance.now()
  const page = await req(r1.location)
  if (page.status !== 200) throw new Error(`${key} authorize page: ${page.status} ${page.text.slice(0, 300)}`)
  const { req: reqId, user } = simPage(page.text)
  const conf = await req(`${sim.base}/access-management-1.0/access/oauth2/auth/confirm`, {
    method: 'POST', body: new URLSearchParams({ req: reqId, user }).toString(),
  })
  if (![302, 303].includes(conf.status)) throw new Error(`${key} confirm: ${conf.status} ${conf.text.slice(0, 300)}`)
  const t2 = performance.now()
  const cb = await req(conf.location, { jar })
  const t3 = performance.now()
  const name = key === 'a' ? '__Host-vipps-session' : 'oidc-auth'
  if (![302, 303].includes(cb.status) || !jar.c.has(name)) throw new Error(`${key} callback: ${cb.status} ${cb.text.slice(0, 500)}`)
  return { cookie: `${name}=${jar.c.get(name)}`, total: t3 - t0, start: t1 - t0, callback: t3 - t2 }
}

/** A native app's login at (a) (app_to_app_v2, as tests/apps.rs makes it): start, the
 *  simulator's approval, the Worker's callback handing off to the app, the app redeeming the
 *  hand-off with its PKCE verifier. Returns the bearer token. */
async function appToken(w, sim) {
  const challenge = crypto.createHash('sha256').update(APP_VERIFIER).digest('base64url')
  const json = { 'content-type': 'application/json', accept: 'application/json' }
  const start = await req(`${w.base}/auth/app/start`, {
    method: 'POST', headers: json, body: JSON.stringify({ app_uri: APP_URI, code_challenge: challenge, code_challenge_method: 'S256' }),
  })
  if (start.status !== 200) throw new Error(`app start: ${start.status} ${start.text.slice(0, 300)}`)
  const page = await req(JSON.parse(start.text).authorize_url)
  if (page.status !== 200) throw new Error(`app authorize page: ${page.status} ${page.text.slice(0, 300)}`)
  const { req: reqId, user } = simPage(page.text)
  const conf = await req(`${sim.base}/access-management-1.0/access/oauth2/auth/confirm`, {
    method: 'POST', body: new URLSearchParams({ req: reqId, user }).toString(),
  })
  if (![302, 303].includes(conf.status)) throw new Error(`app confirm: ${conf.status} ${conf.text.slice(0, 300)}`)
  const cb = await req(conf.location)
  const handoff = cb.location?.startsWith(`${APP_URI}?`) ? new URLSearchParams(cb.location.slice(APP_URI.length + 1)).get('handoff') : null
  if (cb.status !== 303 || !handoff) throw new Error(`app callback: ${cb.status} ${cb.location} ${cb.text.slice(0, 300)}`)
  const t = await req(`${w.base}/auth/app/token`, { method: 'POST', headers: json, body: JSON.stringify({ handoff, code_verifier: APP_VERIFIER }) })
  const token = t.status === 200 ? JSON.parse(t.text).access_token : null
  if (!token?.startsWith('vel_')) throw new Error(`app token: ${t.status} ${t.text.slice(0, 300)}`)
  return token
}

/** A new session cookie for (a); retried, since a kept-alive connection the server closed after
 *  a load run fails the first request on it. */
async function freshLogin(w, sim) {
  for (let i = 0; ; i++) {
    try { return (await login('a', w, sim)).cookie } catch (e) { if (i >= 3) throw e; await sleep(200) }
  }
}

async function loginRun(key, w, sim, seconds, concurrency) {
  const lat = [], cbs = []
  let errors = 0, firstError = null
  const deadline = performance.now() + seconds * 1000
  const s0 = await sim.stats()
  const cpu0 = w.cpu()
  const t0 = performance.now()
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (performance.now() < deadline) {
      try {
        const r = await login(key, w, sim)
        lat.push(r.total); cbs.push(r.callback)
      } catch (e) { errors++; firstError ??= String(e.message || e) }
    }
  }))
  const elapsed = (performance.now() - t0) / 1000
  const cpu = w.cpu() - cpu0
  const s1 = await sim.stats()
  const n = lat.length
  return {
    logins: n, errors, firstError, elapsed,
    perSec: n / elapsed,
    p50: pct(lat, 50), p99: pct(lat, 99), cbP50: pct(cbs, 50), cbP99: pct(cbs, 99),
    cpuMsPerLogin: n ? (cpu * 1000) / n : NaN,
    sim: diffStats(s1, s0, n),
  }
}

/** Login starts only (no callback), sequentially: their CPU, to subtract from a whole login's. */
async function startRun(key, w, sim, count) {
  const s0 = await sim.stats()
  const cpu0 = w.cpu()
  const url = key === 'a' ? `${w.base}/auth/login?return_to=%2Fprivate%2F` : `${w.base}${PROTECTED}`
  const lat = []
  for (let i = 0; i < count; i++) {
    const t = performance.now()
    const r = await req(url, { jar: new Jar() })
    lat.push(performance.now() - t)
    if (r.status !== 302) throw new Error(`${key} login start: ${r.status}`)
  }
  const cpu = w.cpu() - cpu0
  return { cpuMsPerStart: (cpu * 1000) / count, p50: pct(lat, 50), sim: diffStats(await sim.stats(), s0, count) }
}

function diffStats(s1, s0, n) {
  const out = {}
  for (const k of Object.keys(s1)) out[k] = { total: s1[k] - (s0[k] ?? 0), per: n ? (s1[k] - (s0[k] ?? 0)) / n : NaN }
  return out
}

// ---- wrk ------------------------------------------------------------------------------------------

const WRK_LUA = path.join(TMP, 'report.lua')
fs.writeFileSync(WRK_LUA, `
done = function(summary, latency, requests)
  io.write(string.format('WRK_JSON {"requests":%d,"duration_us":%d,"status_errors":%d,"connect_errors":%d,"read_errors":%d,"write_errors":%d,"timeouts":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,"mean_us":%.1f}\\n',
    summary.requests, summary.duration, summary.errors.status, summary.errors.connect, summary.errors.read,
    summary.errors.write, summary.errors.timeout, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.mean))
end
`)
function wrkArgs(url, cookie, seconds) {
  const a = ['-t1', `-c${OPT.connections}`, `-d${seconds}s`, '--timeout', '10s', '-s', WRK_LUA, '-H', 'Accept: text/html,application/xhtml+xml']
  if (cookie) a.push('-H', `Cookie: ${cookie}`)
  a.push(url)
  return a
}
function wrk(w, cookie, seconds) {
  const args = wrkArgs(w.base + PROTECTED, cookie, seconds)
  const cpu0 = w.cpu()
  const r = OPT.pin ? spawnSync('taskset', ['-c', OPT.loadCpu, 'wrk', ...args], { encoding: 'utf8' }) : spawnSync('wrk', args, { encoding: 'utf8' })
  const cpu = w.cpu() - cpu0
  const m = /WRK_JSON (\{.*\})/.exec(r.stdout)
  if (!m) throw new Error(`wrk failed: ${r.stdout}\n${r.stderr}`)
  const j = JSON.parse(m[1])
  const errs = j.status_errors + j.connect_errors + j.read_errors + j.write_errors + j.timeouts
  return {
    rps: j.requests / (j.duration_us / 1e6), p50: j.p50_us / 1000, p99: j.p99_us / 1000, requests: j.requests,
    errors: errs, cpuUsPerReq: (cpu * 1e6) / j.requests,
  }
}

/** The protected page must be served (200, the members page) with the cookie, and refused without. */
async function checkHotPath(key, w, cookie) {
  const ok = await req(w.base + PROTECTED, { headers: cookie ? { cookie } : {} })
  if (ok.status !== 200 || !ok.text.includes('Members page')) throw new Error(`${key}: ${PROTECTED} with session gave ${ok.status}`)
  if (key !== 'b') {
    const no = await req(w.base + PROTECTED)
    if (no.status === 200) throw new Error(`${key}: ${PROTECTED} served without a session`)
  }
  return ok.text.length
}

// ---- sizes and start ----------------------------------------------------------------------------

function gz(buf) { return zlib.gzipSync(buf, { level: 9 }).length }
function dirFiles(dir) {
  const out = []
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name)
    if (e.isDirectory()) out.push(...dirFiles(p))
    else out.push(p)
  }
  return out
}
function dryRunBundle(key, configFile) {
  const out = path.join(TMP, `bundle-${key}`)
  const args = ['deploy', '--dry-run', '--outdir', out, '--config', configFile]
  const r = spawnSync(WRANGLER, args, { cwd: path.dirname(configFile), encoding: 'utf8', env: { ...env, WRANGLER_SEND_METRICS: 'false', CI: 'true', NO_COLOR: '1' } })
  if (r.status !== 0) throw new Error(`wrangler deploy --dry-run (${key}) failed:\n${r.stdout}\n${r.stderr}`)
  const files = dirFiles(out).filter((f) => !f.endsWith('.map') && !f.endsWith('README.md'))
  let raw = 0, gzip = 0
  for (const f of files) { const b = fs.readFileSync(f); raw += b.length; gzip += gz(b) }
  const m = /Total Upload: ([\d.]+) KiB \/ gzip: ([\d.]+) KiB/.exec(r.stdout + r.stderr)
  const rel = files.map((f) => path.relative(out, f))
  const main = rel.find((f) => f.endsWith('.js') || f.endsWith('.mjs'))
  return { raw, gzip, files: rel, dir: out, main, wranglerKiB: m ? { raw: Number(m[1]), gzip: Number(m[2]) } : null, args }
}
// ---- cargo: criterion and the counting harness ----------------------------------------------------

function runCargo(args, logName) {
  log(`cargo ${args.join(' ')}`)
  const r = spawnSync('cargo', args, { cwd: ROOT, encoding: 'utf8', maxBuffer: 64 << 20 })
  fs.writeFileSync(path.join(TMP, logName), r.stdout + r.stderr)
  if (r.status !== 0) throw new Error(`cargo ${args.join(' ')} failed:\n${r.stderr.slice(-3000)}`)
  return r.stdout
}
function criterionResults() {
  const dir = path.join(ROOT, 'target/criterion')
  const out = {}
  if (!fs.existsSync(dir)) return out
  for (const d of fs.readdirSync(dir)) {
    try {
      const b = JSON.parse(fs.readFileSync(path.join(dir, d, 'new/benchmark.json'), 'utf8'))
      const e = JSON.parse(fs.readFileSync(path.join(dir, d, 'new/estimates.json'), 'utf8'))
      out[b.full_id] = { median: e.median.point_estimate, lo: e.median.confidence_interval.lower_bound, hi: e.median.confidence_interval.upper_bound }
    } catch {}
  }
  return out
}

// ---- machine -------------------------------------------------------------------------------------

function sh(cmd, args, opts = {}) {
  try { return execFileSync(cmd, args, { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], ...opts }).trim() } catch (e) { return (e.stdout || e.stderr || '').toString().trim() || 'n/a' }
}
function machine() {
  const cpuinfo = fs.readFileSync('/proc/cpuinfo', 'utf8')
  const model = /model name\s*:\s*(.*)/.exec(cpuinfo)?.[1] ?? 'unknown'
  const flags = /flags\s*:\s*(.*)/.exec(cpuinfo)?.[1]?.split(' ') ?? []
  const memLine = sh('free', ['-h']).split('\n').find((l) => l.startsWith('Mem:')) ?? ''
  const dirty = sh('git', ['status', '--porcelain', '--untracked-files=no']) ? ' (with uncommitted changes)' : ''
  return {
    model,
    nproc: sh('nproc', ['--all']), // not the affinity this process may be pinned to
    mem: memLine.split(/\s+/)[1] ?? 'n/a',
    shaNi: flags.includes('sha_ni'),
    kernel: `${os.type()} ${os.release()}`,
    date: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    commit: sh('git', ['rev-parse', '--short', 'HEAD']) + dirty,
    rustc: sh('rustc', ['--version']),
    node: process.version,
    wrangler: sh(WRANGLER, ['--version']).split('\n').pop(),
    workerd: sh(path.join(ROOT, 'node_modules/.bin/workerd'), ['--version']),
    wrk: (spawnSync('wrk', ['-v'], { encoding: 'utf8' }).stdout || '').split('\n')[0].replace(/\s*(\[|Copyright).*$/, '').trim(),
    hono: JSON.parse(fs.readFileSync(path.join(ROOT, 'bench/hono/node_modules/hono/package.json'), 'utf8')).version,
    oidcAuth: JSON.parse(fs.readFileSync(path.join(ROOT, 'bench/hono/node_modules/@hono/oidc-auth/package.json'), 'utf8')).version,
    oauth4webapi: JSON.parse(fs.readFileSync(path.join(ROOT, 'bench/hono/node_modules/oauth4webapi/package.json'), 'utf8')).version,
    load: os.loadavg().map((x) => x.toFixed(2)).join(', '),
    profile: (() => {
      const t = fs.readFileSync(path.join(ROOT, 'Cargo.toml'), 'utf8')
      const rel = /^\[profile\.release\]\s*$([\s\S]*?)(?=^\[|(?![\s\S]))/m.exec(t)?.[1] ?? ''
      const opt = /^wasm-opt\s*=\s*\[([^\]]*)\]/m.exec(t)?.[1]?.match(/"-O\w*"/)?.[0]?.replace(/"/g, '') ?? '-O'
      return `opt-level ${/^opt-level\s*=\s*"?(\w+)"?/m.exec(rel)?.[1] ?? '?'}${/^lto\s*=\s*true/m.test(rel) ? ', LTO' : ''}${/^panic\s*=\s*"abort"/m.test(rel) ? ', panic=abort' : ''}, wasm-opt ${opt}`
    })(),
  }
}

// ---- the core in wasm, in workerd ----------------------------------------------------------------

/** Runs the Worker's handler in wasm inside workerd (bench/wasmcore), in loops, and measures the
 *  workerd process's CPU per iteration, minus the request that carries the loop. */
async function wasmCore(R, compatibilityDate) {
  const dir = path.join(ROOT, 'bench/wasmcore')
  const w = await startDirect('wasmcore', { dir, main: 'worker.js', toml: { compatibilityDate, compatibilityFlags: [], vars: {}, kv: [] } },
    await freePort(), null, { probe: '/run?op=noop&n=1' })
  try {
    const post = async (p, body) => {
      const r = await fetch(w.base + p, { method: 'POST', body, headers: { 'content-type': 'application/json' } })
      const t = await r.text()
      if (r.status !== 200) throw new Error(`wasmcore ${p}: ${r.status} ${t}`)
      return JSON.parse(t)
    }
    // An RS256 key, its JWKS, and an ID token for the nonce the Worker derives (as the simulator signs them).
    const { publicKey, privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 })
    const kid = 'public:6c1b6d3e-bench-wasm-core'
    const jwk = { ...publicKey.export({ format: 'jwk' }), kid, use: 'sig', alg: 'RS256' }
    const now = Math.floor(Date.now() / 1000)
    const s = await post('/setup', JSON.stringify({ jwks: { keys: [jwk] }, now }))
    const b64u = (b) => Buffer.from(b).toString('base64url')
    const claims = {
      iss: s.issuer, sub: s.sub, aud: [s.client_id], exp: now + 3600, iat: now, auth_time: now, nonce: s.nonce,
      sid: '1f9b2c3d-0000-4000-8000-000000000001', jti: '2a8c3d4e-0000-4000-8000-000000000002', amr: ['BankID'],
      at_hash: b64u(crypto.createHash('sha256').update(s.access_token).digest().subarray(0, 16)), idp: 'Vipps', acr: '1',
    }
    const input = `${b64u(JSON.stringify({ alg: 'RS256', typ: 'JWT', kid }))}.${b64u(JSON.stringify(claims))}`
    const idToken = `${input}.${b64u(crypto.sign('sha256', Buffer.from(input), privateKey))}`
    const t = await post('/token', JSON.stringify({ access_token: s.access_token, id_token: idToken, token_type: 'bearer', expires_in: 599, scope: 'openid name email' }))
    if (t.status !== 303) throw new Error(`wasmcore: the callback answered ${t.status}, not 303`)
    // The origin path, with our own identity-assertion key (PKCS#8 PEM, as IDENTITY_ASSERTION_KEYS takes it).
    const ownKey = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' })
    if ((await post('/origin', JSON.stringify({ pem: ownKey }))).ok !== 1) throw new Error('wasmcore: the origin path did not forward with (and without) an assertion')
    const ops = { protected: 20000, protected_first: 20000, hmac: 20000, url_decide: 20000, url_parse: 20000, origin_plain: 20000, origin_assertion: 20000, webcrypto_sign_rs256: 1000, login_start: 5000, callback: 400, id_token: 400, callback_runtime_crypto: 2000, webcrypto_rs256: 2000 }
    const run = async (op, n) => {
      const c0 = w.cpu()
      const r = await fetch(`${w.base}/run?op=${op}&n=${n}`)
      const j = await r.json()
      const cpu = w.cpu() - c0
      if (j.ok !== n) throw new Error(`wasmcore ${op}: ${j.ok} of ${n} as expected`)
      return cpu
    }
    for (const op of Object.keys(ops)) await run(op, Math.ceil(ops[op] / 10)) // warm-up (V8 tiers up)
    const res = Object.fromEntries(Object.keys(ops).map((k) => [k, []]))
    for (let rep = 0; rep < 5; rep++) {
      for (const op of rotate(Object.keys(ops), rep)) {
        const base = median([await run('noop', 1), await run('noop', 1), await run('noop', 1)])
        res[op].push(((await run(op, ops[op])) - base) / ops[op] * 1e9) // ns per iteration
      }
    }
    R.wasmCore = Object.fromEntries(Object.entries(res).map(([k, v]) => [k, { ns: median(v), runs: v, n: ops[k] }]))
    log(`  wasm in workerd, per iteration: ${Object.entries(R.wasmCore).map(([k, v]) => `${k} ${fmt(v.ns / 1000, 1)} µs`).join(', ')}`)
  } finally {
    await stopGroup(w.child)
  }
}

// ---- the hot path inside the isolate -------------------------------------------------------------

/** Each Worker's own CPU per protected request: a harness module, put next to the deployable
 *  bundle, imports the Worker and calls its fetch handler n times inside one request, with the
 *  ASSETS binding stubbed (a fixed Response of the same page), so workerd's HTTP and asset
 *  pipeline are out of the figure. CPU per call = workerd CPU over n calls, less an empty request. */
async function isolateHot(R, bundle, keys, cookies, sim) {
  const page = fs.readFileSync(path.join(ROOT, 'demo/public/private/index.html'), 'utf8')
  const targets = [...keys, 'none']
  R.isolate = Object.fromEntries(targets.map((k) => [k, []]))
  const servers = {}
  try {
    for (const k of targets) {
      const src = k === 'none' ? bundle.b : k === 'ab' ? bundle.a : bundle[k]
      const port = await freePort()
      const vars = k === 'none' ? {} : { ...src.toml.vars, ...workerVars(k === 'ab' ? 'a' : k, port, sim) }
      const entry = k === 'c' ? 'object' : k === 'none' ? 'none' : 'entrypoint'
      const harness = `// generated by bench/run.mjs
import target from './${src.main}'
// workers-rs checks a binding's constructor name; the stub is named like the real one.
class Fetcher { async fetch(_request) { return new Response(PAGE, { headers: { 'content-type': 'text/html; charset=utf-8' } }) } }
const PAGE = ${JSON.stringify(page)}
const VARS = ${JSON.stringify(vars)}
const ctx = { waitUntil() {}, passThroughOnException() {}, props: {} }
export default {
  async fetch(request) {
    const n = Number(new URL(request.url).searchParams.get('n') || 0)
    const env = { ...VARS, ASSETS: new Fetcher() }
    const inner = new Request('http://127.0.0.1:${port}${PROTECTED}', {
      headers: request.headers.has('x-bench-bearer')
        ? { accept: 'application/json', authorization: 'Bearer ' + request.headers.get('x-bench-bearer') }
        : { accept: 'text/html,application/xhtml+xml', cookie: request.headers.get('x-bench-cookie') || '' },
    })
    const kind = '${entry}'
    const worker = kind === 'entrypoint' ? new target(ctx, env) : target
    let ok = 0
    for (let i = 0; i < n; i++) {
      const r = kind === 'entrypoint' ? await worker.fetch(inner)
        : kind === 'object' ? await worker.fetch(inner, env, ctx)
        : await env.ASSETS.fetch(inner)
      await r.arrayBuffer()
      if (r.status === 200) ok++
    }
    return Response.json({ ok, n })
  },
}
`
      fs.writeFileSync(path.join(src.dir, 'bench-harness.mjs'), harness)
      const inspectorPort = env.BENCH_PROFILE === k ? await freePort() : undefined
      servers[k] = await startDirect(`isolate-${k}`, { ...src, main: 'bench-harness.mjs', toml: { ...src.toml, vars: {}, kv: [] } }, port, null, { probe: '/?n=0', inspectorPort })
      servers[k].inspectorPort = inspectorPort
    }
    const N = Number(env.BENCH_ISOLATE_N || 20000)
    R.isolateN = N
    const run = async (k, n) => {
      const w = servers[k]
      const c0 = w.cpu()
      const send = () => fetch(`${w.base}/?n=${n}`, { headers: k === 'ab' ? { 'x-bench-bearer': cookies.ab } : { 'x-bench-cookie': cookies[k] || '' } })
      // Once more on a network error: Node's fetch may reuse a kept-alive connection workerd has
      // closed while the other servers started (the request is idempotent).
      const r = await send().catch(() => sleep(100).then(send))
        .catch((e) => { throw new Error(`isolate ${k}, ${n} calls: ${e.message} (${e.cause?.code ?? e.cause?.message ?? e.cause})`) })
      const j = await r.json()
      const cpu = w.cpu() - c0
      if (j.ok !== n) throw new Error(`isolate ${k}: ${j.ok} of ${n} calls answered 200`)
      return cpu
    }
    for (const k of targets) await run(k, 2000) // warm-up (V8 tiers up)
    if (env.BENCH_PROFILE) { // tuning aid: V8's sampling profile of one target's loop, by self time
      await profileIsolate(servers[env.BENCH_PROFILE].inspectorPort, () => run(env.BENCH_PROFILE, N))
      return
    }
    for (let rep = 0; rep < Number(env.BENCH_ISOLATE_REPS || 11); rep++) {
      for (const k of rotate(targets, rep)) {
        const base = median([await run(k, 0), await run(k, 0), await run(k, 0)])
        R.isolate[k].push((((await run(k, N)) - base) / N) * 1e9)
      }
    }
    log(`  in the isolate, CPU per protected request: ${targets.map((k) => `${k} ${fmt(median(R.isolate[k]) / 1000, 1)} µs`).join(', ')}`)
  } finally {
    for (const w of Object.values(servers)) await stopGroup(w.child)
  }
}

/** V8's CPU profile (inspector protocol) while `work` runs; prints the functions by self time and
 *  keeps the profile in target/ (open it in Chrome's DevTools). A tuning aid: BENCH_PROFILE=a. */
async function profileIsolate(port, work) {
  const { default: WebSocket } = await import(path.join(ROOT, 'node_modules/ws/index.js'))
  const list = await (await fetch(`http://127.0.0.1:${port}/json/list`)).json()
  const target = list.find((t) => /core:user/.test(t.id + t.title + t.url)) ?? list.find((t) => !/entry|assets|router/.test(t.title)) ?? list[0]
  const ws = new WebSocket(target.webSocketDebuggerUrl)
  await new Promise((res, rej) => { ws.once('open', res); ws.once('error', rej) })
  let id = 0
  const pending = new Map()
  ws.on('message', (m) => { const j = JSON.parse(m); if (j.id && pending.has(j.id)) { pending.get(j.id)(j); pending.delete(j.id) } })
  const call = (method, params = {}) => new Promise((res) => { const i = ++id; pending.set(i, res); ws.send(JSON.stringify({ id: i, method, params })) })
  await call('Profiler.enable')
  await call('Profiler.setSamplingInterval', { interval: 50 })
  await call('Profiler.start')
  await work()
  const { result } = await call('Profiler.stop')
  ws.close()
  const prof = result.profile
  fs.writeFileSync(path.join(ROOT, 'target/isolate.cpuprofile'), JSON.stringify(prof))
  const self = new Map()
  const byId = new Map(prof.nodes.map((nd) => [nd.id, nd]))
  const counts = new Map()
  for (const sid of prof.samples) counts.set(sid, (counts.get(sid) || 0) + 1)
  let total = 0
  for (const [nid, c] of counts) {
    const nd = byId.get(nid)
    const name = `${nd.callFrame.functionName || '(anonymous)'} ${nd.callFrame.url.split('/').pop()}:${nd.callFrame.lineNumber}`
    self.set(name, (self.get(name) || 0) + c)
    total += c
  }
  for (const [name, c] of [...self].sort((a, b) => b[1] - a[1]).slice(0, 45)) console.log(`${(100 * c / total).toFixed(1).padStart(5)}%  ${name}`)
}

// ---- main ----------------------------------------------------------------------------------------

const KEYS = ['a', 'b', 'c']
const rotate = (keys, rep) => keys.map((_, i) => keys[(i + rep) % keys.length])

async function hotRuns(R, field, W, keys, cookies, reps, seconds, sim) {
  for (const k of keys) wrk(W[k], cookies[k], 2) // warm-up
  R[field] = Object.fromEntries(keys.map((k) => [k, []]))
  for (let rep = 0; rep < reps; rep++) {
    for (const k of rotate(keys, rep)) {
      // A fresh session for (a) each time: wrk ignores Set-Cookie, and a session cookie older
      // than SESSION_RECHECK (240 s) would make every request of the run look in KV for
      // revocations, which a browser (taking the re-issued cookie) does once per 240 s.
      if (k === 'a') cookies.a = await freshLogin(W.a, sim)
      const before = await sim.stats()
      const r = wrk(W[k], cookies[k], seconds)
      r.sim = diffStats(await sim.stats(), before, r.requests)
      R[field][k].push(r)
      log(`  rep ${rep + 1} ${TARGETS[k].short}: ${fmt(r.rps, 0)} req/s, p50 ${fmt(r.p50, 2)} ms, p99 ${fmt(r.p99, 2)} ms, ${fmt(r.cpuUsPerReq, 0)} µs CPU/req${r.errors ? `, ${r.errors} errors` : ''}`)
    }
  }
}

async function main() {
  const t00 = performance.now()
  for (const f of env.BENCH_ONLY === 'wasmcore' ? [] : ['build/index_bg.wasm', 'build/worker/shim.mjs', 'bench/noop/build/index_bg.wasm', 'target/release/vipps-sim', 'bench/hono/node_modules/@hono/oidc-auth/package.json']) {
    if (!fs.existsSync(path.join(ROOT, f))) throw new Error(`${f} is missing: run scripts/bench.sh (make bench)`)
  }
  log(`work dir ${TMP}`)
  if (OPT.pin) { // this process drives the logins: it is load, with wrk and the simulator
    try { execFileSync('taskset', ['-a', '-p', '-c', OPT.loadCpu, String(process.pid)], { stdio: 'ignore' }) } catch { OPT.pin = false }
  }
  if (env.BENCH_ONLY === 'report') { // re-renders BENCHMARKS.md from target/bench-results.json
    fs.writeFileSync(OPT.out, report(JSON.parse(fs.readFileSync(path.join(ROOT, 'target/bench-results.json'), 'utf8'))))
    log(`wrote ${OPT.out}`)
    fs.rmSync(TMP, { recursive: true, force: true })
    return
  }
  if (env.BENCH_ONLY === 'wasmcore') { // debugging aid
    const R = {}
    await wasmCore(R, readToml(path.join(ROOT, 'wrangler.toml')).compatibilityDate)
    console.log(JSON.stringify(R.wasmCore, null, 1))
    return
  }
  if (env.BENCH_ONLY === 'isolate') { // the in-isolate hot path alone (tuning aid): BENCH_ISOLATE_REPS, BENCH_ISOLATE_N
    const R = {}
    const cfg = { a: snapshotWorkerConfig(), b: path.join(ROOT, 'bench/noop/wrangler.toml'), c: path.join(ROOT, 'bench/hono/wrangler.toml') }
    const bundle = {}
    for (const k of KEYS) { const b = dryRunBundle(k, cfg[k]); bundle[k] = { dir: b.dir, main: b.main, toml: readToml(cfg[k]) } }
    const port = { a: await freePort(), c: await freePort() }
    const sim = await startSim([`http://127.0.0.1:${port.a}/auth/callback`, `http://127.0.0.1:${port.c}/callback`])
    const cookies = { b: '' }
    for (const k of ['a', 'c']) {
      const d = await startDirect(k, bundle[k], port[k], sim)
      cookies[k] = (await login(k, d, sim)).cookie
      if (k === 'a') cookies.ab = await appToken(d, sim)
      await stopGroup(d.child)
    }
    await isolateHot(R, bundle, (env.BENCH_ISOLATE_TARGETS || [...KEYS, 'ab'].join(',')).split(','), cookies, sim)
    console.log(JSON.stringify(R.isolate))
    await stopGroup(sim.child)
    return
  }
  const M = machine()
  const R = { machine: M, opt: OPT }

  // 5. CPU in the core, and 3. costs (native), before any server starts so they run alone.
  if (!OPT.skipCargo) {
    runCargo(['bench', '--features', 'testkit', '--bench', 'core'], 'criterion.log')
    const costsOut = runCargo(['bench', '--features', 'testkit', '--bench', 'costs'], 'costs.log')
    fs.writeFileSync(path.join(ROOT, 'target/bench-costs.txt'), costsOut)
  }
  R.criterion = criterionResults()
  const costsFile = path.join(ROOT, 'target/bench-costs.txt')
  const cm = /COSTS_JSON (\{.*\})/.exec(fs.existsSync(costsFile) ? fs.readFileSync(costsFile, 'utf8') : '')
  R.costs = cm ? JSON.parse(cm[1]) : null

  // 4. Sizes: the wasm, and what `wrangler deploy --dry-run` bundles (which the direct runs serve).
  log('sizes: wasm, and wrangler deploy --dry-run bundles')
  const cfg = { a: snapshotWorkerConfig(), b: path.join(ROOT, 'bench/noop/wrangler.toml'), c: path.join(ROOT, 'bench/hono/wrangler.toml') }
  const wasm = { a: path.join(path.dirname(cfg.a), 'build/index_bg.wasm'), b: path.join(ROOT, 'bench/noop/build/index_bg.wasm') }
  R.size = {}
  const bundle = {}
  for (const k of KEYS) {
    const s = {}
    if (wasm[k]) { const buf = fs.readFileSync(wasm[k]); s.wasmRaw = buf.length; s.wasmGzip = gz(buf) }
    s.bundle = dryRunBundle(k, cfg[k])
    R.size[k] = s
    bundle[k] = { dir: s.bundle.dir, main: s.bundle.main, toml: readToml(cfg[k]) }
  }

  // The simulator, with the redirect URIs of (a) and (c) in both setups registered for one client.
  const port = {}
  for (const k of KEYS) port[k] = { direct: await freePort(), dev: await freePort() }
  const sim = await startSim([
    `http://127.0.0.1:${port.a.direct}/auth/callback`, `http://127.0.0.1:${port.a.dev}/auth/callback`,
    `http://127.0.0.1:${port.c.direct}/callback`, `http://127.0.0.1:${port.c.dev}/callback`,
  ])
  log(`simulator at ${sim.base}`)
  const D = {}, V = {}
  for (const k of KEYS) {
    D[k] = await startDirect(k, bundle[k], port[k].direct, sim)
    log(`${TARGETS[k].label}: workerd (direct) at ${D[k].base}, ready in ${fmt(D[k].readyMs, 0)} ms`)
  }
  for (const k of KEYS) {
    V[k] = await startDev(k, cfg[k], port[k].dev, sim)
    log(`${TARGETS[k].label}: wrangler dev at ${V[k].base}, ready in ${fmt(V[k].readyMs, 0)} ms`)
  }
  R.commands = {
    sim: `target/release/vipps-sim ${sim.args.map(shq).join(' ')}`,
    dev: Object.fromEntries(KEYS.map((k) => [k, `node_modules/.bin/wrangler ${V[k].args.map(shq).join(' ')}`])),
    direct: Object.fromEntries(KEYS.map((k) => [k, `node bench/serve.mjs SPEC  # ${JSON.stringify({ ...D[k].spec, dir: `<${k} bundle>`, bindings: Object.keys(D[k].spec.bindings), persist: '<tmp>' })}`])),
  }

  // Sessions: one browserless login each (the cookies work in both setups: same secrets).
  const cookies = { b: '' }
  R.honoError = null
  let s0 = await sim.stats()
  cookies.a = (await login('a', D.a, sim)).cookie
  R.firstLoginA = diffStats(await sim.stats(), s0, 1)
  for (let i = 0; i < 3; i++) await login('a', D.a, sim)
  await login('a', V.a, sim)
  try {
    s0 = await sim.stats()
    cookies.c = (await login('c', D.c, sim)).cookie
    R.firstLoginC = diffStats(await sim.stats(), s0, 1)
    for (let i = 0; i < 3; i++) await login('c', D.c, sim)
    await login('c', V.c, sim)
  } catch (e) {
    R.honoError = String(e.message || e)
    log(`@hono/oidc-auth login failed: ${R.honoError}`)
  }
  const hot = R.honoError ? ['a', 'b'] : KEYS
  R.assetBytes = {}
  for (const k of hot) {
    R.assetBytes[k] = await checkHotPath(k, D[k], cookies[k])
    await checkHotPath(k, V[k], cookies[k])
  }
  R.cookieBytes = { a: cookies.a.length, c: cookies.c?.length }
  R.wrkCommand = `wrk ${wrkArgs(`http://127.0.0.1:PORT${PROTECTED}`, 'NAME=VALUE', OPT.duration).map(shq).join(' ')}`

  // 1. Hot path, direct (the figures), then the wrangler dev cross-check.
  log(`hot path, workerd direct: ${OPT.reps} repetitions x ${hot.length} targets x ${OPT.duration} s`)
  await hotRuns(R, 'hot', D, hot, cookies, OPT.reps, OPT.duration, sim)
  log(`hot path, wrangler dev: ${OPT.devReps} repetitions x ${hot.length} targets x ${OPT.devDuration} s`)
  await hotRuns(R, 'hotDev', V, hot, cookies, OPT.devReps, OPT.devDuration, sim)
  for (const k of KEYS) await stopGroup(V[k].child)

  // 2. Login round trips (direct), interleaved; then login starts alone for the CPU split.
  const lk = R.honoError ? ['a'] : ['a', 'c']
  log(`logins: ${OPT.loginReps} repetitions x ${lk.length} targets x ${OPT.duration} s, concurrency ${OPT.loginConcurrency}`)
  R.logins = Object.fromEntries(lk.map((k) => [k, []]))
  R.starts = Object.fromEntries(lk.map((k) => [k, []]))
  for (let rep = 0; rep < OPT.loginReps; rep++) {
    for (const k of rotate(lk, rep)) {
      const r = await loginRun(k, D[k], sim, OPT.duration, OPT.loginConcurrency)
      const s = await startRun(k, D[k], sim, 200)
      R.logins[k].push(r)
      R.starts[k].push(s)
      log(`  rep ${rep + 1} ${TARGETS[k].short}: ${fmt(r.perSec, 1)} logins/s, p50 ${fmt(r.p50, 1)} ms, p99 ${fmt(r.p99, 1)} ms, callback p50 ${fmt(r.cbP50, 1)} ms, ${fmt(r.cpuMsPerLogin, 2)} ms CPU/login (start ${fmt(s.cpuMsPerStart, 2)})${r.errors ? `, ${r.errors} errors: ${r.firstError}` : ''}`)
    }
  }
  R.simTotals = await sim.stats()
  cookies.a = await freshLogin(D.a, sim) // fresh (SESSION_RECHECK): the isolate runs come next
  try {
    cookies.ab = await appToken(D.a, sim) // a native app's bearer session, as fresh
  } catch (e) {
    R.bearerError = String(e.message || e)
    log(`no bearer session for the isolate runs: ${R.bearerError}`)
  }
  for (const k of KEYS) await stopGroup(D[k].child)

  // 1b. The hot path inside the isolate: each Worker's own CPU per protected request.
  log('the hot path inside the isolate (fetch handler in a loop, ASSETS stubbed)')
  try {
    await isolateHot(R, bundle, cookies.ab && hot.includes('a') ? [...hot, 'ab'] : hot, cookies, sim)
  } catch (e) {
    R.isolateError = String(e.message || e)
    log(`isolate hot path failed: ${R.isolateError}`)
  }

  // 5b. The core in wasm, in workerd: the CPU the Worker itself spends per request.
  log('the core in wasm, in workerd (bench/wasmcore)')
  try {
    await wasmCore(R, bundle.a.toml.compatibilityDate)
  } catch (e) {
    R.wasmCoreError = String(e.message || e)
    log(`wasm core failed: ${R.wasmCoreError}`)
  }

  // 4. Start: a fresh workerd (direct) and a fresh wrangler dev, until the first 200 of the
  //    protected page with a session; interleaved.
  log(`start: ${OPT.startReps} repetitions x ${hot.length} targets x 2 setups`)
  R.start = { direct: Object.fromEntries(hot.map((k) => [k, []])), dev: Object.fromEntries(hot.map((k) => [k, []])) }
  for (let rep = 0; rep < OPT.startReps; rep++) {
    for (const kind of ['direct', 'dev']) {
      for (const k of rotate(hot, rep)) {
        const p = await freePort()
        const w = kind === 'direct'
          ? await startDirect(k, bundle[k], p, sim, { cookie: cookies[k] || 'x=y' })
          : await startDev(k, cfg[k], p, sim, { cookie: cookies[k] || 'x=y' })
        const t = performance.now()
        const again = await req(w.base + PROTECTED, { headers: cookies[k] ? { cookie: cookies[k] } : {} })
        const second = performance.now() - t
        await stopGroup(w.child)
        R.start[kind][k].push({ readyMs: w.readyMs, secondMs: second, status: again.status })
        log(`  rep ${rep + 1} ${kind} ${TARGETS[k].short}: first 200 after ${fmt(w.readyMs, 0)} ms (next request ${fmt(second, 1)} ms)`)
      }
    }
  }
  await stopGroup(sim.child)
  R.machine.loadEnd = os.loadavg().map((x) => x.toFixed(2)).join(', ')
  R.elapsedMin = (performance.now() - t00) / 60000
  fs.writeFileSync(path.join(ROOT, 'target/bench-results.json'), JSON.stringify(R, null, 2))
  fs.writeFileSync(OPT.out, report(R))
  log(`wrote ${path.relative(ROOT, OPT.out) || OPT.out} (raw results: target/bench-results.json) in ${fmt(R.elapsedMin, 1)} min`)
  if (env.BENCH_KEEP_TMP !== '1') fs.rmSync(TMP, { recursive: true, force: true })
}

function shq(s) { s = String(s); return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'` }

// ---- the report ---------------------------------------------------------------------------------

function report(R) {
  const OPT = R.opt
  const M = R.machine
  const L = []
  const p = (s = '') => L.push(s)
  const met = (ok) => (ok === null ? '—' : ok ? '**met**' : '**missed**')
  const ratioSeries = (xs, ys, f) => xs.map((x, i) => f(x) / f(ys[i]))
  const ratio = (xs, ys, f) => median(ratioSeries(xs, ys, f))
  const med = (rs, f) => median(rs.map(f))
  const sumSim = (rs) => rs.reduce((acc, r) => acc + Object.values(r.sim).reduce((s, v) => s + v.total, 0), 0)

  const hot = R.hot, dev = R.hotDev
  const hasC = !!hot.c
  const rpsAB = ratio(hot.a, hot.b, (r) => r.rps)
  const rpsAC = hasC ? ratio(hot.a, hot.c, (r) => r.rps) : NaN
  const devAB = ratio(dev.a, dev.b, (r) => r.rps)
  const devAC = hasC ? ratio(dev.a, dev.c, (r) => r.rps) : NaN
  const hotSimA = sumSim(hot.a) + sumSim(dev.a)
  const hotReqsA = [...hot.a, ...dev.a].reduce((s, r) => s + r.requests, 0)
  const lg = R.logins
  const hasCL = !!lg.c
  const perLogin = (k, ep) => lg[k].reduce((s, r) => s + (r.sim[ep]?.total ?? 0), 0) / lg[k].reduce((s, r) => s + r.logins, 0)
  const C = R.costs
  const cr = R.criterion
  const ns = (id) => cr[id]?.median
  const cbCpuWorkerd = median(lg.a.map((r, i) => r.cpuMsPerLogin - R.starts.a[i].cpuMsPerStart))
  const cbNative = ns('app/callback_warm') / 1e6
  const wasmGzip = R.size.a.wasmGzip
  const subA = { d: perLogin('a', 'discovery'), j: perLogin('a', 'jwks'), t: perLogin('a', 'token'), u: perLogin('a', 'userinfo') }
  const twoSub = subA.d === 0 && subA.j === 0 && subA.t === 1 && subA.u === 1
  const hotKV0 = !C || (C.per_protected_request.kv_get === 0 && C.per_protected_request.kv_put === 0 && C.per_protected_request.subrequests === 0)
  const gapD = C?.refetch_min_gap_secs?.discovery, gapJ = C?.refetch_min_gap_secs?.jwks
  const bound = Math.max(cbCpuWorkerd, cbNative)
  const margin = 10 / bound
  const t = (v) => (v >= 1e6 ? `${fmt(v / 1e6, 2)} ms` : v >= 1e3 ? `${fmt(v / 1e3, 2)} µs` : `${fmt(v, 0)} ns`)

  p('# Benchmarks')
  p()
  p(`Generated by \`make bench\` (\`bash scripts/bench.sh\`, which runs \`node bench/run.mjs\`) on ${M.date}, commit \`${M.commit}\`. Do not edit by hand.`)
  p()
  p('Three Workers serve the same static page, `demo/public/private/index.html`, on the same local workerd:')
  p()
  p('- **(a)** this Worker, the release wasm build, protecting it;')
  p('- **(b)** a no-op Rust Worker (`bench/noop`, same `worker` crate, toolchain, release profile and wasm-opt flags) whose fetch handler only returns the asset;')
  p(`- **(c)** [@hono/oidc-auth](https://www.npmjs.com/package/@hono/oidc-auth) ${M.oidcAuth} on hono ${M.hono} (\`bench/hono\`) protecting it, configured against the same simulator.`)
  p()
  p('Everything runs on loopback against the Vipps Login simulator (`target/release/vipps-sim`, one client with the')
  p('redirect URIs of (a) and (c)). Each Worker runs in two setups: **workerd direct**, one workerd process (through')
  p('Miniflare, `bench/serve.mjs`) serving exactly the bundle `wrangler deploy --dry-run` makes, with the vars, KV binding')
  p('and assets of its `wrangler.toml`; and **`wrangler dev`**, started as `tests/e2e.rs` starts it, where every request')
  p('also crosses wrangler\'s dev proxy (a second workerd) and sends a request log line to Node. The main figures are the')
  p('direct ones, since under `wrangler dev` that fixed overhead dilutes every difference; the `wrangler dev` hot path is')
  p('a cross-check.')
  p()
  p('Every comparison is a ratio of figures measured in the same repetition (the targets take turns in a rotating order,')
  p('so noise from other work on the machine hits them alike), and every figure is a median over repetitions. Absolute')
  p('numbers are those of a small shared machine (see the load average); the ratios are the result.')
  p()
  p('## Machine')
  p()
  p('| | |')
  p('|---|---|')
  p(`| CPU | ${M.model}, ${M.nproc} cores${M.shaNi ? ' (SHA-NI)' : ' (no SHA extensions)'} |`)
  p(`| Memory | ${M.mem} |`)
  p(`| OS | ${M.kernel} |`)
  p(`| Load average (1, 5, 15 min) | ${M.load} at the start, ${M.loadEnd} at the end (other builds were running) |`)
  p(`| Release profile | ${M.profile} |`)
  p(`| Tools | ${M.rustc}; Node ${M.node}; wrangler ${M.wrangler}; ${M.workerd}; ${M.wrk} |`)
  p(`| Comparison | hono ${M.hono}, @hono/oidc-auth ${M.oidcAuth}, oauth4webapi ${M.oauth4webapi} |`)
  p(`| Run | hot path ${OPT.reps} x ${OPT.duration} s (direct) and ${OPT.devReps} x ${OPT.devDuration} s (wrangler dev) per target; logins ${OPT.loginReps} x ${OPT.duration} s; ${OPT.startReps} starts per target and setup; ${fmt(R.elapsedMin, 1)} min in all; ${OPT.pin ? `serving workerd pinned to CPU ${OPT.serverCpu}, wrk, the simulator and the login client to CPU ${OPT.loadCpu}` : 'not pinned'} |`)
  p()

  p('## Targets')
  p()
  p('| Target | Measured | |')
  p('|---|---|---|')
  const I = R.isolate
  const iso = (k) => (I?.[k]?.length ? median(I[k]) : NaN)
  const isoRatio = (x, y) => (I?.[x]?.length && I?.[y]?.length ? median(I[x].map((v, i) => I[y][i] / v)) : NaN) // y's CPU / x's CPU
  const range = (xs, ys, f) => { const r = ratioSeries(xs, ys, f); return `${fmt(Math.min(...r), 2)}–${fmt(Math.max(...r), 2)}` }
  const cpuAB = spread(ratioSeries(hot.a, hot.b, (r) => r.cpuUsPerReq)), cpuAC = hasC ? spread(ratioSeries(hot.a, hot.c, (r) => r.cpuUsPerReq)) : null
  const rpsSpAB = spread(ratioSeries(hot.a, hot.b, (r) => r.rps))
  const isoAB = I?.a?.length && I?.b?.length ? spread(I.a.map((v, i) => v / I.b[i])) : null
  const isoAC = I?.a?.length && I?.c?.length ? spread(I.a.map((v, i) => v / I.c[i])) : null
  const isoBearerB = I?.ab?.length && I?.b?.length ? spread(I.ab.map((v, i) => v / I.b[i])) : null
  const isoBearerC = I?.ab?.length && I?.c?.length ? spread(I.ab.map((v, i) => v / I.c[i])) : null
  p(`| Through workerd: CPU per request within 2% of the no-op Worker's (the primary through-workerd figure) | **${fmt(cpuAB.m, 3)}x** the no-op's workerd CPU per request (${spreadText(cpuAB)}) | ${met(cpuAB.m <= 1.02)}${cpuAB.m > 1.02 ? ` by ${fmt((cpuAB.m - 1.02) * 100, 1)} points` : ''}; spread ${met(cpuAB.dev < 5)} (under ±5%) |`)
  p(`| Through workerd: median throughput at least 0.98x the no-op Worker's | **${fmt(rpsAB, 3)}x** its requests/s (${spreadText(rpsSpAB)}); ${fmt(devAB, 2)}x under wrangler dev | ${met(rpsAB >= 0.98)} |`)
  if (hasC) p(`| Through workerd, against @hono/oidc-auth (no target; context) | ${fmt(cpuAC.m, 3)}x its CPU per request (${spreadText(cpuAC)}); ${fmt(rpsAC, 3)}x its requests/s; ${fmt(devAC, 2)}x under wrangler dev | — |`)
  p(`| Inside the isolate: CPU per protected request at most 1.2x the no-op Rust Worker's | ${isoAB ? `**${fmt(isoAB.m, 2)}x** (${fmt(iso('a') / 1000, 1)} against ${fmt(iso('b') / 1000, 1)} µs; ${spreadText(isoAB, 2)})` : 'not measured'} | ${met(isoAB ? isoAB.m <= 1.2 : null)} |`)
  p(`| Inside the isolate: at most 0.75x @hono/oidc-auth's | ${isoAC ? `**${fmt(isoAC.m, 2)}x** (${fmt(iso('a') / 1000, 1)} against ${fmt(iso('c') / 1000, 1)} µs; ${spreadText(isoAC, 2)})` : 'not measured'} | ${met(isoAC ? isoAC.m <= 0.75 : null)} |`)
  p(`| Inside the isolate, with a native app's bearer session: at most 1.2x the no-op Rust Worker's | ${isoBearerB ? `**${fmt(isoBearerB.m, 2)}x** (${fmt(iso('ab') / 1000, 1)} against ${fmt(iso('b') / 1000, 1)} µs; ${spreadText(isoBearerB, 2)})` : `not measured${R.bearerError ? ` (${R.bearerError})` : ''}`} | ${met(isoBearerB ? isoBearerB.m <= 1.2 : null)} |`)
  p(`| Inside the isolate, with a bearer session: at most 0.75x @hono/oidc-auth's (with its cookie) | ${isoBearerC ? `**${fmt(isoBearerC.m, 2)}x** (${fmt(iso('ab') / 1000, 1)} against ${fmt(iso('c') / 1000, 1)} µs; ${spreadText(isoBearerC, 2)})` : 'not measured'} | ${met(isoBearerC ? isoBearerC.m <= 0.75 : null)} |`)
  p(`| Zero KV operations and zero subrequests on the hot path | ${fmtInt(hotSimA)} simulator requests during ${fmtInt(hotReqsA)} protected requests in workerd; ${C ? `${C.per_protected_request.subrequests} subrequests, ${C.per_protected_request.kv_get} KV reads, ${C.per_protected_request.kv_put} KV writes per request counted in the core` : 'KV not counted'} | ${met(hotSimA === 0 && hotKV0)} |`)
  p(`| Exactly two subrequests to Vipps per login (token, userinfo) with warm caches | per login in workerd: token ${fmtN(subA.t)}, userinfo ${fmtN(subA.u)}, discovery ${fmtN(subA.d)}, JWKS ${fmtN(subA.j)}${C ? `; in the core ${fmtN(C.per_login_warm.subrequests)}` : ''} | ${met(twoSub && (!C || C.per_login_warm.subrequests === 2))} |`)
  p(`| No KV write per login on the default browser flow | ${C ? `${fmtN(C.per_login_warm.kv_put)} KV writes and ${fmtN(C.per_login_warm.kv_get)} KV reads per warm login (core); the login state is a signed cookie` : 'n/a'} | ${met(C ? C.per_login_warm.kv_put === 0 : null)} |`)
  p(`| Discovery and JWKS refetched no more often than their max-age | shortest gap between refetches over 3 simulated hours of logins: discovery ${gapD ?? 'n/a'} s (max-age 3600), JWKS ${gapJ ?? 'n/a'} s (the simulator sends no Cache-Control; the Worker then keeps it 3600 s); in workerd, ${fmtInt(sumSimA(R, 'discovery'))} discovery and ${fmtInt(sumSimA(R, 'jwks'))} JWKS fetches by (a) in ${fmt(R.elapsedMin, 0)} min, one per isolate | ${met(gapD == null || gapJ == null ? null : gapD >= 3600 && gapJ >= 3600)} |`)
  p(`| Logins per second at least 2x @hono/oidc-auth's, same simulator | ${hasCL ? `**${fmt(ratio(lg.a, lg.c, (r) => r.perSec), 2)}x** (section 2)` : 'not measured'} | ${met(hasCL ? ratio(lg.a, lg.c, (r) => r.perSec) >= 2 : null)} |`)
  p(`| wasm at most 300 KB gzip | ${fmtInt(wasmGzip)} bytes (${fmt(wasmGzip / 1024, 1)} KiB), gzip -9 | ${met(wasmGzip < 300000)}${wasmGzip >= 300000 ? ` by ${fmtInt(wasmGzip - 300000)} bytes (${fmt((wasmGzip / 300000 - 1) * 100, 1)}%)` : `, ${fmtInt(300000 - wasmGzip)} bytes to spare`} |`)
  const wcbWasm = R.wasmCore?.callback_runtime_crypto?.ns / 1e6, wcbCrypto = R.wasmCore?.webcrypto_rs256?.ns / 1e6
  const wcb = wcbWasm + wcbCrypto, wcbRust = R.wasmCore?.callback?.ns / 1e6
  if (Number.isFinite(wcb)) {
    p(`| Callback CPU in wasm at most 0.5 ms | **${fmt(wcb * 1000, 0)} µs** in workerd: the callback's work in wasm (${fmt(wcbWasm * 1000, 0)} µs) and the ID token's RS256 check by WebCrypto (${fmt(wcbCrypto * 1000, 0)} µs), as the Worker runs it; ${fmt(wcbRust * 1000, 0)} µs with the check in Rust in wasm (the fallback), ${fmt(cbNative * 1000, 0)} µs natively (section 5); at most ${fmt(cbCpuWorkerd, 2)} ms of workerd process CPU per callback, an upper bound that adds workerd's own HTTP handling of the request and both subrequests | ${met(wcb <= 0.5)} |`)
  } else {
    p(`| Callback CPU well inside the Workers free plan's 10 ms (wide = at least 5x) | ${fmt(cbNative * 1000, 0)} µs native; at most ${fmt(cbCpuWorkerd, 2)} ms of workerd process CPU per callback (an upper bound) | ${met(margin >= 5)}: ${fmt(margin, 1)}x margin against the upper bound |`)
  }
  p()
  {
    const cpuA = med(hot.a, (r) => r.cpuUsPerReq), cpuB = med(hot.b, (r) => r.cpuUsPerReq), cpuC = hasC ? med(hot.c, (r) => r.cpuUsPerReq) : NaN
    const dAB = median(hot.a.map((r, i) => r.cpuUsPerReq - hot.b[i].cpuUsPerReq))
    const dAC = hasC ? median(hot.a.map((r, i) => r.cpuUsPerReq - hot.c[i].cpuUsPerReq)) : NaN
    const wc = R.wasmCore?.protected?.ns
    p(`**Hot path.** Through local workerd, (a) costs ${fmtInt(dAB)} µs more workerd CPU per request than the no-op (${fmtInt(cpuA)} against ${fmtInt(cpuB)} µs, medians of per-repetition differences)${hasC ? ` and ${fmtInt(dAC)} µs ${dAC >= 0 ? 'more' : 'less'} than @hono/oidc-auth (${fmtInt(cpuC)} µs)` : ''}; the no-op's ${fmtInt(cpuB)} µs is essentially workerd's own HTTP and asset pipeline, the same for all three. wrk and the simulator run pinned to one core and the serving workerd to the other (\`taskset\`${OPT.pin ? '' : '; not pinned in this run'}), and the ratios are per repetition, so the spread stated with each target is the noise of this harness on this machine; the "detectable change" is the smallest difference between two such runs' medians that exceeds it (95%).${Number.isFinite(iso('a')) ? ` Called in a loop inside the isolate (section 1), (a)'s fetch handler costs ${fmt(iso('a') / 1000, 0)} µs against the no-op's ${fmt(iso('b') / 1000, 0)} µs${hasC ? ` and @hono/oidc-auth's ${fmt(iso('c') / 1000, 0)} µs` : ''}${Number.isFinite(wc) ? `; the core's own work (routing, the session lookup, the revocation check in memory) is ${fmt(wc / 1000, 0)} µs of it in wasm (section 5), and the rest the edge adapter (\`src/edge\`), which crosses the JS/wasm boundary a fixed few times per request: the request line with the headers a gated route reads (one string), the forward (the backend's promise, returned unawaited, with a personal answer's Cache-Control, Vary and cookies set in JS when it answers)` : ''}.` : ''} A cookie's HMAC-SHA256 (${R.wasmCore ? fmt(R.wasmCore.hmac.ns / 1000, 0) : '?'} µs) and decode are paid on its first request in an isolate${R.wasmCore?.protected_first ? ` (${fmt(R.wasmCore.protected_first.ns / 1000, 0)} µs for the whole core then)` : ''}; the isolate keeps the sessions of values it verified, so a browser's later requests with the same cookie skip both (times and revocations are checked every time). Each run of (a) starts with a fresh login: wrk does not take the cookie the Worker re-issues, and a session older than SESSION_RECHECK (240 s) would make every request look in KV for revocations (a browser does that once per 240 s).`)
    p()
  }
  if (wasmGzip >= 300000) {
    const b = R.size.b
    p(`**The wasm size target is missed** by ${fmtInt(wasmGzip - 300000)} bytes (${fmt((wasmGzip / 300000 - 1) * 100, 1)}%). The no-op Worker, built the same way, is ${fmtInt(b.wasmGzip)} bytes gzip: the \`worker\` crate and its wasm-bindgen glue are ${fmt((b.wasmGzip / wasmGzip) * 100, 0)}% of the total. The rest is the login code and what it needs: jwt-compact (parsing and claims; every signature is checked, and the assertion signed, by the runtime's WebCrypto, so no RSA or ECDSA code is in the wasm), serde_json and its deserializers for each document, \`url\`, sha2/hmac, base64, and the flows and page texts themselves.`)
    p()
  }
  if (R.honoError) {
    p(`**@hono/oidc-auth could not be measured**: ${R.honoError}`)
    p()
  }

  p('## 1. Hot path: a protected static page with a valid session')
  p()
  p(`\`GET ${PROTECTED}\` (${fmtInt(R.assetBytes.a)} bytes of HTML) with the session cookie (${R.cookieBytes.a} bytes for (a)${R.cookieBytes.c ? `, ${R.cookieBytes.c} for (c)` : ''}), \`wrk\` with one thread and ${OPT.connections} connections. "CPU/request" is the CPU time of the serving processes during the run (from /proc) divided by the requests served: the workerd process (direct), or wrangler with both its workerd processes (wrangler dev).`)
  p()
  const hotTable = (H, title) => {
    p(`**${title}**`)
    p()
    p('| | requests/s | p50 latency | p99 latency | CPU/request |')
    p('|---|---:|---:|---:|---:|')
    for (const k of Object.keys(H)) p(`| ${TARGETS[k].label} | ${fmtInt(med(H[k], (r) => r.rps))} | ${fmt(med(H[k], (r) => r.p50), 2)} ms | ${fmt(med(H[k], (r) => r.p99), 2)} ms | ${fmtInt(med(H[k], (r) => r.cpuUsPerReq))} µs |`)
    const row = (x, y, label) => p(`| **${label}** | **${fmt(ratio(H[x], H[y], (r) => r.rps), 3)}** | ${fmt(ratio(H[x], H[y], (r) => r.p50), 2)} | ${fmt(ratio(H[x], H[y], (r) => r.p99), 2)} | ${fmt(ratio(H[x], H[y], (r) => r.cpuUsPerReq), 2)} |`)
    row('a', 'b', '(a)/(b)')
    if (H.c) row('a', 'c', '(a)/(c)')
    p()
    p(`Per repetition, CPU/request (µs): ${H.a.map((_, i) => `${i + 1}: ${Object.keys(H).map((k) => fmtInt(H[k][i].cpuUsPerReq)).join(' / ')} (a/b ${fmt(H.a[i].cpuUsPerReq / H.b[i].cpuUsPerReq, 3)}${H.c ? `, a/c ${fmt(H.a[i].cpuUsPerReq / H.c[i].cpuUsPerReq, 3)}` : ''})`).join('; ')}.`)
    p()
    p(`Per repetition, requests/s: ${H.a.map((_, i) => `${i + 1}: ${Object.keys(H).map((k) => fmtInt(H[k][i].rps)).join(' / ')} (a/b ${fmt(H.a[i].rps / H.b[i].rps, 3)}${H.c ? `, a/c ${fmt(H.a[i].rps / H.c[i].rps, 3)}` : ''})`).join('; ')}.`)
    p()
  }
  hotTable(hot, `workerd direct, ${OPT.reps} x ${OPT.duration} s`)
  hotTable(dev, `wrangler dev, ${OPT.devReps} x ${OPT.devDuration} s`)
  if (I) {
    p('**Inside the isolate.** Each Worker\'s own CPU per protected request: a harness module next to the deployable bundle')
    p(`imports the Worker and calls its fetch handler ${fmtInt(R.isolateN ?? 20000)} times within one request, with the same cookie (fresh: see above) and the ASSETS`)
    p('binding stubbed by a fixed Response of the same page; the figure is the workerd process\'s CPU for the calls, less an')
    p(`empty request, per call, median of ${I.a?.length ?? 7} (interleaved). "Harness alone" returns the stub's page without a Worker.`)
    p('"(a) with a bearer session" is (a) in an isolate of its own, called with `Authorization: Bearer` and the token of a native')
    p('app\'s login (app_to_app_v2 against the simulator) instead of the cookie. The same cookie or token on every call is what a')
    p('browser or an app sends between re-issues: these are the steady-state figures (a value\'s first request in an isolate adds')
    p('its HMAC and decode, section 5).')
    p()
    p('| | CPU per request | less the harness | (a)\'s CPU-bound throughput relative to this |')
    p('|---|---:|---:|---:|')
    for (const k of [...Object.keys(hot), 'ab', 'none']) {
      if (!I[k]) continue
      p(`| ${k === 'none' ? 'harness alone' : TARGETS[k].label} | ${fmt(iso(k) / 1000, 1)} µs | ${k === 'none' ? '' : fmt((iso(k) - iso('none')) / 1000, 1) + ' µs'} | ${k === 'a' || k === 'none' ? '' : fmt(isoRatio('a', k), 2)} |`)
    }
    p()
    p(`Per repetition (µs): ${[...Object.keys(hot), 'ab', 'none'].filter((k) => I[k]).map((k) => `${k === 'none' ? 'harness' : k} ${I[k].map((v) => fmt(v / 1000, 1)).join(' / ')}`).join('; ')}.`)
    p()
  } else if (R.isolateError) {
    p(`The in-isolate measurement failed: ${R.isolateError}`)
    p()
  }
  const errs = [...Object.values(hot), ...Object.values(dev)].flat().reduce((s, r) => s + r.errors, 0)
  p(`Ratios are medians of the per-repetition ratios. Errors and non-2xx/3xx answers during the runs: ${errs}. Before the runs, each target was checked to answer 200 with the members page (and (a) and (c) to refuse it without a session). The core's part of the hot path (routing, the session lookup of a cookie verified before, the revocation check) costs ${t(ns('app/protected_request'))} natively${R.wasmCore ? ` and ${t(R.wasmCore.protected.ns)} in wasm in workerd` : ''}, and on a cookie's first request in an isolate (one HMAC-SHA256, JSON decode) ${t(ns('app/protected_request_first'))}${R.wasmCore?.protected_first ? ` and ${t(R.wasmCore.protected_first.ns)}` : ''} (section 5)${I ? `; with the edge adapter, (a)'s handler spends ${fmt((iso('a') - iso('b')) / 1000, 1)} µs more than (b)'s when called in a loop, and ${fmtInt(median(hot.a.map((r, i) => r.cpuUsPerReq - hot.b[i].cpuUsPerReq)))} µs more per request served through workerd (the CPU/request column), against the ${fmtInt(med(hot.b, (r) => r.cpuUsPerReq))} µs workerd itself spends per request here (HTTP, the entry worker, the asset router and the asset worker)` : ''}.`)
  p()

  p('## 2. Login round trip')
  p()
  p(`A browserless login against the simulator with warm caches, workerd direct: the start ((a) \`GET /auth/login?return_to=/private/\`; (c) \`GET ${PROTECTED}\` without a session, which is where @hono/oidc-auth starts one), the simulator's authorize page, its confirm form, and the callback, which sets the session. ${OPT.loginConcurrency} logins at a time for ${OPT.duration} s, ${OPT.loginReps} repetitions; Node's \`fetch\` is the browser. The simulator's work (an RS256 signature per token) is part of the round trip. "CPU" is the workerd process's CPU per login; "CPU/start" comes from 200 login starts alone, so the callback's share is the difference.`)
  p()
  p('| | logins/s | p50 round trip | p99 round trip | p50 callback | CPU/login | CPU/start | CPU/callback |')
  p('|---|---:|---:|---:|---:|---:|---:|---:|')
  for (const k of Object.keys(lg)) {
    const cb = median(lg[k].map((r, i) => r.cpuMsPerLogin - R.starts[k][i].cpuMsPerStart))
    p(`| ${TARGETS[k].label} | ${fmt(med(lg[k], (r) => r.perSec), 1)} | ${fmt(med(lg[k], (r) => r.p50), 1)} ms | ${fmt(med(lg[k], (r) => r.p99), 1)} ms | ${fmt(med(lg[k], (r) => r.cbP50), 1)} ms | ${fmt(med(lg[k], (r) => r.cpuMsPerLogin), 2)} ms | ${fmt(med(R.starts[k], (s) => s.cpuMsPerStart), 2)} ms | ${fmt(cb, 2)} ms |`)
  }
  if (hasCL) p(`| **(a)/(c)** | **${fmt(ratio(lg.a, lg.c, (r) => r.perSec), 3)}** | ${fmt(ratio(lg.a, lg.c, (r) => r.p50), 2)} | ${fmt(ratio(lg.a, lg.c, (r) => r.p99), 2)} | ${fmt(ratio(lg.a, lg.c, (r) => r.cbP50), 2)} | ${fmt(ratio(lg.a, lg.c, (r) => r.cpuMsPerLogin), 2)} | | |`)
  p()
  const lerr = Object.values(lg).flat().reduce((s, r) => s + r.errors, 0)
  p(`Failed logins: ${lerr}${lerr ? ` (first: ${Object.values(lg).flat().find((r) => r.firstError)?.firstError})` : ''}. Per repetition, logins/s: ${lg.a.map((_, i) => `${i + 1}: ${Object.keys(lg).map((k) => fmt(lg[k][i].perSec, 1)).join(' / ')}`).join('; ')}.`)
  if (hasCL) {
    p()
    p('The two do different work per login, and the ratio includes it: (a) verifies the ID token\'s RS256 signature against')
    p('the JWKS and fetches userinfo (the session carries name and email); @hono/oidc-auth (oauth4webapi 2.x) does not check')
    p('the ID token\'s signature (it relies on TLS to the token endpoint), fetches no userinfo, and fetches discovery again')
    p('at every login start and every callback, since it keeps it for one request only (section 3).')
    p()
    const cpuA = med(lg.a, (r) => r.cpuMsPerLogin), perA = med(lg.a, (r) => r.perSec)
    p(`What bounds the rate is the round trip, not the Worker: at ${fmt(perA, 0)} logins/s, (a)'s ${fmt(cpuA, 2)} ms of workerd CPU per login`)
    p(`keep the serving core ${fmt(perA * cpuA / 10, 0)}% busy, while each login is four sequential requests from the client and`)
    p('two subrequests to the simulator, and the client and the simulator share the other core. (a)\'s callback has one round trip more than')
    p('@hono/oidc-auth\'s (userinfo after the token). Runs before 2026-12-02 showed (a) at 1.7x: the simulator then answered every')
    p('other keep-alive request about 40 ms late (Nagle\'s algorithm against the client\'s delayed ACK), a stall no real provider')
    p('has, which fell more often on @hono/oidc-auth\'s extra discovery fetches. The simulator now sets `TCP_NODELAY`.')
  }
  p()

  p('## 3. What each request costs')
  p()
  p('Subrequests seen by the simulator (`GET /_sim/stats` before and after each run), per request, workerd direct:')
  p()
  p('| | discovery | JWKS | token | userinfo | subrequests to Vipps |')
  p('|---|---:|---:|---:|---:|---:|')
  const simRow = (label, rs, nField) => {
    const n = rs.reduce((s, r) => s + r[nField], 0)
    const v = (ep) => rs.reduce((s, r) => s + (r.sim[ep]?.total ?? 0), 0) / n
    const all = ['discovery', 'jwks', 'token', 'userinfo'].reduce((s, ep) => s + v(ep), 0)
    p(`| ${label} | ${fmtN(v('discovery'))} | ${fmtN(v('jwks'))} | ${fmtN(v('token'))} | ${fmtN(v('userinfo'))} | ${fmtN(all)} |`)
  }
  for (const k of Object.keys(hot)) if (k !== 'b') simRow(`${TARGETS[k].label}: protected request (${fmtInt(hot[k].reduce((s, r) => s + r.requests, 0))})`, hot[k], 'requests')
  for (const k of Object.keys(lg)) simRow(`${TARGETS[k].label}: login, warm (${fmtInt(lg[k].reduce((s, r) => s + r.logins, 0))})`, lg[k], 'logins')
  const first = (label, f) => f && p(`| ${label} | ${f.discovery.total} | ${f.jwks.total} | ${f.token.total} | ${f.userinfo.total} | ${['discovery', 'jwks', 'token', 'userinfo'].reduce((s, e) => s + f[e].total, 0)} |`)
  first('(a): first login of a fresh isolate', R.firstLoginA)
  first('(c): first login of a fresh isolate', R.firstLoginC)
  p()
  if (C) {
    p('KV operations (and subrequests again) of (a), counted in the core: `cargo bench --features testkit --bench costs` drives `App::handle`,')
    p('the code the wasm runs, over a platform that counts every `fetch`, `kv_get` and `kv_put`, with a fake Vipps that')
    p('sends discovery with `max-age=3600` and the JWKS without `Cache-Control`, as the simulator does, on a simulated clock:')
    p()
    p('| Scenario (a) | subrequests | discovery / JWKS / token / userinfo | KV reads | KV writes |')
    p('|---|---:|---:|---:|---:|')
    const row = (label, c) => p(`| ${label} | ${fmtN(c.subrequests)} | ${fmtN(c.discovery)} / ${fmtN(c.jwks)} / ${fmtN(c.token)} / ${fmtN(c.userinfo)} | ${fmtN(c.kv_get)} | ${fmtN(c.kv_put)} |`)
    row(`per protected request (${C.requests})`, C.per_protected_request)
    row(`per login, warm caches (${C.logins})`, C.per_login_warm)
    row('first login of a fresh isolate, KV empty', C.first_login_cold_isolate_empty_kv)
    row('first login of a fresh isolate, KV warm', C.first_login_new_isolate_warm_kv)
    row('per idle hour (a protected request a minute, no login)', C.idle_hour_one_request_per_minute)
    row('per hour with a login every minute (over 3 hours)', C.busy_hours_one_login_per_minute.per_hour)
    p()
    if (C.ciba) {
      const K = C.ciba
      p('Login from phone number (CIBA), counted the same way (`ciba` in the costs output): a merchant system\'s start, its')
      p('polls at `interval` (each poll one request to the Worker), and `login_to_webpage` (the start, then the phone\'s')
      p('browser at the callback). Subrequests per request stay far below the free plan\'s 50: a poll makes one token call, the')
      p('successful one also a userinfo call (discovery and the JWKS come from the cache).')
      p()
      p('| Scenario (a), CIBA | subrequests | backchannel / token / userinfo | discovery / JWKS | KV reads | KV writes |')
      p('|---|---:|---:|---:|---:|---:|')
      const crow = (label, c) => p(`| ${label} | ${fmtN(c.subrequests)} | ${fmtN(c.backchannel)} / ${fmtN(c.token)} / ${fmtN(c.userinfo)} | ${fmtN(c.discovery)} / ${fmtN(c.jwks)} | ${fmtN(c.kv_get)} | ${fmtN(c.kv_put)} |`)
      crow(`per login, warm caches: start, one pending poll, the successful poll (${C.logins})`, K.per_login_warm_one_pending_poll)
      crow('a start and one pending poll', K.start_plus_one_pending_poll)
      crow('`login_to_webpage`: start and the phone browser\'s callback', K.login_to_webpage_warm)
      crow('first CIBA login of a fresh isolate, KV empty', K.first_login_cold_isolate)
      p()
    }
    if (C.apps) {
      const A = C.apps
      p('Automatic return and native apps (`LOGIN_FLOWS`), counted the same way (`apps` in the costs output). The default browser')
      p('login above stays at zero KV writes; these flows keep their login in KV (keyed by a hash of `state`), as the README says.')
      p()
      p('| Scenario (a), apps | subrequests | token / userinfo | KV reads | KV writes | KV deletes |')
      p('|---|---:|---:|---:|---:|---:|')
      const arow = (label, c) => p(`| ${label} | ${fmtN(c.subrequests)} | ${fmtN(c.token)} / ${fmtN(c.userinfo)} | ${fmtN(c.kv_get)} | ${fmtN(c.kv_put)} | ${fmtN(c.kv_delete)} |`)
      arow('automatic return, back in the same browser (start, callback)', A.automatic_return_same_browser)
      arow('automatic return, back in another browser (start, callback, "Continue as" confirmed)', A.automatic_return_other_browser_confirmed)
      arow('native app login (`/auth/app/start`, callback, `/auth/app/token`)', A.native_app_login)
      arow(`per protected request with a bearer session (${C.requests})`, A.per_protected_request_bearer)
      p()
    }
    p('An idle hour makes no subrequest. Its KV reads are the session\'s revocation check (consent revocation, logout for good):')
    p('two reads (the user\'s record and the session\'s) once per `SESSION_RECHECK` (240 s) for a browser, which keeps the cookie')
    p('the Worker re-issues after each check, as the costs harness does. Discovery and the JWKS are needed only to start or finish a login, and are refetched')
    p('lazily, once per max-age, by the first login that finds them stale. That login first looks in KV (a read each) and,')
    p('finding the copy stale too, fetches and stores it (a write each): 2 KV reads, 2 fetches and 2 KV writes per busy hour.')
    p()
  }

  p('## 4. Size and start')
  p()
  p('| | wasm | wasm gzip -9 | bundle | bundle gzip -9 | wrangler\'s "Total Upload" |')
  p('|---|---:|---:|---:|---:|---:|')
  for (const k of KEYS) {
    const s = R.size[k]
    const wk = s.bundle.wranglerKiB ? `${s.bundle.wranglerKiB.raw} KiB / gzip ${s.bundle.wranglerKiB.gzip} KiB` : 'n/a'
    p(`| ${TARGETS[k].label} | ${s.wasmRaw ? fmtInt(s.wasmRaw) + ' B' : '—'} | ${s.wasmGzip ? fmtInt(s.wasmGzip) + ' B' : '—'} | ${fmtInt(s.bundle.raw)} B | ${fmtInt(s.bundle.gzip)} B | ${wk} |`)
  }
  p()
  p(`The bundle is what \`wrangler deploy --dry-run --outdir\` writes, without source maps: ${KEYS.map((k) => `${TARGETS[k].short} ${R.size[k].bundle.files.map((f) => `\`${f.replace(/^[0-9a-f]{40}-/, '')}\``).join(' + ')}`).join('; ')}.`)
  p()
  p(`Start: from spawning a fresh server (a new workerd process, so a fresh isolate that compiles the module and instantiates the wasm) to the first \`200\` of \`GET ${PROTECTED}\` with a session, polled every 20 ms; ${OPT.startReps} repetitions, interleaved. The fixed part (starting Node and workerd; for wrangler dev also bundling and the dev proxy) is the same for all three; the difference to (b) is what a Worker adds. "Next request" is the one right after, on the warm isolate.`)
  p()
  p('| | workerd direct: spawn to first 200 | next request | wrangler dev: spawn to first 200 | next request |')
  p('|---|---:|---:|---:|---:|')
  const S = R.start
  for (const k of Object.keys(S.direct)) {
    p(`| ${TARGETS[k].label} | ${fmtInt(med(S.direct[k], (s) => s.readyMs))} ms | ${fmt(med(S.direct[k], (s) => s.secondMs), 1)} ms | ${fmtInt(med(S.dev[k], (s) => s.readyMs))} ms | ${fmt(med(S.dev[k], (s) => s.secondMs), 1)} ms |`)
  }
  const dd = (kind, x) => median(S[kind][x].map((s, i) => s.readyMs - S[kind].b[i].readyMs))
  p(`| (a) − (b), per repetition | ${fmtInt(dd('direct', 'a'))} ms | | ${fmtInt(dd('dev', 'a'))} ms | |`)
  if (S.direct.c) p(`| (c) − (b), per repetition | ${fmtInt(dd('direct', 'c'))} ms | | ${fmtInt(dd('dev', 'c'))} ms | |`)
  p()

  p('## 5. CPU in the core (native, criterion)')
  p()
  p(`\`cargo bench --bench core\`, natively on the machine above, with the release profile's code generation (the wasm is built with: ${M.profile}): median and its 95% interval, next to the physical reference, the one operation the step cannot avoid.`)
  p()
  p('| Benchmark | median | 95% interval | reference | x reference |')
  p('|---|---:|---:|---|---:|')
  const H = 'reference/hmac_sha256_over_session_cookie', RS = 'reference/rs256_signature_check_only'
  const refs = [
    ['session/verify', H, 'one HMAC-SHA256 over the cookie'],
    ['app/protected_request', H, 'a cookie the isolate verified before: no HMAC, the kept session (times and revocations checked)'],
    ['app/protected_request_first', H, 'the same cookie\'s first request in an isolate: one HMAC-SHA256 over the cookie, its decode'],
    ['app/protected_request_bearer', H, 'a native app\'s request with its bearer session (a token verified before)'],
    ['session/issue', H, 'one HMAC-SHA256 over the cookie'],
    ['id_token/verify_rs256_2048', RS, 'the bare RS256 check: one RSA-2048 public operation and a SHA-256'],
    ['app/callback_warm', RS, 'the bare RS256 check'],
    ['authorize/build_url', null, 'URL encoding and one SHA-256 (the PKCE S256 challenge)'],
    ['app/login_start', null, 'a random state, two HMAC derivations, one HMAC signature, the URL'],
    ['jwks/parse_one_rsa_2048_key', null, 'once per JWKS fetch (an hour), not per login'],
    ['ciba/poll_too_early', H, 'a CIBA poll before `interval`: API key, handle HMAC, no call'],
    ['ciba/poll_pending', H, 'a CIBA poll while the user has not answered: one token call, a new handle'],
    ['ciba/poll_success', RS, 'the successful CIBA poll: the bare RS256 check'],
    [H, null, 'HMAC-SHA256 over the session cookie\'s MAC input'],
    [RS, null, 'jwt-compact RS256 signature validation, untyped claims'],
  ]
  for (const [id, ref, what] of refs) {
    const c = cr[id]
    if (!c) { p(`| \`${id}\` | n/a | | ${what} | |`); continue }
    p(`| \`${id}\` | ${t(c.median)} | ${t(c.lo)} – ${t(c.hi)} | ${what} | ${ref && cr[ref] ? fmt(c.median / cr[ref].median, 2) : ''} |`)
  }
  p()
  p('`app/*` are whole requests through `App::handle` with warm caches and a fake Vipps answering in-process: the hot path,')
  p('the login start, and the callback (state check, token response, ID-token verification, userinfo, session cookie). The')
  p('RS256 verification is nearly all of the callback\'s CPU in Rust; the Worker has WebCrypto make it (below).' + (M.shaNi ? '' : ' This CPU has no SHA extensions, so SHA-256 and HMAC run in portable code.'))
  p()
  if (R.wasmCore) {
    const W = R.wasmCore
    p(`**The same, in wasm in workerd.** \`bench/wasmcore\` compiles the same core (same release profile, wasm-bindgen and wasm-opt flags`)
    p('as worker-build uses for the Worker) into a Worker that runs `App::handle` in a loop inside one request; the figure is the workerd')
    p('process\'s CPU time (per-thread run time from /proc) per iteration, less that of an empty request, median of 5. This is')
    p('the CPU the Worker itself spends, as the Workers CPU limit counts it, without the runtime\'s own HTTP work. The Worker has')
    p('the ID token\'s RS256 check made by the runtime\'s WebCrypto (`Platform::verify_rs256`, `src/edge/js.rs`; the Rust check is')
    p('the fallback when WebCrypto cannot decide), so its callback costs the last two rows together.')
    p()
    p('| Step | wasm in workerd | native | wasm / native | x reference (in wasm) |')
    p('|---|---:|---:|---:|---:|')
    const rows = [
      ['hmac', H, 'reference: HMAC-SHA256 over the session cookie', null],
      ['protected', 'app/protected_request', 'protected request (hot path; a cookie the isolate verified before)', 'hmac'],
      ['protected_first', 'app/protected_request_first', 'the same, the cookie\'s first request in the isolate (its HMAC and decode)', 'hmac'],
      ['login_start', 'app/login_start', 'login start', null],
      ['id_token', 'id_token/verify_rs256_2048', 'ID-token verify (RS256, 2048)', null],
      ['callback', 'app/callback_warm', 'callback (warm caches), RS256 in Rust', 'id_token'],
      ['callback_runtime_crypto', null, 'callback (warm caches), without the RS256 check (the Worker has WebCrypto make it)', null],
      ['webcrypto_rs256', null, 'the RS256 check by WebCrypto (JS, key imported once)', null],
      ['url_parse', null, 'the edge\'s first step: the request URL parsed (`url`)', null],
      ['url_decide', null, 'the same, and its route decided', null],
      ['origin_plain', null, 'protected request forwarded to an origin (`BACKEND` a URL, claim headers), no assertion', 'hmac'],
      ['origin_assertion', null, 'the same with the signed identity assertion, reused while fresh', 'origin_plain'],
      ['webcrypto_sign_rs256', null, 'signing a new assertion: RS256 by WebCrypto (JS, key imported once)', null],
    ]
    for (const [op, nat, label, ref] of rows) {
      const w = W[op]?.ns, n = nat ? ns(nat) : NaN
      if (!Number.isFinite(w)) continue
      p(`| ${label} | ${t(w)} | ${nat ? t(n) : ''} | ${nat ? fmt(w / n, 2) : ''} | ${ref ? fmt(w / W[ref].ns, 2) : ''} |`)
    }
    p()
    if (W.origin_assertion && W.origin_plain && W.webcrypto_sign_rs256) {
      const extra = W.origin_assertion.ns - W.origin_plain.ns, sign = W.webcrypto_sign_rs256.ns
      p(`**The identity assertion on the origin path.** With \`IDENTITY_ASSERTION_KEYS\` set, every request forwarded to an origin carries`)
      p(`\`Vipps-Login-Assertion\`, a short-lived RS256 JWT. An isolate signs it once per session and reuses it while more than half its`)
      p(`lifetime (\`IDENTITY_ASSERTION_TTL\`, default 60 s) is left, so a reused assertion costs ${t(extra)} in wasm per request`)
      p(`(${t(W.origin_assertion.ns)} against ${t(W.origin_plain.ns)} without one), and a new one ${t(sign)} of WebCrypto signing (RSA-2048), at most once`)
      p(`per session, isolate and 30 s: a user clicking every second for 30 s costs ${t(extra + sign / 30)} more per request on average.`)
      p()
    }
  } else if (R.wasmCoreError) {
    p(`The wasm-in-workerd measurement failed: ${R.wasmCoreError}`)
    p()
  }

  p('## Commands')
  p()
  p('```sh')
  p('make bench    # = bash scripts/bench.sh: setup, builds, then node bench/run.mjs, which runs the rest')
  p('bash scripts/setup.sh && bash scripts/build.sh          # (a) build/worker/shim.mjs + build/index_bg.wasm')
  p('cargo build --release -p vipps-sim')
  p('(cd bench/noop && CARGO_TARGET_DIR=../../target/bench-noop worker-build --release)   # (b), with scripts/build.sh\'s WASM_BINDGEN_BIN, ESBUILD_BIN, WASM_OPT_BIN')
  p('(cd bench/hono && npm ci)                                # (c)')
  p('cargo bench --features testkit --bench core              # 5.')
  p('cargo bench --features testkit --bench costs             # 3. (KV and subrequest counts in the core)')
  p('bash bench/wasmcore/build.sh                             # 5. the core in wasm (served like the others)')
  p('node_modules/.bin/wrangler deploy --dry-run --outdir DIR --config CONFIG    # 4. sizes; DIR is what "direct" serves')
  p(R.commands.sim)
  for (const k of KEYS) p(R.commands.direct[k])
  for (const k of KEYS) p(R.commands.dev[k])
  p(`${R.wrkCommand}    # 1., per target and repetition`)
  p('```')
  p()
  p('(a) runs the root `wrangler.toml` with its `[build]` section removed and `main` pointing at a copy of `build/` taken at')
  p('the start, so that an edit to `src/` during the run cannot rebuild and reload the Worker being measured. The raw results')
  p('of this run are in `target/bench-results.json` (`BENCH_KEEP_TMP=1` keeps the servers\' logs and bundles).')
  p()
  return L.join('\n')
}
function fmtN(x) { return Number.isInteger(x) ? String(x) : fmt(x, 2) }
function sumSimA(R, ep) {
  let t = R.firstLoginA?.[ep]?.total ?? 0
  for (const r of [...R.hot.a, ...R.hotDev.a]) t += r.sim[ep]?.total ?? 0
  for (const r of R.logins.a) t += r.sim[ep]?.total ?? 0
  for (const r of R.starts.a) t += r.sim[ep]?.total ?? 0
  return t
}

main().catch((e) => { console.error(e.stack || String(e)); console.error(`logs: ${TMP}`); stopAll(); process.exit(1) })
