/* A workflow's admin page while it is generating or deploying: asks the
 * page's status route (same origin, the session cookie) how the work is
 * going, shows the status as it changes and reloads the page once the
 * work is done, so the new graph, diagram and deployment appear.  The
 * polling is bounded (slower over time, at most MAX_TRIES asks) and never
 * reloads over an edit the person has not saved.  Without script the
 * page says to reload; the server renders the same. */
(function () {
	'use strict';
	var box = document.querySelector('[data-wf-status-url]');
	if (!box || !window.fetch) return;
	var url = box.getAttribute('data-wf-status-url');
	var badge = box.querySelector('[data-wf-badge]');
	var reason = box.querySelector('[data-wf-reason]');
	var note = box.querySelector('[data-wf-note]');
	var MAX_TRIES = 120;
	var tries = 0;
	var delay = 1500;
	var dirty = false;
	var shown = box.getAttribute('data-wf-status');

	function busy(s) { return s === 'generating' || s === 'deploying'; }
	if (!busy(shown)) return;

	var editors = document.querySelectorAll('form textarea, form input[type="text"]');
	Array.prototype.forEach.call(editors, function (el) {
		el.addEventListener('input', function () { dirty = true; });
	});

	function say(text) {
		if (note) note.textContent = text;
	}

	function show(d) {
		if (badge && d.status !== shown) {
			badge.className = 'badge badge--' + d.status;
			badge.lastChild.textContent = d.status;
			shown = d.status;
		}
		if (reason && d.reason) reason.textContent = d.reason;
	}

	function again() {
		if (++tries >= MAX_TRIES) {
			say('Still working. Reload the page later to see the result.');
			return;
		}
		delay = Math.min(delay * 1.25, 10000);
		window.setTimeout(ask, delay);
	}

	function ask() {
		window.fetch(url, {
			credentials: 'same-origin',
			cache: 'no-store',
			headers: { 'Accept': 'application/json' }
		}).then(function (r) {
			if (!r.ok) throw new Error('status ' + r.status);
			return r.json();
		}).then(function (d) {
			show(d);
			if (busy(d.status)) {
				say('Checking the status every few seconds.');
				again();
			} else if (dirty) {
				say('Done: ' + d.status + '. Reload the page to see the result ' +
					'(save or copy your edit first).');
			} else {
				window.location.reload();
			}
		}).catch(function () {
			again();
		});
	}

	say('Checking the status every few seconds.');
	window.setTimeout(ask, delay);
})();
