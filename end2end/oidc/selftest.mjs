// Checks provider.mjs end to end without a browser, and documents the flow a relying party
// (and a browser test) goes through: authorization code with PKCE (refused without it), the
// login form and no consent page, the code exchanged with client_secret_basic (client_secret_post
// is accepted too), and a signed ID token that carries the email and name itself.
//
//   node end2end/oidc/selftest.mjs [--verbose]   prints `oidc selftest ok`, or the reason and exits 1
import { spawn } from 'node:child_process';
import { createHash, createPublicKey, randomBytes, verify } from 'node:crypto';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';

const clientId = 'astraflow-selftest';
const clientSecret = randomBytes(16).toString('hex');
const login = 'ada.lovelace';
const b64url = (bytes) => Buffer.from(bytes).toString('base64url');
const fail = (reason) => { throw new Error(reason); };

async function freePort() {
  const server = createServer().listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

// Starts the provider and resolves once it prints its ready line.
function start(env) {
  const child = spawn(process.execPath, [fileURLToPath(new URL('provider.mjs', import.meta.url))], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const ready = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`provider did not start:\n${output}`)), 15_000);
    child.stdout.on('data', (chunk) => {
      output += chunk;
      if (output.includes('oidc-provider listening on ')) { clearTimeout(timer); resolve(); }
    });
    child.stderr.on('data', (chunk) => { output += chunk; });
    child.on('exit', (code) => { clearTimeout(timer); reject(new Error(`provider exited (${code}):\n${output}`)); });
  });
  return { child, ready, output: () => output };
}

// Just enough of a browser: cookies by name and path, redirects followed one by one.
const jar = new Map();
async function request(url, init = {}) {
  const { pathname } = new URL(url);
  const cookie = [...jar.values()].filter((c) => pathname.startsWith(c.path))
    .map((c) => `${c.name}=${c.value}`).join('; ');
  const res = await fetch(url, { ...init, redirect: 'manual', headers: { ...init.headers, ...(cookie && { cookie }) } });
  for (const line of res.headers.getSetCookie()) {
    const [pair, ...attrs] = line.split(';').map((part) => part.trim());
    const name = pair.slice(0, pair.indexOf('='));
    const path = attrs.find((a) => /^path=/i.test(a))?.slice(5) ?? '/';
    const expires = attrs.find((a) => /^expires=/i.test(a))?.slice(8);
    if (/secure/i.test(attrs.join(';'))) fail(`cookie ${name} is Secure; it would not come back over http`);
    if (expires && Date.parse(expires) < Date.now()) jar.delete(`${name} ${path}`);
    else jar.set(`${name} ${path}`, { name, value: pair.slice(name.length + 1), path });
  }
  return res;
}

async function flow(issuer, redirectUri) {
  const discovery = await (await fetch(`${issuer}/.well-known/openid-configuration`)).json();
  if (discovery.issuer !== issuer) fail(`discovery issuer is ${discovery.issuer}, expected ${issuer}`);
  if (!discovery.code_challenge_methods_supported?.includes('S256')) fail('S256 PKCE not advertised');

  // PKCE is required: without a code_challenge the request comes back as an error.
  const noPkce = await request(`${discovery.authorization_endpoint}?${new URLSearchParams({
    client_id: clientId, response_type: 'code', scope: 'openid', redirect_uri: redirectUri, state: 'x',
  })}`);
  const refused = new URL(noPkce.headers.get('location') ?? 'http://none/').searchParams;
  if (refused.get('error') !== 'invalid_request') fail(`request without PKCE was not refused (${noPkce.status})`);

  const verifier = b64url(randomBytes(32));
  const state = b64url(randomBytes(12));
  const nonce = b64url(randomBytes(12));
  const hops = [];
  let res = await request(`${discovery.authorization_endpoint}?${new URLSearchParams({
    client_id: clientId,
    response_type: 'code',
    scope: 'openid email profile',
    redirect_uri: redirectUri,
    state,
    nonce,
    code_challenge: b64url(createHash('sha256').update(verifier).digest()),
    code_challenge_method: 'S256',
  })}`);
  let url = discovery.authorization_endpoint;
  for (;;) {
    hops.push(`${res.status} ${new URL(url).pathname}`);
    if (res.status === 200) {
      // The login form: <form action="/interaction/<uid>" method="post"> with the hidden
      // prompt=login, input[name=login], input[name=password] and button[type=submit].
      const html = await res.text();
      const action = html.match(/<form[^>]*action="([^"]+)"[^>]*method="post"/)?.[1];
      if (!action || !html.includes('name="login"') || !html.includes('name="password"')) {
        fail(`expected the login form at ${url}, got:\n${html.slice(0, 500)}`);
      }
      if (html.includes('value="consent"')) fail('consent page shown; it should be automatic');
      url = new URL(action.replaceAll('&amp;', '&'), url).href;
      res = await request(url, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ prompt: 'login', login, password: 'anything' }),
      });
      continue;
    }
    if (![302, 303].includes(res.status)) fail(`unexpected ${res.status} at ${url}: ${await res.text()}`);
    url = new URL(res.headers.get('location'), url).href;
    if (url.startsWith(redirectUri)) break;
    if (hops.length > 10) fail(`too many redirects: ${hops.join(' -> ')}`);
    res = await request(url);
  }
  hops.push(`-> ${redirectUri}`);

  const callback = new URL(url).searchParams;
  if (callback.get('error')) fail(`authorization failed: ${callback.get('error')}: ${callback.get('error_description')}`);
  if (callback.get('state') !== state) fail('state did not round-trip');
  if (callback.get('iss') !== issuer) fail(`callback iss is ${callback.get('iss')}`);
  const code = callback.get('code') ?? fail(`no code in ${url}`);

  const tokenRes = await fetch(discovery.token_endpoint, {
    method: 'POST',
    headers: {
      authorization: `Basic ${Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(clientSecret)}`).toString('base64')}`,
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: redirectUri, code_verifier: verifier }),
  });
  const tokens = await tokenRes.json();
  if (!tokenRes.ok) fail(`token request failed: ${JSON.stringify(tokens)}`);

  // Verify the ID token's RS256 signature with the published key, then its claims.
  const [header, payload, signature] = tokens.id_token.split('.');
  const { kid, alg } = JSON.parse(Buffer.from(header, 'base64url'));
  const { keys } = await (await fetch(discovery.jwks_uri)).json();
  const jwk = keys.find((k) => k.kid === kid) ?? fail(`no key ${kid} in the JWKS`);
  if (alg !== 'RS256') fail(`ID token alg is ${alg}`);
  if (!verify('sha256', Buffer.from(`${header}.${payload}`), createPublicKey({ key: jwk, format: 'jwk' }), Buffer.from(signature, 'base64url'))) {
    fail('ID token signature does not verify');
  }
  const claims = JSON.parse(Buffer.from(payload, 'base64url'));
  const expected = {
    iss: issuer, aud: clientId, sub: login, email: `${login}@example.test`, email_verified: true, name: 'Ada Lovelace', nonce,
  };
  for (const [claim, value] of Object.entries(expected)) {
    if (claims[claim] !== value) fail(`ID token ${claim} is ${JSON.stringify(claims[claim])}, expected ${JSON.stringify(value)}: ${JSON.stringify(claims)}`);
  }

  const userinfo = await (await fetch(discovery.userinfo_endpoint, { headers: { authorization: `Bearer ${tokens.access_token}` } })).json();
  if (userinfo.email !== expected.email) fail(`userinfo: ${JSON.stringify(userinfo)}`);

  // client_secret_post is accepted too: with the secret in the body, a spent code is refused
  // as a bad grant, not as a failed client authentication. (Replaying a code also revokes the
  // tokens it gave, so this comes last.)
  const postRes = await fetch(discovery.token_endpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'authorization_code', code, redirect_uri: redirectUri, code_verifier: verifier,
      client_id: clientId, client_secret: clientSecret,
    }),
  });
  const postError = (await postRes.json()).error;
  if (postError !== 'invalid_grant') fail(`client_secret_post with a spent code gave ${postRes.status} ${postError}`);
  return { hops, claims };
}

const port = await freePort();
const issuer = `http://127.0.0.1:${port}`;
const redirectUri = 'http://127.0.0.1:3100/auth/oidc/callback'; // never contacted: we stop at the redirect
const { child, ready, output } = start({
  OIDC_PORT: String(port), OIDC_CLIENT_ID: clientId, OIDC_CLIENT_SECRET: clientSecret, OIDC_REDIRECT_URIS: redirectUri,
});
let status = 0;
try {
  await ready;
  const { hops, claims } = await flow(issuer, redirectUri);
  if (process.argv.includes('--verbose')) {
    console.log(`provider output:\n${output()}\nhops:\n${hops.join('\n')}\nID token claims:\n${JSON.stringify(claims, null, 2)}`);
  }
  console.log('oidc selftest ok');
} catch (err) {
  console.error(`oidc selftest failed: ${err.message}`);
  status = 1;
} finally {
  if (child.exitCode === null) {
    child.removeAllListeners('exit');
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    const code = await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 5_000, 'timeout'))]);
    if (code !== 0 && status === 0) { console.error(`provider did not exit cleanly on SIGTERM (${code})`); status = 1; }
    if (code === 'timeout') child.kill('SIGKILL');
  }
}
process.exit(status);
