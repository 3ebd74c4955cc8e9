import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { processStats, sampleRss, spawnServer, waitForStatus } from '../src/index.js'

const FIXTURE = fileURLToPath(new URL('./fixtures/server.mjs', import.meta.url))

describe('spawnServer', () => {
  it('runs the entry on free loopback ports, parses its pino lines and stops it with a signal', async () => {
    process.env.STACK_HARNESS_LEAK = 'from the test process'
    const server = await spawnServer({ entry: FIXTURE })
    try {
      const listening = await server.waitForLine('listening')
      expect(listening).toMatchObject({
        host: '127.0.0.1',
        port: String(server.port),
        metricsPort: String(server.metricsPort),
        // Only what the test gives reaches the process.
        leaked: null,
      })
      expect(server.port).not.toBe(server.metricsPort)
      expect(server.url).toBe(`http://127.0.0.1:${server.port}`)
      expect(server.output()).toContain('a line that is not JSON')
      expect((await server.waitForOutput(/a line that is (\w+) JSON/))[1]).toBe('not')
      expect(server.lines().map((l) => l.msg)).toEqual(['listening'])

      // Three 503s first: the wait goes on through them and returns the 200.
      const ready = await waitForStatus(`${server.url}/ready`, 200, { intervalMs: 10 })
      expect(ready.body).toBe('ok /ready')

      const exit = await server.stop()
      expect(exit).toMatchObject({ code: 0, signal: null })
      // exited resolves once stdout is read to its end: the last line is there.
      expect(server.lines().at(-1)).toMatchObject({ msg: 'shutdown complete' })
    } finally {
      delete process.env.STACK_HARNESS_LEAK
      await server.stop('SIGKILL')
    }
  })

  it('rejects a wait for a line, or for a status, once the process has exited, with its stderr', async () => {
    const server = await spawnServer({ entry: FIXTURE, env: { FAIL_AT_START: '1' } })
    await expect(server.waitForLine('listening')).rejects.toThrow(
      /exited before log "listening"; stderr: fixture: told to fail/,
    )
    await expect(server.waitForOutput(/listening/)).rejects.toThrow(/exited before printing/)
    expect((await server.exited).code).toBe(3)
    await expect(waitForStatus(server.url, 200, { server })).rejects.toThrow(/exited \(3\).*told to fail/s)
  })

  it('runs a whole command without ports, and keeps the env it is given', async () => {
    const cli = await spawnServer({
      command: [
        process.execPath,
        '-e',
        'console.log(JSON.stringify({ msg: "env", port: process.env.PORT ?? null, x: process.env.X }))',
      ],
      env: { X: 'y' },
      ports: false,
    })
    expect((await cli.exited).code).toBe(0)
    expect(cli.lines()).toEqual([{ msg: 'env', port: null, x: 'y' }])
  })

  it('refuses to start what cannot be started', async () => {
    await expect(spawnServer({ command: ['/nonexistent/binary'], ports: false })).rejects.toThrow(
      /cannot start \/nonexistent\/binary: .*ENOENT/,
    )
  })
})

describe('processStats', () => {
  it("reads a live process's memory and CPU time from /proc, and NaN once it is gone", async () => {
    const server = await spawnServer({ entry: FIXTURE })
    await server.waitForLine('listening')
    const stats = processStats(server.pid)
    expect(stats.rssBytes).toBeGreaterThan(1024 * 1024)
    expect(stats.peakRssBytes).toBeGreaterThanOrEqual(stats.rssBytes)
    expect(stats.cpuSeconds).toBeGreaterThan(0)
    const sampler = sampleRss(server.pid, 10)
    await waitForStatus(server.url, 200)
    const samples = sampler.stop()
    expect(samples.length).toBeGreaterThanOrEqual(2)
    expect(sampler.max()).toBeGreaterThan(1024 * 1024)
    await server.stop()
    expect(processStats(server.pid)).toEqual({ rssBytes: NaN, peakRssBytes: NaN, cpuSeconds: NaN })
  })
})
