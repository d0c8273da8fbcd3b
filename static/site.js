/* Canopy tenant page: reveal-on-scroll, live automation status and
 * first-party analytics.  The page is complete without this file: it only
 * adds motion, updates the status badges in place when the server pushes
 * a change, and counts views and call-to-action clicks. */
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

	/* First-party analytics (lib/analytics.h): one page view when the
	 * page is shown and one click per call to action, posted to this
	 * site's own /_e.  The beacon carries the kind and nothing else: no
	 * cookie, no identifier, no path; the server keeps a count per day.
	 * A browser that asks not to be tracked (Do Not Track, Global
	 * Privacy Control) sends nothing, though nothing here could follow
	 * anyone: we take the request at its word.  Only the tenant's own
	 * page counts, not the admin's preview of it (another path, another
	 * host). */
	function analytics() {
		var body = document.body;
		if (!navigator.sendBeacon || !body ||
		    !body.classList.contains('page--site') ||
		    window.location.pathname !== '/')
			return;
		if (navigator.doNotTrack === '1' || window.doNotTrack === '1' ||
		    navigator.globalPrivacyControl === true)
			return;
		function send(kind) {
			try {
				navigator.sendBeacon('/_e', 'kind=' + kind);
			} catch (e) {
				/* a count lost is no reason to break the page */
			}
		}
		function view() { send('page_view'); }
		/* A page prerendered but never opened was not viewed. */
		if (document.prerendering)
			document.addEventListener('prerenderingchange', view, { once: true });
		else
			view();
		document.addEventListener('click', function (e) {
			var el = e.target;
			while (el && el !== body && !(el.hasAttribute &&
			       el.hasAttribute('data-cta')))
				el = el.parentNode;
			if (el && el !== body)
				send('cta_click');
		});
	}

	reveal();
	liveStatus();
	analytics();
})();
