// Drives the wasm core (bench/wasmcore) inside workerd: POST /setup (JWKS), POST /token (token
// response), then GET /run?op=...&n=... runs the Worker's handler n times in one request.
import wasmModule from './pkg/bench_wasm_core_bg.wasm'
import { initSync, setup, set_token, setup_origin, run } from './pkg/bench_wasm_core.js'

initSync({ module: wasmModule })

// The RS256 check as the Worker makes it on the callback (src/edge/js.rs): WebCrypto, the key
// imported once.
let rsa = null
async function webcryptoRs256(n) {
  const { jwk, token } = rsa
  const key = await crypto.subtle.importKey('jwk', { kty: 'RSA', n: jwk.n, e: jwk.e, alg: 'RS256', ext: true },
    { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' }, false, ['verify'])
  const i = token.lastIndexOf('.')
  const data = new TextEncoder().encode(token.slice(0, i))
  const sig = Uint8Array.from(atob(token.slice(i + 1).replace(/-/g, '+').replace(/_/g, '/')), (c) => c.charCodeAt(0))
  let ok = 0
  for (let k = 0; k < n; k++) ok += (await crypto.subtle.verify('RSASSA-PKCS1-v1_5', key, sig.slice(), data.slice())) ? 1 : 0
  return ok
}

// The identity assertion's signature as the Worker makes it for the origin (src/edge/js.rs,
// edge_sign_rs256): WebCrypto RS256 with our PKCS#8 key, imported once; a JWT-sized input.
let signerDer = null
async function webcryptoSignRs256(n) {
  const key = await crypto.subtle.importKey('pkcs8', signerDer, { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' }, true, ['sign'])
  const data = new TextEncoder().encode('x'.repeat(600))
  let ok = 0
  for (let k = 0; k < n; k++) ok += (await crypto.subtle.sign('RSASSA-PKCS1-v1_5', key, data.slice())).byteLength === 256 ? 1 : 0
  return ok
}

export default {
  async fetch(request) {
    const url = new URL(request.url)
    if (url.pathname === '/setup') {
      const { jwks, now } = await request.json()
      rsa = { jwk: jwks.keys[0], token: null }
      return new Response(setup(JSON.stringify(jwks), now), { headers: { 'content-type': 'application/json' } })
    }
    if (url.pathname === '/token') {
      const body = await request.text()
      rsa.token = JSON.parse(body).id_token
      return Response.json({ status: set_token(body) })
    }
    if (url.pathname === '/origin') {
      const { pem } = await request.json()
      const b64 = pem.replace(/-----[^-]+-----/g, '').replace(/\s/g, '')
      signerDer = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0))
      return Response.json({ ok: setup_origin(pem) })
    }
    if (url.pathname === '/run') {
      const n = Number(url.searchParams.get('n') || 1)
      if (url.searchParams.get('op') === 'webcrypto_sign_rs256') return Response.json({ ok: await webcryptoSignRs256(n), n })
      if (url.searchParams.get('op') === 'webcrypto_rs256') return Response.json({ ok: await webcryptoRs256(n), n })
      return Response.json({ ok: run(url.searchParams.get('op') || 'noop', n), n })
    }
    return new Response('not found', { status: 404 })
  },
}
