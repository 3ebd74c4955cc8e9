// Case 1: the floor. node:http answering a small JSON body, nothing else.
import { createServer } from 'node:http'

const body = JSON.stringify({ hello: 'world' })
const server = createServer((_req, res) => {
  res.writeHead(200, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(body),
  })
  res.end(body)
})
server.listen(Number(process.env.PORT), process.env.HOST ?? '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ msg: 'listening', startupMs: Math.round(performance.now()) })}\n`)
})
process.on('SIGTERM', () => server.close(() => process.exit(0)))
