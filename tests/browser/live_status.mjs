// The tenant page's Status section in a real browser: it subscribes to the
// tenant's /events stream (nchan) and updates a workflow's badge, reason
// and link in place, and a workflow it did not list when it loaded shows
// up without a reload.
//
// As the deployer does, each step changes the workflows row first and then
// publishes the change (the page may fetch its server render to show
// what a message alone cannot, like a new row or a first link).
//
// Env (from tests/integration/35-live-status.sh): CANOPY_DOMAIN, SPKI,
// SITE (the tenant's https origin), PUBLISH (the tenant's nchan publisher
// URL), WF_ID (a workflow listed as deploying), SQL (a shell command that
// runs the SQL appended to it in double quotes and prints the result),
// TENANT_SLUG, SHOTS (a directory for a screenshot).
import { execSync } from 'node:child_process';
import { env, ok, fail, run } from './browser.mjs';

const site = env('SITE');
const publishUrl = env('PUBLISH');
const wfId = env('WF_ID');

function sql(query) {
	return execSync(`${env('SQL')} "${query}"`, { encoding: 'utf8' }).trim();
}

// Sets the row as the deployer would, then publishes the message.
async function change(id, status, reason, url) {
	const lit = (v) => (v === null ? 'NULL' : `'${v.replace(/'/g, "''")}'`);
	sql(`UPDATE workflows SET status = '${status}', status_reason = ${lit(reason)},
	     last_run_url = ${lit(url)} WHERE id = ${Number(id)}`);
	await publish({ type: 'workflow.status', workflow_id: Number(id), status,
		reason, url });
}

async function publish(message) {
	const r = await fetch(publishUrl, {
		method: 'POST',
		headers: { 'Content-Type': 'application/json' },
		body: JSON.stringify(message),
	});
	if (!r.ok)
		fail(`the nchan publisher answered ${r.status}`);
}

await run(async (context) => {
	const page = await context.newPage();
	await page.goto(`${site}/`);
	const row = page.locator(`[data-workflow-id="${wfId}"]`);
	if ((await row.locator('.badge__label').textContent()) !== 'Deploying')
		fail('the workflow is not shown as Deploying on load');
	await page.locator('.status-panel.is-connected').waitFor();
	ok('the Status section shows the workflow and connects to /events');

	await change(wfId, 'live', null, 'https://hooks.example.test/lead');
	await row.locator('.badge--live').waitFor({ timeout: 5000 });
	const label = await row.locator('.badge__label').textContent();
	const href = await row.locator('a.wf__link').getAttribute('href');
	if (label !== 'Live' || href !== 'https://hooks.example.test/lead')
		fail(`after a live message the row says ${label} and links ${href}`);
	ok('a published status change updates the badge and the link in place');

	await change(wfId, 'error', 'n8n answered 500 <script>x</script>', null);
	await row.locator('.badge--error').waitFor({ timeout: 5000 });
	const reason = row.locator('.wf__reason');
	if ((await reason.textContent()) !== 'n8n answered 500 <script>x</script>' ||
	    await reason.isHidden())
		fail('the error reason is not shown as text');
	ok('an error shows its reason, as text');

	const newId = sql(`INSERT INTO workflows (tenant_id, name, status)
	     SELECT id, 'Invoice reminder', 'generating' FROM tenants
	      WHERE slug = '${env('TENANT_SLUG')}' RETURNING id`);
	await publish({ type: 'workflow.status', workflow_id: Number(newId),
		status: 'generating', reason: null, url: null });
	await page.locator(`[data-workflow-id="${newId}"] .badge--generating`)
		.waitFor({ timeout: 5000 });
	ok('a workflow created after the page loaded appears without a reload');

	// For the picture: scrolled into view, revealed, its transition over.
	await page.locator('#status').scrollIntoViewIfNeeded();
	await page.locator('.status-panel.is-visible').waitFor();
	await page.waitForTimeout(1000);
	await page.locator('#status').screenshot({ path: `${env('SHOTS')}/live-status.png` });
});
