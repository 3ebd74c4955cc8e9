import { describe, expect, it } from 'vitest'
import {
  appServices,
  composeArgs,
  type Model,
  migratorOf,
  proxyTarget,
  replicasOf,
  tagVariable,
} from '../src/compose.ts'
import { RolloutError } from '../src/errors.ts'

// The shape `docker compose config --format json` gives for the root compose.yaml (api, its
// one-shots, PostgreSQL, Traefik).
const model: Model = {
  name: 'stack',
  services: {
    api: {
      image: 'stack/api:v1',
      build: { context: '.' },
      restart: 'unless-stopped',
      deploy: { replicas: 3 },
      depends_on: {
        postgres: { condition: 'service_healthy' },
        'migrate-api': { condition: 'service_completed_successfully' },
      },
      labels: { 'traefik.http.routers.api.rule': 'Host(`api.example.test`)' },
    },
    'migrate-api': { image: 'stack/api:v1', build: { context: '.' }, restart: 'no' },
    'createdb-api': { image: 'postgres:18', restart: 'no' },
    postgres: { image: 'postgres:18', restart: 'unless-stopped' },
    traefik: {
      image: 'traefik:v3.7',
      restart: 'unless-stopped',
      ports: [
        { target: 80, published: '8080' },
        { target: 443, published: '8443' },
      ],
    },
  },
}

describe('the compose model', () => {
  it('app services are the built, long-running ones', () => {
    expect(appServices(model)).toEqual(['api'])
  })

  it('the migrator is the completed one-shot of the same image', () => {
    expect(migratorOf(model, 'api')).toBe('migrate-api')
    expect(
      migratorOf(
        { ...model, services: { ...model.services, 'migrate-api': { image: 'other:1', restart: 'no' } } },
        'api',
      ),
    ).toBeUndefined()
  })

  it('the tag variable comes from the image before interpolation', () => {
    expect(tagVariable(`stack/api:${'$'}{API_TAG:-local}`, 'api')).toBe('API_TAG')
    expect(tagVariable(`registry.example.com/stack/order-items:${'$'}{ORDER_ITEMS_TAG}`, 'x')).toBe(
      'ORDER_ITEMS_TAG',
    )
    expect(() => tagVariable('stack/api:latest', 'api')).toThrow(RolloutError)
    expect(() => tagVariable('stack/api:latest', 'api')).toThrow(/has no tag variable/)
  })

  it('replicas from deploy.replicas', () => {
    expect(replicasOf(model, 'api')).toBe(3)
    expect(replicasOf(model, 'postgres')).toBe(1)
    expect(() => replicasOf({ name: 'x', services: { a: { deploy: { replicas: 'x' } } } }, 'a')).toThrow(
      /not a positive number/,
    )
  })

  it("the proxy target is Traefik's published HTTPS port with the router's host", () => {
    expect(proxyTarget(model, 'api', '/health/ready')).toEqual({
      url: 'https://127.0.0.1:8443/health/ready',
      host: 'api.example.test',
    })
    const { traefik: _, ...withoutProxy } = model.services
    expect(proxyTarget({ ...model, services: withoutProxy }, 'api', '/')).toBeUndefined()
  })

  it("passes the operator's compose flags through", () => {
    expect(
      composeArgs({ project: 'p', files: ['a.yaml'], envFiles: ['.env.prod'], projectDirectory: '/srv' }, [
        'ps',
      ]),
    ).toEqual([
      'compose',
      '-p',
      'p',
      '--project-directory',
      '/srv',
      '--env-file',
      '.env.prod',
      '-f',
      'a.yaml',
      'ps',
    ])
  })
})
