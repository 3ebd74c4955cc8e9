import { spawn } from 'node:child_process'
import { once } from 'node:events'
import http from 'node:http'
import { fileURLToPath } from 'node:url'
import { freePort, request } from '@stack/testing'
import { describe, expect, it } from 'vitest'

// runService as a real process: a service without a database (test/fixtures/service), so what is
// checked is the boot every service shares, not the API's.
const SERVER = fileURLToPath(new URL('fixtures/service/server.mjs', import.meta.url))

async function start(env: Record<string, string>) {
  const port = await freePort()
  const child = spawn(process.execPath, [SERVER], {
    env: {
      PATH: process.env.PATH ?? '',
      HOST: '127.0.0.1',
      PORT: String(port),
      SHUTDOWN_DELAY_MS: '0',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (d) => {
    stdout += d
  })
  child.stderr.on('data', (d) => {
    stderr += d
  })
  const exited = once(child, 'exit').then(([code]) => code as number | null)
  const lines = () =>
    stdout
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>)
  /** Polls until the server answers (a bound for a hang: a loaded machine starts slowly). */
  async function answering() {
    const deadline = performance.now() + 60_000
    for (;;) {
      const res = await request(`http://127.0.0.1:${port}/health/live`).catch(() => undefined)
      if (res?.status === 200) return
      if (child.exitCode !== null || performance.now() > deadline)
        throw new Error(`not answering; exit ${child.exitCode}; stderr: ${stderr}`)
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
  }
  return { child, port, exited, lines, stderr: () => stderr, answering }
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
    const bodies: string[] = []
    const collector = http.createServer((req, res) => {
      let body = ''
      req.on('data', (chunk) => {
        body += chunk
      })
      req.on('end', () => {
        bodies.push(body)
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}')
      })
    })
    await new Promise<void>((resolve) => collector.listen(0, '127.0.0.1', resolve))
    const { port } = collector.address() as { port: number }
    const server = await start({
      METRICS_ENABLED: 'false',
      OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}`,
    })
    try {
      await server.answering()
      expect((await fetch(`http://127.0.0.1:${server.port}/v1/hello`)).status).toBe(200)
      server.child.kill('SIGTERM')
      expect(await server.exited).toBe(0)
      const all = bodies.join('\n')
      expect(all).toContain('"name":"GET /v1/hello"')
      expect(all).toMatch(/"key":"service\.name","value":\{"stringValue":"fixture"\}/)
      // Its log lines carry the trace they were written in.
      expect(
        server.lines().find((l) => l.msg === 'request completed' && l.url === '/v1/hello'),
      ).toHaveProperty('trace_id')
    } finally {
      server.child.kill('SIGKILL')
      collector.close()
    }
  })
})
