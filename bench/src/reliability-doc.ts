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

const SCENARIOS: {
  id: string
  /** The test file, when it is not named after the scenario. */
  file?: string
  title: string
  proves: string
  how: string
  bar: string
}[] = [
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
    how: "The server on one core with a 96 MB old space and a bounded young generation (--max-old-space-size=96 --max-semi-space-size=16; left to its default, V8 grew the young generation past the old space and then ran mark-compacts back to back at 100 % CPU long after the load) and low thresholds: PRESSURE_MAX_EVENT_LOOP_DELAY_MS=100, PRESSURE_MAX_HEAP_USED_BYTES=64 MB (idle heapUsed is ~17 MB), sampled every 100 ms; event-loop shedding starts once over for PRESSURE_SUSTAIN_MS (5 s), and until then some requests wait out the pool's connect timeout (503 DB_UNAVAILABLE, counted as shed). 200 keep-alive connections, opened before the load as a proxy's upstream pool is (opened with it, they held the first probes' connections in the accept queue for up to 7 s: libuv accepts one connection per event-loop iteration, and the loop was busy), for 20 s, half writing 10 000-character notes, half listing 100 of them (~1 MB of JSON per answer); liveness polled every 250 ms with a 2 s timeout from a worker thread (a kubelet is another process: probes must not wait on the load generator's own event loop). No test-only route.",
    bar: 'process alive, exit 0 on SIGTERM afterwards; some 503s, each with Retry-After and problem+json; no other error status, no socket error; liveness as a kubelet sees it (deploy/k8s: 2 s timeout, 3 failures restart): never 3 failed probes in a row, at most 1 % over 2 s; /v1 200 again within 30 s of the load stopping.',
  },
  {
    id: 'overload-rss',
    file: 'overload',
    title: 'Shedding on RSS ends with the load',
    proves:
      'RSS does not shrink after a spike (V8 keeps its young generation committed, malloc its arenas), so shedding on RSS alone latched: found here, a replica whose RSS once crossed PRESSURE_MAX_RSS_BYTES answered 503 to every /v1 request until restarted. Fixed in @stack/service (rssPressure): RSS over the threshold sheds only while the memory in use (non-JS memory at start + heapUsed + external) is over it too.',
    how: 'As the overload scenario for 10 s, with PRESSURE_MAX_EVENT_LOOP_DELAY_MS=100 as there (at the default 1 s the replica queues up to a second before it sheds), PRESSURE_MAX_RSS_BYTES = idle RSS + 40 MB and the heap threshold at its default (90 % of the 96 MB old space); /v1 is polled for 20 s after the load.',
    bar: 'process alive, only 503 problem+json, liveness as above; /v1 200 again within 20 s while RSS is still over the threshold (the old check fails this).',
  },
  {
    id: 'bad-input',
    title: 'Bad input to every route (fast-check)',
    proves:
      'No input a client can send makes the API answer 5xx; every error is RFC 9457 problem+json (type, title, status equal to the HTTP status, detail, instance); a rejected request writes nothing (the whole notes table is checksummed before and after each request).',
    how: "Against the real process over real sockets (nothing between the bytes and the routes is skipped), 200 runs per property: POST /v1/notes with any JSON or non-JSON body, content type and headers (titles and bodies at 0, 1, 200, 201, 10 000, 10 001 characters, any JSON values, extra fields, __proto__); PATCH and DELETE /v1/notes/:id with any id and body; GET /v1/notes and /v1/notes/:id with any id and query string (including cursors that decode like ours); any method on any path with any headers; 1 MB, 2 MB and 20 MB bodies (413); raw bytes that may not be HTTP at all (only: no 5xx, the server lives on, since Node's parser answers those itself).",
    bar: 'every property holds; the two defects they found have tests of their own (below).',
  },
  {
    id: 'bad-url',
    file: 'bad-input',
    title: 'A malformed percent-encoding in the path is a 400 problem+json',
    proves:
      "Found by the bad-input properties and fixed: `GET /v1/notes/%zz` was answered by Fastify's own FST_ERR_BAD_URL handler (400, plain JSON) until createService set `frameworkErrors`. The properties now send malformed escapes too.",
    how: 'One request; the table is checksummed before and after.',
    bar: '400, problem+json with code FST_ERR_BAD_URL, nothing written.',
  },
  {
    id: 'bad-cursor',
    file: 'bad-input',
    title: 'A cursor timestamp PostgreSQL cannot parse is a 400',
    proves:
      'Found by the bad-input properties and fixed: decodeCursor accepted any timestamp Date.parse accepts ("0", "2020-02-30T00:00:00Z", "+010000-01-01T00:00:00.000Z"), PostgreSQL rejected it in the query, and the API answered 500. It now accepts only the timestamps it writes itself.',
    how: "GET /v1/notes?cursor= with the API's own cursor encoding around such timestamps, and one it could have issued.",
    bar: '400 for each such timestamp, 200 for the well-formed one.',
  },
  {
    id: 'soak',
    title: 'Soak',
    proves: 'No memory growth under minutes of steady mixed traffic, and no error.',
    how: "300 s (the default, also in CI) at an even 300 req/s: 50 % reads by id, 20 % lists of 1-50, 20 % creates (0-2 000 characters), 5 % updates and 5 % deletes of its own notes, over 32 keep-alive connections, logging at info into a file. RSS from /proc/<pid>/status every second. RSS is not monotonic here: V8 gives pages back after a major GC and takes them again (270 -> 125 -> 270 MB within two minutes), so the slope of raw RSS over a few minutes is reported but not asserted; the slope of its ceiling (the highest RSS so far, warm-up included, so that a major GC just before the warm-up ends does not start it in a trough) is, since a leak keeps raising it and the cycle does not. heapUsed from the server's own /metrics is reported as the floor of each 60 s window (a major GC comes only every 40-100 s, so these floors wander by 10 MB or more and are not asserted). So: RSS alone is asserted. The load starts once /health/ready answers 200, as a proxy's would. On any error the soak prints, and keeps in soak.json, its errors by kind (status + problem code, the shedding reason, or the socket error) with the seconds they were sent in, and the server's warnings grouped the same way (the server logs each shedding with its reason and value). Found so: 503 SVC_OVERLOADED eventLoopDelay in the first second (a sample window without a delay sample read as an infinite delay; event-loop shedding now needs PRESSURE_SUSTAIN_MS), and 503 DB_UNAVAILABLE from a PostgreSQL container that crash-restarted whenever a timed-out Docker health check left its pg_isready to the postmaster (the harness runs no health check now).",
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
    `\`bench/test/${s.file ?? s.id}.test.ts\`. ${s.proves}`,
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
