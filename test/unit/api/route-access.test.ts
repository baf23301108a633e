// Every route declares its access: registering one without `config.access` fails at start, and the
// declared routes get the answers every route may give in their schemas.
import Fastify from 'fastify'
import { describe, expect, it } from 'vitest'
import { declareRouteAccess } from '../../../api/app.js'

describe('declareRouteAccess', () => {
  it('refuses a route that declares no access, naming it', async () => {
    const app = Fastify()
    declareRouteAccess(app, false)
    expect(() => app.get('/open-by-mistake', async () => 'x')).toThrow(
      /GET \/open-by-mistake declares no access/,
    )
    await app.close()
  })

  it('lists declared routes with their access and adds the shared answers to their schemas', async () => {
    const app = Fastify()
    const declared = declareRouteAccess(app, true)
    let schema: Record<string, unknown> | undefined
    app.addHook('onRoute', (route) => {
      if (route.url === '/things/:id' && route.method === 'GET')
        schema = route.schema as Record<string, unknown>
    })
    app.addSchema({ $id: 'Error', type: 'object' })
    app.get(
      '/things/:id',
      {
        config: { access: 'operator' },
        schema: { params: { type: 'object', properties: { id: { type: 'string' } } } },
      },
      async () => 'x',
    )
    app.get('/open', { config: { access: 'public' } }, async () => 'x')
    await app.ready()
    expect(declared).toEqual([
      { method: 'GET', url: '/things/:id', access: 'operator' },
      { method: 'GET', url: '/open', access: 'public' },
    ])
    expect(Object.keys(schema?.response as object).sort()).toEqual([
      '400',
      '401',
      '403',
      '414',
      '429',
      '500',
      '503',
    ])
    expect(schema?.security).toEqual([{ bearer: [] }, { oauth2: [] }])
    await app.close()
  })
})
