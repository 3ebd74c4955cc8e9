// pnpm --filter @stack/bench run reliability:doc: rewrites the scenarios section of
// docs/reliability.md from the figures the last `pnpm test:reliability` kept in results/reliability/.
import { readFile, writeFile } from 'node:fs/promises'

interface Figures {
  scenario: string
  summary: string
  date: string
  machine: string
  node: string
}

const SCENARIOS: { id: string; title: string; proves: string; how: string; bar: string }[] = [
  {
    id: 'sigterm',
    title: 'SIGTERM under keep-alive load',
    proves:
      'A rolling update loses nothing: requests in flight at SIGTERM finish, readiness turns 503 at once, and the replica keeps serving through SHUTDOWN_DELAY_MS until the proxy has stopped sending; then it exits 0.',
    how: '64 keep-alive connections (3 reads : 1 write of 500 characters) from one http.Agent. A proxy is modelled: it polls /health/ready every 500 ms on a fresh connection, needs 2 failures, then takes 500 ms to stop sending. SHUTDOWN_DELAY_MS=3000. Shedding on event-loop utilisation is off here (64 closed-loop connections hold one core at 100 %, which overload.test.ts covers).',
    bar: '0 failed requests (non-2xx or socket error); exit code 0; exit within the delay + 2 s; the proxy stopped sending before the listener closed.',
  },
  {
    id: 'postgres-restart',
    title: 'PostgreSQL restarted under load',
    proves:
      'The database going away is an outage of the database, not of the process: no crash, no 500, no socket error; every failed request is a 503 problem+json with Retry-After; liveness stays 200 throughout, readiness is 503 while the database is down; the pool reconnects by itself.',
    how: 'A PostgreSQL server of its own (startPostgres({ external: true })), 32 keep-alive connections (2 reads : 1 write), liveness polled every 100 ms, readiness every 250 ms. After 2 s the server is stopped (a graceful docker stop), left down 5 s, started again.',
    bar: 'process alive; 0 responses other than 2xx or 503 problem+json with Retry-After; 0 socket errors; 0 liveness failures; readiness 503 while down; first /v1 2xx within 5 s of PostgreSQL accepting connections again.',
  },
  {
    id: 'overload',
    title: 'Overload: blocking work and memory growth',
    proves:
      'Under more work than one core can do, the API sheds (503 + Retry-After + problem+json) instead of queueing without bound or running out of memory; a kubelet would not restart it (liveness keeps answering within its 2 s timeout); it serves again by itself once the load stops.',
    how: 'The server on one core with a 96 MB old space (--max-old-space-size=96) and low thresholds: PRESSURE_MAX_EVENT_LOOP_DELAY_MS=100, PRESSURE_MAX_HEAP_USED_BYTES=64 MB (idle heapUsed is ~17 MB), sampled every 100 ms. 200 connections for 20 s, half writing 10 000-character notes, half listing 100 of them (~1 MB of JSON per answer); liveness polled every 250 ms with a 2 s timeout. No test-only route.',
    bar: 'process alive, exit 0 on SIGTERM afterwards; some 503s, each with Retry-After and problem+json; no other error status, no socket error; liveness as a kubelet sees it (deploy/k8s: 2 s timeout, 3 failures restart): never 3 failed probes in a row, at most 1 % over 2 s; /v1 200 again within 30 s of the load stopping.',
  },
  {
    id: 'overload-rss',
    title: 'Known issue: shedding on RSS does not end with the load',
    proves:
      'Pins a defect found here. RSS does not shrink after a spike (V8 and malloc keep the pages), so once RSS has crossed PRESSURE_MAX_RSS_BYTES the replica answers 503 to every /v1 request from then on, while liveness and readiness say it is fine. In production the RSS threshold is 90 % of the container limit, so a spike near the limit turns a replica into one that only sheds until it is restarted.',
    how: 'As the overload scenario for 10 s, with PRESSURE_MAX_RSS_BYTES = idle RSS + 64 MB instead of the heap threshold; /v1 is polled for 20 s after the load.',
    bar: 'process alive, only 503 problem+json, liveness 200; the test asserts that /v1 is still shed 20 s later, so it fails (and must be turned into a recovery assertion) once the plumbing is fixed.',
  },
  {
    id: 'bad-input',
    title: 'Bad input to every route (fast-check)',
    proves:
      'No input a client can send makes the API answer 5xx; every error is RFC 9457 problem+json (type, title, status equal to the HTTP status, detail, instance); a rejected request writes nothing (the whole notes table is checksummed before and after each request).',
    how: "Against the real process over real sockets (nothing between the bytes and the routes is skipped), 200 runs per property: POST /v1/notes with any JSON or non-JSON body, content type and headers (titles and bodies at 0, 1, 200, 201, 10 000, 10 001 characters, any JSON values, extra fields, __proto__); PATCH and DELETE /v1/notes/:id with any id and body; GET /v1/notes and /v1/notes/:id with any id and query string (including cursors that decode like ours); any method on any path with any headers; 1 MB, 2 MB and 20 MB bodies (413); raw bytes that may not be HTTP at all (only: no 5xx, the server lives on, since Node's parser answers those itself).",
    bar: 'every property holds; two known defects are pinned in tests of their own (below).',
  },
  {
    id: 'known-bad-url',
    title: 'Known issue: a malformed percent-encoding in the path is not problem+json',
    proves:
      "Pins a defect found by the bad-input properties: `GET /v1/notes/%zz` is answered by Fastify's own FST_ERR_BAD_URL handler (400, application/json), not as problem+json, because createService sets no `frameworkErrors`. Nothing is written and nothing crashes.",
    how: 'One request; the properties above send well-formed escapes only until this is fixed.',
    bar: 'asserts the defect (400, not problem+json), so it fails once it is fixed; then let the properties send malformed escapes.',
  },
  {
    id: 'known-bad-cursor',
    title: 'Known issue: a cursor timestamp PostgreSQL cannot parse is a 500',
    proves:
      'Pins a defect found by the bad-input properties: decodeCursor accepts any timestamp JavaScript\'s Date.parse accepts ("0", "1", "2020-02-30T00:00:00Z", "+010000-01-01T00:00:00.000Z"); PostgreSQL rejects those in the query and the API answers 500 (a problem+json that leaks nothing, but a 5xx for a client error).',
    how: "GET /v1/notes?cursor= with the API's own cursor encoding around such timestamps; the cursor property sends timestamps the API could have issued and text Date.parse rejects until this is fixed.",
    bar: 'asserts the defect (a 500 for "0"), so it fails once decodeCursor rejects such text with a 400.',
  },
  {
    id: 'soak',
    title: 'Soak',
    proves: 'No memory growth under minutes of steady mixed traffic, and no error.',
    how: "300 s (the default, also in CI) at an even 300 req/s: 50 % reads by id, 20 % lists of 1-50, 20 % creates (0-2 000 characters), 5 % updates and 5 % deletes of its own notes, over 32 keep-alive connections, logging at info into a file. RSS from /proc/<pid>/status every second. RSS is not monotonic here: V8 gives pages back after a major GC and takes them again (270 -> 125 -> 270 MB within two minutes), so the slope of raw RSS over a few minutes is reported but not asserted; the slope of its ceiling (the highest RSS so far) is, since a leak keeps raising it and the cycle does not. heapUsed from the server's own /metrics is reported as the floor of each 60 s window (a major GC comes only every 40-100 s, so these floors wander by 10 MB or more and are not asserted). So: RSS alone is asserted.",
    bar: '0 errors; least-squares slope of the RSS ceiling after a 120 s warm-up < 2 MB/min (a leak of ~110 bytes per request at this rate; asserted in runs of 240 s or more); RSS peak after warm-up within 15 % of the warm-up peak.',
  },
]

const dir = new URL('../results/reliability/', import.meta.url)
const doc = new URL('../../docs/reliability.md', import.meta.url)

const sections: string[] = []
for (const s of SCENARIOS) {
  let figures: Figures | undefined
  try {
    figures = JSON.parse(await readFile(new URL(`${s.id}.json`, dir), 'utf8'))
  } catch {
    figures = undefined
  }
  sections.push(
    `### ${s.title}`,
    '',
    `\`bench/test/${s.id === 'overload-rss' ? 'overload' : s.id}.test.ts\`. ${s.proves}`,
    '',
    `- **How:** ${s.how}`,
    `- **Bar:** ${s.bar}`,
    figures
      ? `- **Latest** (${figures.date.slice(0, 10)}, ${figures.machine}, Node ${figures.node}): ${figures.summary}.`
      : '- **Latest:** not run yet.',
    '',
  )
}

const text = await readFile(doc, 'utf8')
const begin = '<!-- reliability:begin -->'
const end = '<!-- reliability:end -->'
const a = text.indexOf(begin)
const b = text.indexOf(end)
if (a < 0 || b < a) throw new Error(`docs/reliability.md has no ${begin} ... ${end} section`)
await writeFile(doc, `${text.slice(0, a + begin.length)}\n${sections.join('\n')}${text.slice(b)}`)
console.info('docs/reliability.md updated')
