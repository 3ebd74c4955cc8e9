import { fileURLToPath } from 'node:url'
import { otlpReceiver, request, spawnServer, waitForStatus } from '@stack/testing'
import { describe, expect, it } from 'vitest'

// runService as a real process: a service without a database (test/fixtures/service), so what is
// checked is the boot every service shares, not the API's.
const SERVER = fileURLToPath(new URL('fixtures/service/server.mjs', import.meta.url))

async function start(env: Record<string, string>) {
  const server = await spawnServer({ entry: SERVER, env: { SHUTDOWN_DELAY_MS: '0', ...env } })
  const exited = server.exited.then((e) => e.code)
  return { ...server, exited, answering: () => waitForStatus(`${server.url}/health/live`, 200) }
}

describe('runService', () => {
  it('a configuration error: exit 2 and one line `<name>: <message>` on stderr, nothing else', async () => {
    const server = await start({ PORT: 'eighty', LOG_LEVEL: 'loud' })
    expect(await server.exited).toBe(2)
    expect(server.stderr()).toMatch(/^fixture: invalid configuration: [^\n]*PORT[^\n]*LOG_LEVEL[^\n]*\n$/)
    expect(server.lines()).toEqual([])
  })

  it('listens, logs as the service, and exits 0 after SIGTERM', async () => {
    const server = await start({ METRICS_ENABLED: 'false' })
    try {
      await server.answering()
      expect((await request(`http://127.0.0.1:${server.port}/v1/hello`)).status).toBe(200)
      server.child.kill('SIGTERM')
      expect(await server.exited).toBe(0)
      expect(server.lines().find((l) => l.msg === 'listening')).toMatchObject({ service: 'fixture' })
      expect(server.lines().at(-1)).toMatchObject({ msg: 'shutdown complete' })
    } finally {
      server.child.kill('SIGKILL')
    }
  })

  it('traces a service that has no database too, named after it, when OTEL_EXPORTER_OTLP_ENDPOINT is set', async () => {
    const collector = await otlpReceiver()
    const server = await start({ METRICS_ENABLED: 'false', OTEL_EXPORTER_OTLP_ENDPOINT: collector.url })
    try {
      await server.answering()
      expect((await fetch(`http://127.0.0.1:${server.port}/v1/hello`)).status).toBe(200)
      server.child.kill('SIGTERM')
      expect(await server.exited).toBe(0)
      const all = collector.posts.map((p) => p.body).join('\n')
      expect(all).toContain('"name":"GET /v1/hello"')
      expect(all).toMatch(/"key":"service\.name","value":\{"stringValue":"fixture"\}/)
      // Its log lines carry the trace they were written in.
      expect(
        server.lines().find((l) => l.msg === 'request completed' && l.url === '/v1/hello'),
      ).toHaveProperty('trace_id')
    } finally {
      server.child.kill('SIGKILL')
      await collector.close()
    }
  })
})
