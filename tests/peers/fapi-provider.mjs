// A Singpass FAPI 2.0 stand-in for tests: node `oidc-provider` configured the way Singpass is.
//
// PAR required (with a DPoP proof, as Singpass demands), DPoP-bound tokens, PKCE S256,
// private_key_jwt (ES256) only, ID tokens signed ES256 and encrypted ECDH-ES+A256KW, the FAPI 2.0
// profile, and `sub_attributes.identity_number` carrying the NRIC.
//
// Configuration (environment):
//   FAPI_PORT                 port to listen on (required)
//   FAPI_ISSUER               issuer (default http://127.0.0.1:<port>)
//   FAPI_CLIENT_ID            the relying party's client id (default medbook-test)
//   FAPI_REDIRECT_URIS        comma-separated redirect URIs registered for that client (required)
//   FAPI_RP_JWKS              the RP's public JWKS as JSON, or
//   FAPI_RP_JWKS_URI          where to fetch it (127.0.0.1 allowed)
//   FAPI_ID_TOKEN_ENC         A256CBC-HS512 (default) or A256GCM
//   FAPI_REQUIRE_DPOP_NONCE   "1": demand server-issued DPoP nonces (exercises the retry path)
//
// Personas (devInteractions login form): the login is the Singpass UUID (it becomes the account
// id, hence `sub`); the password is the NRIC, which becomes `sub_attributes.identity_number`.
// An empty password signs in a person without an NRIC (no sub_attributes). Consent is implied.

import crypto from 'node:crypto';
import * as querystring from 'node:querystring';

import Provider from 'oidc-provider';

const env = process.env;
const port = Number(env.FAPI_PORT);
if (!port) {
  console.error('FAPI_PORT is required');
  process.exit(2);
}
const issuer = env.FAPI_ISSUER || `http://127.0.0.1:${port}`;
const clientId = env.FAPI_CLIENT_ID || 'medbook-test';
const redirectUris = (env.FAPI_REDIRECT_URIS || '').split(',').filter(Boolean);
if (redirectUris.length === 0) {
  console.error('FAPI_REDIRECT_URIS is required');
  process.exit(2);
}
if (!env.FAPI_RP_JWKS && !env.FAPI_RP_JWKS_URI) {
  console.error('FAPI_RP_JWKS or FAPI_RP_JWKS_URI is required');
  process.exit(2);
}
const idTokenEnc = env.FAPI_ID_TOKEN_ENC || 'A256CBC-HS512';
const requireDpopNonce = env.FAPI_REQUIRE_DPOP_NONCE === '1';

// A fresh provider signing key per run: tests read it through jwks_uri like a real RP would.
const { privateKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
const signingKey = {
  ...privateKey.export({ format: 'jwk' }),
  kid: `fapi-peer-${crypto.randomBytes(4).toString('hex')}`,
  use: 'sig',
  alg: 'ES256',
};

// UUID -> NRIC, filled by the login form (see the interaction middleware below).
const nricByUuid = new Map();

const client = {
  client_id: clientId,
  redirect_uris: redirectUris,
  grant_types: ['authorization_code'],
  response_types: ['code'],
  token_endpoint_auth_method: 'private_key_jwt',
  token_endpoint_auth_signing_alg: 'ES256',
  id_token_signed_response_alg: 'ES256',
  id_token_encrypted_response_alg: 'ECDH-ES+A256KW',
  id_token_encrypted_response_enc: idTokenEnc,
  dpop_bound_access_tokens: true,
  require_pushed_authorization_requests: true,
  ...(env.FAPI_RP_JWKS_URI
    ? { jwks_uri: env.FAPI_RP_JWKS_URI }
    : { jwks: JSON.parse(env.FAPI_RP_JWKS) }),
};

const provider = new Provider(issuer, {
  clients: [client],
  jwks: { keys: [signingKey] },
  cookies: { keys: [crypto.randomBytes(32).toString('hex')] },
  scopes: ['openid', 'user.identity'],
  claims: { openid: ['sub'], 'user.identity': ['sub_attributes'] },
  // Otherwise claims granted by scope go to userinfo only and sub_attributes never reaches the
  // ID token, which is where Singpass puts it.
  conformIdTokenClaims: false,
  clientAuthMethods: ['private_key_jwt'],
  pkce: { required: () => true },
  enabledJWA: {
    clientAuthSigningAlgValues: ['ES256'],
    idTokenSigningAlgValues: ['ES256'],
    idTokenEncryptionAlgValues: ['ECDH-ES+A256KW'],
    idTokenEncryptionEncValues: ['A256CBC-HS512', 'A256GCM'],
    dPoPSigningAlgValues: ['ES256'],
  },
  features: {
    devInteractions: { enabled: true },
    pushedAuthorizationRequests: { enabled: true, requirePushedAuthorizationRequests: true },
    dPoP: {
      enabled: true,
      ...(requireDpopNonce
        ? { nonceSecret: crypto.randomBytes(32), requireNonce: () => true }
        : {}),
    },
    encryption: { enabled: true },
    fapi: { enabled: true, profile: '2.0' },
  },
  ttl: { IdToken: 600 },
  async findAccount(ctx, accountId) {
    return {
      accountId,
      async claims() {
        const nric = nricByUuid.get(accountId);
        return {
          sub: accountId,
          ...(nric ? { sub_attributes: { identity_number: nric, identity_coi: 'SG' } } : {}),
        };
      },
    };
  },
  // Consent is implied (Singpass asks the person itself): grant whatever was requested.
  async loadExistingGrant(ctx) {
    const grantId =
      ctx.oidc.result?.consent?.grantId || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
    const grant =
      (grantId && (await ctx.oidc.provider.Grant.find(grantId))) ||
      new ctx.oidc.provider.Grant({
        clientId: ctx.oidc.client.clientId,
        accountId: ctx.oidc.session.accountId,
      });
    grant.addOIDCScope([...ctx.oidc.requestParamOIDCScopes].join(' '));
    grant.addOIDCClaims([...ctx.oidc.requestParamClaims]);
    await grant.save();
    return grant;
  },
  // The default guard refuses a jwks_uri on 127.0.0.1; tests serve the RP's JWKS there.
  fetch(url, options) {
    const { dispatcher, ...rest } = options;
    return globalThis.fetch(url, rest);
  },
});

async function readForm(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  return querystring.parse(Buffer.concat(chunks).toString('utf8'));
}

provider.use(async (ctx, next) => {
  // Singpass refuses a pushed authorization request without a DPoP proof; oidc-provider only
  // binds one when present.
  if (ctx.method === 'POST' && ctx.path === '/request' && !ctx.get('DPoP')) {
    ctx.status = 400;
    ctx.body = {
      error: 'invalid_dpop_proof',
      error_description: 'a DPoP proof is required at the pushed authorization request endpoint',
    };
    console.error('pushed_authorization_request refused: no DPoP header');
    return;
  }
  // The dev login form: remember the NRIC (password field) for the UUID (login field). The parsed
  // body is handed on, which oidc-provider accepts in place of the consumed stream.
  if (
    ctx.method === 'POST' &&
    /^\/interaction\/[^/]+$/.test(ctx.path) &&
    ctx.is('application/x-www-form-urlencoded')
  ) {
    const form = await readForm(ctx.req);
    if (form.prompt === 'login' && typeof form.login === 'string') {
      if (form.password) nricByUuid.set(form.login, String(form.password));
      else nricByUuid.delete(form.login);
    }
    ctx.request.body = form;
  }
  await next();
});

for (const event of [
  'grant.error',
  'pushed_authorization_request.error',
  'authorization.error',
  'server_error',
]) {
  provider.on(event, (ctx, err) => {
    // Responses are deliberately generic; the reason is only in error_detail.
    console.error(`${event}: ${err.error || err.name}: ${err.error_detail || err.message}`);
  });
}

provider.listen(port, '127.0.0.1', () => {
  console.log(`fapi-provider listening on ${port} as ${issuer}`);
});
