// Comparison for `make bench`: @hono/oidc-auth protecting the same static assets on workerd.
// Configuration comes from the environment (OIDC_ISSUER, OIDC_CLIENT_ID, OIDC_CLIENT_SECRET,
// OIDC_AUTH_SECRET, OIDC_REDIRECT_URI, OIDC_SCOPES, OIDC_AUTH_REFRESH_INTERVAL), passed by
// bench/run.mjs with `wrangler dev --var`. The pattern is the package README's Cloudflare one.
import { Hono } from 'hono'
import { oidcAuthMiddleware } from '@hono/oidc-auth'

const app = new Hono()

app.use('*', oidcAuthMiddleware())
app.get('*', async (c) => {
  const response = await c.env.ASSETS.fetch(c.req.raw)
  // Asset responses have immutable headers; the middleware sets Cache-Control on the way out.
  return new Response(response.body, response)
})

export default app
