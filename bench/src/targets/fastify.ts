// Case 2: bare Fastify (same version as the API), default options, one route, no plugins.
import Fastify from 'fastify'

const app = Fastify()
app.get('/', async () => ({ hello: 'world' }))
const address = await app.listen({ port: Number(process.env.PORT), host: process.env.HOST ?? '127.0.0.1' })
process.stdout.write(
  `${JSON.stringify({ msg: 'listening', address, startupMs: Math.round(performance.now()) })}\n`,
)
process.on('SIGTERM', () => void app.close().then(() => process.exit(0)))
