// What the browser tests share: Debian's chromium driven by playwright-core,
// names under the stack's domain resolved to loopback, and the TAP-style
// output of tests/integration (ok / not ok lines).
import { chromium } from 'playwright-core';

export function env(name) {
	const v = process.env[name];
	if (!v) {
		console.log(`not ok - ${name} is not set`);
		process.exit(1);
	}
	return v;
}

// Launches chromium trusting exactly the stack's certificate (SPKI: the
// base64 SHA-256 of its public key, from server_spki in
// tests/integration/lib.sh), with the stack's names resolved to loopback.
export async function launch() {
	const domain = env('CANOPY_DOMAIN');
	const browser = await chromium.launch({
		executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
		args: [
			'--no-sandbox',
			`--host-resolver-rules=MAP *.${domain} 127.0.0.1, MAP ${domain} 127.0.0.1`,
			`--ignore-certificate-errors-spki-list=${env('SPKI')}`,
		],
	});
	const context = await browser.newContext();
	context.setDefaultTimeout(10000);
	return { browser, context };
}

export function ok(what) {
	console.log(`ok - ${what}`);
}

export function fail(what) {
	console.log(`not ok - ${what}`);
	process.exit(1);
}

// Runs body(context) and turns any exception into "not ok" with its message.
export async function run(body) {
	const { browser, context } = await launch();
	try {
		await body(context);
	} catch (e) {
		console.log(`not ok - ${e.message.split('\n')[0]}`);
		await browser.close();
		process.exit(1);
	}
	await browser.close();
}
