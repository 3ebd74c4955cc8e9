export {
  type DevKey,
  keyFile,
  loadDevKey,
  loadOrCreateDevKey,
  NoDevKeyError,
  signDevToken,
  type TokenClaims,
} from './dev-key.js'
export { type DevIssuer, type DevIssuerOptions, startDevIssuer } from './issuer.js'
export { type TokenCliOptions, type TokenCliResult, tokenCli } from './token-cli.js'
