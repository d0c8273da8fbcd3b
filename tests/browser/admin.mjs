// The admin in a real browser: an operator signs in through the form,
// creates a tenant, changes its theme (colour pickers, font) and its hero
// headline, publishes, and the tenant's own site shows the headline in the
// new colours and font.  On the way it adds an API key, a credential and
// an invitation through their forms, then photographs every admin screen
// (SCREENS below) as tests/out/screenshots/admin-<name>.png.
//
// During the whole run: no console error, no uncaught exception, no CSP
// violation, no failed request, no request to a host outside the stack,
// and every form post to /admin/ carried the page's CSRF token and was
// accepted (200 or 303).  The browser signs in exactly once.
//
// Env (from tests/integration/36-admin-browser.sh): CANOPY_DOMAIN, SPKI,
// BASE (the platform's https origin), SITE (the tenant's https origin),
// TENANT_SLUG, OPERATOR_EMAIL, OPERATOR_PASSWORD, MEMBER_EMAIL (a user
// made an editor of the tenant once it exists), CANOPY_CLI (the canopy
// binary), SHOTS (the screenshot directory).
import { execFileSync } from 'node:child_process';
import { env, ok, fail, run } from './browser.mjs';

const base = env('BASE');
const site = env('SITE');
const slug = env('TENANT_SLUG');
const domain = env('CANOPY_DOMAIN');
const shots = env('SHOTS');
const T = `/admin/tenants/${slug}`;

// Every admin screen, one line each: name (the file is admin-<name>.png),
// path (from the run's state s), signedOut (shot before signing in), phone
// (one more shot 390 px wide, admin-<name>-phone.png).
const SCREENS = [
	{ name: 'login', path: () => '/admin/login', signedOut: true },
	{ name: 'dashboard', path: () => '/admin/', phone: true },
	{ name: 'tenant-new', path: () => '/admin/tenants/new' },
	{ name: 'tenant', path: () => T },
	{ name: 'tenant-rename', path: () => `${T}/rename` },
	{ name: 'page', path: () => `${T}/page`, phone: true },
	{ name: 'preview', path: () => `${T}/page/preview` },
	{ name: 'versions', path: () => `${T}/page/versions` },
	{ name: 'version-diff', path: (s) => s.diffPath },
	{ name: 'theme', path: () => `${T}/theme` },
	{ name: 'members', path: () => `${T}/members` },
	{ name: 'keys', path: () => `${T}/keys` },
	{ name: 'credentials', path: () => `${T}/credentials` },
	{ name: 'audit', path: () => `${T}/audit` },
	{ name: 'audit-all', path: () => '/admin/audit' },
	{ name: 'password', path: () => '/admin/password' },
	{ name: 'workflows', path: () => `${T}/workflows` },
	{ name: 'workflow', path: (s) => s.workflowPath },
	{ name: 'logo', path: () => `${T}/logo` },
];

const DESKTOP = { width: 1280, height: 800 };
const MAX_HEIGHT = 5000;
const PHONE = { width: 390, height: 844 };
const HEADLINE = `Sourdough at dawn, bread by eight (${process.pid})`;
const PRIMARY = '#0f766e';
const PRIMARY_RGB = 'rgb(15, 118, 110)';
const TEXT = '#1c1917';
const GRADIENT = 'linear-gradient(135deg, #0f766e 0%, #115e59 100%)';
const FONT = 'Georgia';

// What went wrong in the browser, reported all together at the end.
const problems = [];
// Responses that are expected to fail (url -> status): the console
// reports them as errors too.
const expected = new Map();
const posts = [];

function isOurs(url) {
	const host = new URL(url).hostname;
	return host === domain || host.endsWith(`.${domain}`);
}

function watch(context) {
	context.on('console', (m) => {
		if (m.type() !== 'error')
			return;
		const where = m.location().url || '';
		if (expected.has(where) && /status of \d{3}/.test(m.text()))
			return;
		problems.push(`console error on ${where}: ${m.text()}`);
	});
	context.on('weberror', (e) => problems.push(`uncaught: ${e.error().message}`));
	context.on('request', (r) => {
		const url = r.url();
		if (!/^https?:/.test(url))
			return;
		if (!isOurs(url))
			problems.push(`a request left the stack: ${url}`);
		if (r.method() === 'POST' && url.startsWith(`${base}/admin/`))
			posts.push(r);
	});
	context.on('requestfailed', (r) => {
		const why = r.failure()?.errorText || '';
		// Navigating away cancels an open EventSource or a beacon.
		if (why !== 'net::ERR_ABORTED')
			problems.push(`${r.method()} ${r.url()} failed: ${why}`);
	});
	context.on('response', (r) => {
		const st = r.status();
		if (st >= 400 && expected.get(r.url()) !== st)
			problems.push(`${r.request().method()} ${r.url()} answered ${st}`);
	});
}

// Submits a form by clicking button; returns the status of the POST (the
// first answer: 303 for a redirect) once the resulting page has loaded.
async function submit(page, button) {
	const answer = page.waitForResponse((r) => r.request().method() === 'POST' &&
		r.request().isNavigationRequest() && r.frame() === page.mainFrame());
	const nav = page.waitForNavigation({ waitUntil: 'load' });
	await button.click();
	const [r] = await Promise.all([answer, nav]);
	return r.status();
}

function expectStatus(got, want, what) {
	if (got !== want)
		fail(`${what}: status ${got}, want ${want}`);
}

async function textOf(page, selector) {
	return ((await page.locator(selector).first().textContent()) || '').trim();
}

// Every stylesheet of the page loaded and has rules (a page that lost its
// CSS would still photograph, as plain HTML).
async function styled(page) {
	return page.evaluate(() => {
		const links = [...document.querySelectorAll('link[rel="stylesheet"]')];
		return links.length > 0 && links.every((l) => l.sheet && l.sheet.cssRules.length > 0);
	});
}

// Elements wider than a phone's screen: what makes the page scroll sideways.
async function overflow(page) {
	return page.evaluate(() => {
		const w = document.documentElement.clientWidth;
		if (document.documentElement.scrollWidth <= w)
			return null;
		const culprits = [];
		for (const el of document.body.querySelectorAll('*')) {
			const r = el.getBoundingClientRect();
			if (r.right > w + 1 && r.width > 0 && !el.closest('.visually-hidden')) {
				const parentOver = el.parentElement &&
					el.parentElement.getBoundingClientRect().right > w + 1;
				if (!parentOver || culprits.length === 0) {
					const cls = typeof el.className === 'string' && el.className
						? `.${el.className.trim().split(/\s+/).join('.')}` : '';
					culprits.push(`${el.tagName.toLowerCase()}${cls} (${Math.round(r.right)} px)`);
				}
			}
			if (culprits.length >= 4)
				break;
		}
		return { width: document.documentElement.scrollWidth, culprits };
	});
}

// A full-page PNG, cut at MAX_HEIGHT (the operators' tenant list can be
// hundreds of rows long).
async function shot(page, file) {
	await page.evaluate(() => document.fonts.ready);
	const height = await page.evaluate(() => document.documentElement.scrollHeight);
	const opts = { path: `${shots}/${file}`, fullPage: true, timeout: 15000 };
	if (height > MAX_HEIGHT) {
		opts.clip = { x: 0, y: 0, width: page.viewportSize().width, height: MAX_HEIGHT };
		console.log(`# ${file}: the first ${MAX_HEIGHT} px of ${height}`);
	}
	await page.screenshot(opts);
}

// Visits one screen and photographs it.
async function photograph(page, screen, state) {
	const path = screen.path(state);
	if (!path)
		fail(`no path for the ${screen.name} screen`);
	const url = `${base}${path}`;
	const r = await page.goto(url, { waitUntil: 'load' });
	if (r.status() !== 200)
		fail(`${screen.name} (${path}): status ${r.status()}`);
	if (new URL(page.url()).pathname !== new URL(url).pathname)
		fail(`${screen.name} (${path}) went to ${page.url()}`);
	if (!(await page.locator('h1').first().isVisible()))
		fail(`${screen.name} (${path}) shows no heading`);
	if (!(await styled(page)))
		fail(`${screen.name} (${path}) is not styled: a stylesheet did not load`);
	await shot(page, `admin-${screen.name}.png`);

	await page.setViewportSize(PHONE);
	const over = await overflow(page);
	if (over)
		console.log(`# note: ${screen.name} is ${over.width} px wide at ${PHONE.width} px: ` +
			over.culprits.join(', '));
	if (screen.phone)
		await shot(page, `admin-${screen.name}-phone.png`);
	await page.setViewportSize(DESKTOP);
	return true;
}

await run(async (context) => {
	watch(context);
	// CSP violations, reported by the page itself (chromium also logs them
	// to the console, which watch() catches too).
	await context.exposeBinding('__canopyCsp', (_src, v) =>
		problems.push(`CSP violation on ${v.url}: ${v.directive} blocked ${v.blocked}`));
	await context.addInitScript(() => {
		document.addEventListener('securitypolicyviolation', (e) =>
			window.__canopyCsp({ url: document.location.href,
				directive: e.effectiveDirective, blocked: e.blockedURI }), true);
	});
	const page = await context.newPage();
	await page.setViewportSize(DESKTOP);
	await page.emulateMedia({ reducedMotion: 'reduce' });
	const state = {};
	try {
		await flow(context, page, state);
	} catch (e) {
		await page.screenshot({ path: `${shots}/admin-failure.png`, fullPage: true })
			.catch(() => {});
		console.log(`# at ${page.url()} (tests/out/screenshots/admin-failure.png)`);
		for (const p of problems)
			console.log(`# ${p}`);
		throw e;
	}
});

async function flow(context, page, state) {
	// --- signed out -----------------------------------------------------
	for (const s of SCREENS.filter((x) => x.signedOut))
		await photograph(page, s, state);
	ok('the sign-in screen, photographed');

	// --- sign in: once, through the form ----------------------------------
	await page.goto(`${base}/admin/login`);
	await page.locator('#email').fill(env('OPERATOR_EMAIL'));
	await page.locator('#password').fill(env('OPERATOR_PASSWORD'));
	await expectStatus(await submit(page, page.getByRole('button', { name: 'Sign in' })),
		303, 'sign-in');
	if (new URL(page.url()).pathname !== '/admin/')
		fail(`sign-in led to ${page.url()}`);
	const cookie = (await context.cookies(`${base}/admin/`)).find((c) => c.name === 'canopy_session');
	if (!cookie || !cookie.httpOnly || !cookie.secure || cookie.sameSite !== 'Lax')
		fail(`the session cookie is ${JSON.stringify(cookie)}`);
	ok('signed in through the form; the cookie is HttpOnly, Secure, SameSite=Lax');

	// --- a tenant, through the form ----------------------------------------
	await page.getByRole('link', { name: 'New tenant' }).first().click();
	await page.waitForURL(`${base}/admin/tenants/new`);
	await page.locator('#name').fill('Juniper Bakery');
	await page.locator('#slug').fill(slug);
	await expectStatus(await submit(page, page.getByRole('button', { name: 'Create tenant' })),
		303, 'create the tenant');
	if (page.url() !== `${base}${T}` || (await textOf(page, 'h1')) !== 'Juniper Bakery')
		fail(`creating the tenant led to ${page.url()}`);
	execFileSync(env('CANOPY_CLI'), ['user', 'member', '--email', env('MEMBER_EMAIL'),
		'--tenant', slug, '--role', 'editor'], { stdio: 'ignore', timeout: 10000 });
	ok(`the tenant ${slug}, created through the form`);

	// --- theme: a contrast error first, then colours and font --------------
	await page.getByRole('link', { name: 'Theme', exact: true }).first().click();
	await page.waitForURL(`${base}${T}/theme`);
	const primaryText = page.locator('input[type="text"][name="colors.primary"]');
	await primaryText.fill('#a5b4fc');
	expected.set(`${base}${T}/theme`, 422);
	await expectStatus(await submit(page, page.getByRole('button', { name: 'Save theme' })),
		422, 'a theme with too little contrast');
	const err = page.locator('.admin-field--error .admin-error').first();
	if (!(await err.isVisible()) || !/contrast/i.test(await err.textContent()))
		fail('the contrast error is not shown next to the field');
	if ((await primaryText.inputValue()) !== '#a5b4fc')
		fail('the theme form does not keep what was typed');
	await shot(page, 'admin-flow-theme-error.png');
	ok('too little contrast: the form comes back with the input and the reason by the field');

	// The pickers, as a person uses them; admin-theme.js copies each into
	// its text field and repaints the sample.
	await page.locator('input[type="color"][name="pick.colors.primary"]').fill(PRIMARY);
	await page.locator('input[type="color"][name="pick.colors.text"]').fill(TEXT);
	if ((await primaryText.inputValue()) !== PRIMARY)
		fail('the colour picker did not update its text field');
	const painted = await page.locator('svg [data-fill="primary"]').first().getAttribute('fill');
	if (painted !== PRIMARY)
		fail(`the sample was not repainted (primary fill ${painted})`);
	await page.locator('#f-gradients-primary').fill(GRADIENT);
	await page.locator('#f-font-family').selectOption(FONT);
	await page.locator('#f-font-heading').selectOption(FONT);
	await expectStatus(await submit(page, page.getByRole('button', { name: 'Save theme' })),
		303, 'save the theme');
	if (!page.url().endsWith('/theme?notice=saved') ||
	    !(await page.locator('.admin-alert--ok').isVisible()))
		fail(`saving the theme led to ${page.url()} without a notice`);
	if ((await primaryText.inputValue()) !== PRIMARY ||
	    (await page.locator('#f-font-family').inputValue()) !== FONT)
		fail('the saved theme does not show the new colour and font');
	ok('theme: colours from the pickers, font and gradient saved');

	// --- page: the headline, saved twice (so a version differs), published --
	await page.getByRole('link', { name: 'Page', exact: true }).first().click();
	await page.waitForURL(`${base}${T}/page`);
	await page.locator('#f-hero-headline').fill(HEADLINE);
	const save = page.getByRole('button', { name: 'Save', exact: true }).first();
	await expectStatus(await submit(page, save), 303, 'save the page');
	if (!page.url().endsWith('/page?notice=saved'))
		fail(`saving the page led to ${page.url()}`);
	if ((await page.locator('#f-hero-headline').inputValue()) !== HEADLINE)
		fail('the saved page does not show the new headline');
	await page.locator('#f-hero-eyebrow').fill('Fresh from the oven');
	await page.locator('#f-hero-subheadline').fill(
		'Slow-fermented loaves, baked every morning in the old town.');
	await expectStatus(await submit(page, save), 303, 'save the page again');
	await expectStatus(await submit(page, page.getByRole('button', { name: 'Publish' })),
		303, 'publish');
	if (!page.url().endsWith('/page?notice=published') ||
	    (await textOf(page, '.admin-titlebar .badge')) !== 'published')
		fail(`publishing led to ${page.url()} without the published badge`);
	ok('page: headline saved, then published');

	// --- the tenant's own site ------------------------------------------------
	const deadline = Date.now() + 10000;
	for (;;) {
		const r = await page.goto(`${site}/`, { waitUntil: 'load' });
		if (r.status() === 200 && (await textOf(page, '#hero-title')) === HEADLINE)
			break;
		if (Date.now() > deadline)
			fail(`${site}/ does not show the new headline (status ${r.status()})`);
		await page.waitForTimeout(500);
	}
	const look = await page.evaluate(() => {
		const css = (sel, prop) => getComputedStyle(document.querySelector(sel))[prop];
		return {
			primary: getComputedStyle(document.documentElement)
				.getPropertyValue('--color-primary').trim(),
			button: css('.hero .btn--light', 'color'),
			hero: css('.hero', 'backgroundImage'),
			body: css('body', 'fontFamily'),
			heading: css('#hero-title', 'fontFamily'),
		};
	});
	if (look.primary !== PRIMARY || look.button !== PRIMARY_RGB)
		fail(`the site's primary colour is ${look.primary}, the hero button ${look.button}`);
	if (!look.hero.includes(PRIMARY_RGB))
		fail(`the hero's background is ${look.hero}`);
	if (!look.body.startsWith(FONT) || !look.heading.startsWith(FONT))
		fail(`the site's fonts are ${look.body} / ${look.heading}`);
	await shot(page, 'admin-flow-site.png');
	ok(`${site}/ shows the new headline in the new colour and font`);

	// --- an API key, a credential, an invitation -----------------------------
	await page.goto(`${base}${T}/keys`);
	await page.locator('#key-name').fill('Website deploys');
	await page.locator('input[name="scope"]').first().check();
	await expectStatus(await submit(page, page.getByRole('button', { name: 'Create key' })),
		200, 'create an API key');
	if (!/^cnp_/.test(await page.locator('[data-api-key]').inputValue()))
		fail('the new API key is not shown');
	await shot(page, 'admin-flow-key-created.png');

	await page.goto(`${base}${T}/credentials`);
	await page.locator('#cred-name').fill('slack_main');
	await page.locator('#cred-kind').selectOption('slackApi');
	await page.locator('#cred-secret').fill('{"accessToken": "xoxb-test-only"}');
	await expectStatus(await submit(page,
		page.getByRole('button', { name: 'Store encrypted' })), 200, 'store a credential');
	if (!(await page.getByRole('rowheader', { name: 'slack_main' }).isVisible()))
		fail('the stored credential is not listed');

	await page.goto(`${base}${T}/members`);
	await page.locator('#email').fill(`new-baker-${process.pid}@example.com`);
	await page.locator('#role').selectOption('editor');
	await expectStatus(await submit(page,
		page.getByRole('button', { name: 'Create invitation' })), 200, 'invite someone');
	if (!(await page.locator('#invite-link').inputValue()).includes('/admin/invite/'))
		fail('the invitation link is not shown');
	ok('an API key, a credential and an invitation through their forms');

	// --- a workflow: prompt, generated graph, deploy, live ---------------------
	// The stack's fake OpenAI writes the graph and its fake n8n takes it;
	// admin-workflow.js reloads the page when each step is done.
	await page.goto(`${base}${T}/workflows`);
	await page.locator('#wf-name').fill('Lead follow-up');
	await page.locator('#wf-prompt').fill(
		'When the lead form is posted, tidy it and post it to Slack.');
	await expectStatus(await submit(page,
		page.getByRole('button', { name: 'Generate workflow' })), 303, 'start a generation');
	state.workflowPath = new URL(page.url()).pathname;
	if (!/\/workflows\/\d+$/.test(state.workflowPath))
		fail(`generation went to ${page.url()}`);
	await page.locator('.wf-diagram-box svg').waitFor({ timeout: 30000 });
	await expectStatus(await submit(page,
		page.getByRole('button', { name: /^Deploy version/ })), 303, 'deploy');
	await page.locator('.wf-status .badge--live').waitFor({ timeout: 30000 });
	if (!(await page.locator('tr[data-deployment-id]').count()))
		fail('the deployment history is empty after a deploy');
	ok('a workflow from a prompt: its diagram shows by itself, then deploy and live without a reload by hand');

	// --- every screen ---------------------------------------------------------
	await page.goto(`${base}${T}/page/versions`);
	const versions = await page.locator('a[href*="/page/versions/"]').evaluateAll(
		(as) => as.map((a) => new URL(a.href).pathname));
	if (versions.length < 2)
		fail(`${versions.length} versions listed after two saves`);
	state.diffPath = versions[versions.length - 1]; // the oldest: it differs
	let shown = 0;
	for (const s of SCREENS.filter((x) => !x.signedOut))
		if (await photograph(page, s, state))
			shown++;
	await page.goto(`${base}${state.diffPath}`);
	if (!(await page.locator('.admin-diff').isVisible()))
		fail('the oldest version shows no differences');
	ok(`${shown} admin screens photographed (tests/out/screenshots/admin-*.png)`);

	// --- sign out (a form post too) ---------------------------------------
	await expectStatus(await submit(page, page.getByRole('button', { name: 'Sign out' })),
		303, 'sign out');
	if (new URL(page.url()).pathname !== '/admin/login')
		fail(`signing out led to ${page.url()}`);
	await page.goto(`${base}/admin/`);
	if (new URL(page.url()).pathname !== '/admin/login')
		fail('after signing out the dashboard still opens');
	ok('signed out; the admin asks to sign in again');

	// --- what the browser saw all along ---------------------------------
	const statuses = await Promise.all(posts.map(async (r) =>
		((await r.response()) || { status: () => 0 }).status()));
	const bad = [];
	let n = 0;
	posts.forEach((r, i) => {
		const path = new URL(r.url()).pathname;
		const form = new URLSearchParams(r.postData() || '');
		if (path !== '/admin/login' && !/^[A-Za-z0-9_-]{16,}$/.test(form.get('csrf') || ''))
			bad.push(`${path} carried no CSRF token`);
		// 422: the theme refused on purpose, above
		const fine = [200, 303].concat(path === `${T}/theme` ? [422] : []);
		if (!fine.includes(statuses[i]))
			bad.push(`${path} answered ${statuses[i]}`);
		n++;
	});
	// sign-in, tenant, theme twice, page twice, publish, key, credential,
	// invitation, workflow generate and deploy, sign-out
	if (n < 13 || bad.length)
		fail(`form posts (${n}): ${bad.join('; ') || 'too few'}`);
	ok(`${n} form posts from the browser, each with its CSRF token, each accepted`);
	for (const p of problems)
		console.log(`# ${p}`);
	if (problems.length)
		fail(`${problems.length} problems in the browser (console, CSP, requests): ${problems[0]}`);
	ok('no console error, no CSP violation, no failed or foreign request');
}
