/* Canopy tenant page: reveal-on-scroll and live automation status.
 * The page is complete without this file: it only adds motion and
 * updates the status badges in place when the server pushes a change. */
(function () {
	'use strict';

	var root = document.documentElement;
	var LABELS = {
		idle: 'Idle', generating: 'Generating', deploying: 'Deploying',
		live: 'Live', error: 'Error'
	};

	function reveal() {
		var reduce = window.matchMedia &&
			window.matchMedia('(prefers-reduced-motion: reduce)').matches;
		var items = document.querySelectorAll('.reveal');
		if (reduce || !('IntersectionObserver' in window) || !items.length)
			return;
		var io = new IntersectionObserver(function (entries) {
			entries.forEach(function (e) {
				if (e.isIntersecting) {
					e.target.classList.add('is-visible');
					io.unobserve(e.target);
				}
			});
		}, { rootMargin: '0px 0px -8% 0px', threshold: 0.06 });
		/* What is already on screen stays put; only what lies below the
		 * fold waits to be revealed, so nothing blinks on load. */
		var fold = window.innerHeight;
		Array.prototype.forEach.call(items, function (el) {
			if (el.getBoundingClientRect().top < fold)
				el.classList.add('is-visible');
			else
				io.observe(el);
		});
		root.classList.add('js');
	}

	/* Applies one status message to its row; false when the page has no
	 * row for that workflow (or no link to update) yet. */
	function applyStatus(panel, d) {
		var id = String(d.workflow_id);
		var row = /^[0-9]{1,18}$/.test(id) &&
			panel.querySelector('[data-workflow-id="' + id + '"]');
		if (!row)
			return false;
		var badge = row.querySelector('.badge');
		badge.className = 'badge badge--' + d.status;
		badge.querySelector('.badge__label').textContent = LABELS[d.status];
		var reason = row.querySelector('.wf__reason');
		var text = typeof d.reason === 'string' ? d.reason : '';
		reason.textContent = text;
		reason.hidden = !text;
		if (typeof d.name === 'string' && d.name)
			row.querySelector('.wf__name').textContent = d.name;
		/* The run URL is shown only while live, as the server renders it. */
		var url = d.status === 'live' && typeof d.url === 'string' &&
			/^https?:\/\//.test(d.url) ? d.url : '';
		var link = row.querySelector('.wf__link');
		if (link) {
			if (url)
				link.setAttribute('href', url);
			link.hidden = !url;
		} else if (url) {
			return false; /* the server's render brings the link */
		}
		return true;
	}

	/* Replaces the list with the server's current render of this page
	 * (a workflow the page did not know of, or its first link), then
	 * applies the message that asked for it: the render may predate it.
	 * One fetch at a time; a request meanwhile runs once after it. */
	function reloader(panel) {
		var busy = false, queued = null;
		function run(d) {
			if (!window.fetch || !window.DOMParser)
				return;
			if (busy) {
				queued = d;
				return;
			}
			busy = true;
			fetch(window.location.pathname, {
				credentials: 'same-origin', cache: 'no-store'
			}).then(function (r) {
				return r.ok ? r.text() : '';
			}).then(function (html) {
				var doc = new DOMParser().parseFromString(html, 'text/html');
				var fresh = doc.querySelector('[data-events-url]');
				if (!fresh)
					return;
				var old = panel.querySelectorAll('.wf-list, .status-empty');
				Array.prototype.forEach.call(old, function (el) {
					el.parentNode.removeChild(el);
				});
				var parts = fresh.querySelectorAll('.wf-list, .status-empty');
				Array.prototype.forEach.call(parts, function (el) {
					panel.appendChild(document.importNode(el, true));
				});
				applyStatus(panel, d);
			}).catch(function () {
				/* the next message or a reload will show it */
			}).then(function () {
				busy = false;
				if (queued) {
					var next = queued;
					queued = null;
					run(next);
				}
			});
		}
		return run;
	}

	function liveStatus() {
		var panel = document.querySelector('[data-events-url]');
		var url = panel && panel.getAttribute('data-events-url');
		if (!url || !('EventSource' in window))
			return;
		var reload = reloader(panel);
		/* Messages of one workflow can arrive out of order (the API and
		 * the deployer publish from different processes): the newest
		 * change seen wins. */
		var newest = {};
		function isStale(d) {
			var t = Date.parse(d.updated_at);
			if (isNaN(t))
				return false;
			var id = String(d.workflow_id);
			if (newest[id] !== undefined && t < newest[id])
				return true;
			newest[id] = t;
			return false;
		}
		var source = new EventSource(url);
		source.onopen = function () { panel.classList.add('is-connected'); };
		source.onerror = function () { panel.classList.remove('is-connected'); };
		source.onmessage = function (m) {
			var d;
			try { d = JSON.parse(m.data); } catch (e) { return; }
			if (!d || !Object.prototype.hasOwnProperty.call(LABELS, d.status) ||
			    isStale(d))
				return;
			if (!applyStatus(panel, d))
				reload(d);
		};
	}

	reveal();
	liveStatus();
})();
