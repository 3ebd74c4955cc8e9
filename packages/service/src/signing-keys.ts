import {
  createLocalJWKSet,
  errors,
  type FlattenedJWSInput,
  type JSONWebKeySet,
  type JWTHeaderParameters,
} from 'jose'

// The issuer's public keys, fetched and cached here rather than with jose's createRemoteJWKSet: that
// one throws once its cache is older than cacheMaxAge and the endpoint is down, so an outage of the
// issuer would end every session after ten minutes. This cache keeps serving what it has, and bounds
// the fetches, failed or not, to one per minIntervalMs. jose still picks the key (kid, alg, kty, use)
// and verifies; nothing here parses a token.

export interface SigningKeysOptions {
  issuer: string
  /** The key set's URL; unset, the `jwks_uri` of the issuer's OIDC discovery document. */
  jwksUrl?: string
  timeoutMs: number
  minIntervalMs: number
  maxAgeMs: number
  /** Told of every fetch and its outcome (the plugin logs them). */
  onFetch?: (event: { url: string; ok: boolean; keys?: number; error?: string }) => void
}

/** The keys cannot be fetched (the endpoint is down, slow or answers nonsense) and none cached fits. */
export class KeysUnavailable extends Error {}

type KeyLookup = ReturnType<typeof createLocalJWKSet>

export class SigningKeys {
  readonly #options: SigningKeysOptions
  #jwksUrl: string | undefined
  #lookup: KeyLookup | undefined
  #fetchedAt = Number.NEGATIVE_INFINITY
  #attemptedAt = Number.NEGATIVE_INFINITY
  #lastFailed = false
  #pending: Promise<void> | undefined

  constructor(options: SigningKeysOptions) {
    this.#options = options
    this.#jwksUrl = options.jwksUrl
  }

  /** jose's key lookup: the key for this token's header, fetching the set at most once per interval. */
  readonly getKey = async (header: JWTHeaderParameters, token: FlattenedJWSInput) => {
    if (this.#lookup === undefined) {
      await this.#refresh()
    } else if (performance.now() - this.#fetchedAt > this.#options.maxAgeMs) {
      // Stale keys are still good: refreshed behind this request's back, and kept if that fails,
      // so neither an outage nor a slow issuer holds up a token whose key is cached.
      this.#refresh().catch(() => {})
    }
    const lookup = this.#lookup
    if (lookup === undefined) throw new KeysUnavailable('no signing keys fetched yet')
    try {
      return await lookup(header, token)
    } catch (err) {
      if (!(err instanceof errors.JWKSNoMatchingKey)) throw err
      // An unknown kid: perhaps the issuer rotated, perhaps it is made up. One fetch per interval
      // tells the two apart for every token in it; in between, the last fetch's answer stands.
      if (
        await this.#refresh().then(
          () => true,
          () => false,
        )
      ) {
        return (this.#lookup as KeyLookup)(header, token)
      }
      // The issuer could not be asked (now or on the last try): the token may be fine, so this is
      // not the client's error (401) but ours (503, retry later).
      if (this.#lastFailed) throw new KeysUnavailable('the signing keys cannot be fetched')
      throw err
    }
  }

  /** Fetches the key set (or joins the fetch under way) unless one was tried within minIntervalMs. */
  #refresh(): Promise<void> {
    if (this.#pending) return this.#pending
    if (performance.now() - this.#attemptedAt < this.#options.minIntervalMs) {
      return Promise.reject(new KeysUnavailable('key fetch not due'))
    }
    this.#attemptedAt = performance.now()
    this.#pending = this.#fetchKeys().finally(() => {
      this.#pending = undefined
    })
    return this.#pending
  }

  async #fetchKeys(): Promise<void> {
    let url = this.#jwksUrl ?? discoveryUrl(this.#options.issuer)
    try {
      if (this.#jwksUrl === undefined) {
        const doc = (await fetchJson(url, this.#options.timeoutMs)) as {
          issuer?: unknown
          jwks_uri?: unknown
        }
        // OIDC Discovery §4.3: the document must name the issuer it was fetched for.
        if (doc.issuer !== this.#options.issuer)
          throw new Error('the discovery document names another issuer')
        if (typeof doc.jwks_uri !== 'string' || !/^https?:\/\//.test(doc.jwks_uri)) {
          throw new Error('the discovery document has no http(s) jwks_uri')
        }
        this.#jwksUrl = doc.jwks_uri
        url = doc.jwks_uri
      }
      const jwks = (await fetchJson(url, this.#options.timeoutMs)) as JSONWebKeySet
      if (!Array.isArray(jwks?.keys)) throw new Error('the key set has no "keys" array')
      this.#lookup = createLocalJWKSet(jwks)
      this.#fetchedAt = performance.now()
      this.#lastFailed = false
      this.#options.onFetch?.({ url, ok: true, keys: jwks.keys.length })
    } catch (err) {
      this.#lastFailed = true
      const error = err instanceof Error ? err.message : String(err)
      this.#options.onFetch?.({ url, ok: false, error })
      throw new KeysUnavailable(error)
    }
  }
}

function discoveryUrl(issuer: string): string {
  return `${issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`
}

// A key set is a few kilobytes; a megabyte bounds what a misbehaving endpoint can make us hold.
const MAX_BODY_BYTES = 1_048_576

async function fetchJson(url: string, timeoutMs: number): Promise<unknown> {
  const signal = AbortSignal.timeout(timeoutMs)
  let response: Response
  try {
    response = await fetch(url, { signal, headers: { accept: 'application/json' }, redirect: 'error' })
  } catch (err) {
    throw new Error(signal.aborted ? `${url} did not answer within ${timeoutMs} ms` : `${url}: ${cause(err)}`)
  }
  if (!response.ok) {
    await response.body?.cancel()
    throw new Error(`${url} answered ${response.status}`)
  }
  const length = Number(response.headers.get('content-length') ?? 0)
  if (length > MAX_BODY_BYTES) {
    await response.body?.cancel()
    throw new Error(`${url} answered ${length} bytes, more than ${MAX_BODY_BYTES}`)
  }
  try {
    const text = await response.text()
    if (text.length > MAX_BODY_BYTES) throw new Error('too large')
    return JSON.parse(text)
  } catch {
    throw new Error(
      signal.aborted ? `${url} did not answer within ${timeoutMs} ms` : `${url} answered no JSON`,
    )
  }
}

function cause(err: unknown): string {
  const e = err as { message?: string; cause?: { code?: string; message?: string } }
  return e.cause?.code ?? e.cause?.message ?? e.message ?? String(err)
}
