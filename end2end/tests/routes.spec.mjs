// Every page answers a signed-out visitor with a whole page rendered on the server: 200, or 401
// with a link to the sign-in page, or a redirect to it. A panic while rendering closes the
// connection with nothing sent, or cuts the page short. The routes are read from the app's
// router, so a new page is covered without touching this file.
import { test, expect } from '@playwright/test';
import { readFileSync } from 'node:fs';

const router = readFileSync(new URL('../../app/src/lib.rs', import.meta.url), 'utf8');
const patterns = [...router.matchAll(/<Route\s+path=path!\("([^"]*)"\)/g)].map((m) => m[1]);

// A value for each path parameter; nothing needs to exist behind it.
const WORKFLOW = '00000000-0000-4000-8000-000000000000';
function concrete(pattern) {
  const path = pattern
    .replace(/^\/workflows\/:id/, `/workflows/${WORKFLOW}`)
    .replace(/:id|:tenant/g, 'demo')
    .replace(':environment', 'dev')
    .replace(':key', '2251799813685249');
  if (path.includes(':')) throw new Error(`no value for a parameter of ${pattern}`);
  return path || '/';
}

const paths = [
  ...patterns.map(concrete),
  // Opening a saved workflow renders another branch of the Studio than a new diagram.
  `/studio?workflow=${WORKFLOW}`,
];

test('the router is read: the pages known today are among the routes', () => {
  for (const known of ['', '/studio', '/login', '/tenants/:id', '/monitor/:tenant/:environment/:key']) {
    expect(patterns).toContain(known);
  }
});

for (const path of paths) {
  test(`${path} answers a signed-out visitor`, async ({ request }) => {
    const response = await request.get(path, { maxRedirects: 0 });
    const status = response.status();
    if (status >= 300 && status < 400) {
      expect(new URL(response.headers().location, 'http://host').pathname).toBe('/login');
      return;
    }
    expect([200, 401]).toContain(status);
    const html = await response.text();
    expect(html).toContain('</html>');
    if (status === 401) {
      expect(html).toContain('data-testid="signed-out"');
      expect(html).toContain('href="/login"');
    }
  });
}
