import { port, str, url } from '@stack/config'

/** The dev-issuer image's variables (compose.yaml sets them). */
export const issuerServerVars = {
  /**
   * The `iss` of its tokens and the base of its URLs, as the services reach it (http://dev-issuer:3000
   * on the compose network). Required: a wrong default would make every token fail to verify.
   */
  DEV_ISSUER_URL: url({ protocols: ['http', 'https'] }),
  /** Where key.json is made once and kept (a volume, so tokens outlive a restart). */
  DEV_ISSUER_DIR: str({ default: '/home/node/dev-issuer' }),
  HOST: str({ default: '0.0.0.0' }),
  PORT: port({ default: 3000 }),
}
