export * from './notes.js'

// `app.db` is typed with these tables (see ServiceTables in @stack/service).
declare module '@stack/service' {
  interface ServiceTables {
    tables: typeof import('./index.js')
  }
}
