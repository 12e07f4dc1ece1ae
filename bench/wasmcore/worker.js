// Drives the wasm core (bench/wasmcore) inside workerd: POST /setup (JWKS), POST /token (token
// response), then GET /run?op=...&n=... runs the Worker's handler n times in one request.
import wasmModule from './pkg/bench_wasm_core_bg.wasm'
import { initSync, setup, set_token, run } from './pkg/bench_wasm_core.js'

initSync({ module: wasmModule })

export default {
  async fetch(request) {
    const url = new URL(request.url)
    if (url.pathname === '/setup') {
      const { jwks, now } = await request.json()
      return new Response(setup(JSON.stringify(jwks), now), { headers: { 'content-type': 'application/json' } })
    }
    if (url.pathname === '/token') {
      return Response.json({ status: set_token(await request.text()) })
    }
    if (url.pathname === '/run') {
      const n = Number(url.searchParams.get('n') || 1)
      return Response.json({ ok: run(url.searchParams.get('op') || 'noop', n), n })
    }
    return new Response('not found', { status: 404 })
  },
}
