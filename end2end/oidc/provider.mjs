// A real OpenID Connect identity provider for the tests (panva's oidc-provider), so single
// sign-on is exercised against a standards-conforming issuer rather than a mock. Anyone can sign
// in with any login and any password; the login becomes the account.
//
//   OIDC_PORT=4000 OIDC_CLIENT_ID=astraflow OIDC_CLIENT_SECRET=s3cret \
//   OIDC_REDIRECT_URIS=http://127.0.0.1:3100/auth/oidc/callback node end2end/oidc/provider.mjs
//
// The issuer is http://127.0.0.1:<OIDC_PORT>, with no trailing slash: relying parties must
// compare it exactly with the `iss` of the discovery document and the ID token.
//
// A browser test sees one page, the development login form that oidc-provider renders at
// /interaction/<uid>; consent is given automatically (see loadExistingGrant below). It fills
//   input[name="login"]     the account: an email address, or a name that becomes <name>@example.test
//   input[name="password"]  anything (required by the form, never checked)
// and clicks button[type="submit"] (text "Sign-in"). The page's CSS @imports a Google web font;
// a test without network access should route fonts.googleapis.com away so nothing waits on it.
// After one sign-in the browser holds a session here and later authorization requests come
// straight back signed in (no form): use a fresh browser context, or prompt=login, to switch user.
//
// Prints `oidc-provider listening on <issuer>` once it accepts connections (tests wait for it).
import { createServer } from 'node:http';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import Provider from 'oidc-provider';

function required(name) {
  const value = process.env[name];
  if (!value) {
    console.error(`${name} must be set`);
    process.exit(2);
  }
  return value;
}

const port = Number(required('OIDC_PORT'));
const clientId = required('OIDC_CLIENT_ID');
const clientSecret = required('OIDC_CLIENT_SECRET');
const redirectUris = required('OIDC_REDIRECT_URIS').split(',').map((uri) => uri.trim()).filter(Boolean);
const issuer = `http://127.0.0.1:${port}`;
// Optionally a machine client for the client-credentials grant, as a Camunda 8 cluster's OAuth
// server issues tokens to the control plane (OIDC_SERVICE_CLIENT_ID, OIDC_SERVICE_CLIENT_SECRET).
const serviceClient = process.env.OIDC_SERVICE_CLIENT_ID
  ? [{
    client_id: process.env.OIDC_SERVICE_CLIENT_ID,
    client_secret: required('OIDC_SERVICE_CLIENT_SECRET'),
    grant_types: ['client_credentials'],
    response_types: [],
    redirect_uris: [],
    token_endpoint_auth_method: 'client_secret_post',
  }]
  : [];

// "ada.lovelace@example.test" -> "Ada Lovelace", "bob" -> "Bob".
function nameFrom(login) {
  return login.split('@')[0].split(/[._+-]+/).filter(Boolean)
    .map((word) => word[0].toUpperCase() + word.slice(1)).join(' ') || login;
}

// Fresh keys each run: nothing is persisted, and without them oidc-provider would sign with
// the well-known development key it ships (and warn about it).
const signingKey = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey
  .export({ format: 'jwk' });

const provider = new Provider(issuer, {
  clients: [{
    client_id: clientId,
    client_secret: clientSecret,
    redirect_uris: redirectUris,
    grant_types: ['authorization_code'],
    response_types: ['code'],
    // oidc-provider takes the secret in the body (client_secret_post) for this client as well.
    token_endpoint_auth_method: 'client_secret_basic',
  }, ...serviceClient],
  // Confidential clients may skip PKCE by default; ours must not (S256 is the only method).
  pkce: { required: () => true },
  async findAccount(_ctx, sub) {
    return {
      accountId: sub,
      async claims() {
        return {
          sub,
          email: sub.includes('@') ? sub : `${sub}@example.test`,
          email_verified: true,
          name: nameFrom(sub),
        };
      },
    };
  },
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['name'],
  },
  // Put the scopes' claims in the ID token itself; by default they are only at userinfo
  // whenever an access token is issued too.
  conformIdTokenClaims: false,
  // Our one client is first party: grant it every scope it asks for instead of showing the
  // consent page, so signing in is a single form. Called once the person has signed in.
  async loadExistingGrant(ctx) {
    const grantId = ctx.oidc.result?.consent?.grantId
      || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
    const existing = grantId && await ctx.oidc.provider.Grant.find(grantId);
    if (existing) return existing;
    const grant = new ctx.oidc.provider.Grant({
      clientId: ctx.oidc.client.clientId,
      accountId: ctx.oidc.session.accountId,
    });
    grant.addOIDCScope('openid email profile');
    await grant.save();
    return grant;
  },
  features: {
    // The built-in login (and consent) pages: accept any login, check no password.
    devInteractions: { enabled: true },
    clientCredentials: { enabled: true },
  },
  // Lifetimes in seconds, set so oidc-provider does not print a notice about each default.
  ttl: { Interaction: 600, Session: 3600, Grant: 3600, AuthorizationCode: 60, AccessToken: 3600, IdToken: 3600, ClientCredentials: 600 },
  jwks: { keys: [{ ...signingKey, use: 'sig', alg: 'RS256' }] },
  // Cookies are signed with these. Over plain http oidc-provider leaves them not `Secure`
  // (it only adds that when the request is https), so http://127.0.0.1 works as is.
  cookies: { keys: [randomBytes(32).toString('base64url')] },
  // Say why a request was refused instead of a bare "oops! something went wrong".
  async renderError(ctx, out) {
    ctx.type = 'text';
    ctx.body = Object.entries(out).map(([key, value]) => `${key}: ${value}`).join('\n');
  },
});
provider.on('server_error', (_ctx, err) => console.error('oidc-provider server_error', err));

// oidc-provider checks a client's metadata only when it is first used; check it now instead,
// so a bad OIDC_REDIRECT_URIS stops the provider rather than failing the first sign-in.
try {
  await provider.Client.find(clientId);
} catch (err) {
  console.error(`OIDC client configuration refused: ${err.message}: ${err.error_description}`);
  process.exit(2);
}

const server = createServer(provider.callback());
server.listen(port, '127.0.0.1', () => console.log(`oidc-provider listening on ${issuer}`));

function stop() {
  server.close(() => process.exit(0));
  server.closeAllConnections(); // keep-alive connections would hold close() open
}
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
