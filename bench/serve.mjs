#!/usr/bin/env node
// Serves one Worker bundle in local workerd through Miniflare (the library `wrangler dev` uses),
// without wrangler's dev proxy and per-request logging: one workerd process running exactly what
// `wrangler deploy --dry-run --outdir` produced, with the same static assets, vars and KV binding.
//
//   node bench/serve.mjs SPEC.json        prints "ready http://127.0.0.1:PORT/" and serves until killed
//
// SPEC: {"dir", "main", "port", "compatibilityDate", "compatibilityFlags", "assets",
//        "bindings": {name: string}, "kv": [binding], "persist": dir, "inspectorPort", "name"}

import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const { Miniflare } = await import(path.join(ROOT, 'node_modules/miniflare/dist/src/index.js'))

const spec = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'))
const mf = new Miniflare({
  host: '127.0.0.1',
  port: spec.port,
  modules: true,
  scriptPath: path.join(spec.dir, spec.main),
  modulesRoot: spec.dir,
  modulesRules: [{ type: 'CompiledWasm', include: ['**/*.wasm'] }, { type: 'ESModule', include: ['**/*.js', '**/*.mjs'] }],
  compatibilityDate: spec.compatibilityDate,
  compatibilityFlags: spec.compatibilityFlags ?? [],
  bindings: spec.bindings ?? {},
  kvNamespaces: Object.fromEntries((spec.kv ?? []).map((b) => [b, b])),
  kvPersist: spec.persist ? path.join(spec.persist, 'kv') : undefined,
  assets: {
    directory: spec.assets,
    binding: 'ASSETS',
    // run_worker_first = true, as in every wrangler.toml here.
    routerConfig: { has_user_worker: true, invoke_user_worker_ahead_of_assets: true },
  },
  logRequests: false,
  // For the CPU profiles of section 2 (V8's sampling profiler over the inspector protocol).
  ...(spec.inspectorPort ? { inspectorPort: spec.inspectorPort } : {}),
  name: spec.name ?? 'worker',
})
const url = await mf.ready
console.log(`ready ${url.href}`)
const stop = async () => { try { await mf.dispose() } finally { process.exit(0) } }
process.on('SIGTERM', stop)
process.on('SIGINT', stop)
