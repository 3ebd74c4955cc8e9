import { runService } from '@stack/service/run'
import { loadAppConfig, SERVICE_NAME } from './config.js'

// The process: configuration (exit 2), tracing, logger, listen and drain (@stack/service/run). The
// app is imported only after tracing has started, so that it can patch `http` and `pg` first.
await runService({ name: SERVICE_NAME, loadConfig: loadAppConfig, app: () => import('./app.js') })
