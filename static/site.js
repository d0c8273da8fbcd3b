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

	function liveStatus() {
		var panel = document.querySelector('[data-events-url]');
		var url = panel && panel.getAttribute('data-events-url');
		if (!url || !('EventSource' in window))
			return;
		var source = new EventSource(url);
		source.onopen = function () { panel.classList.add('is-connected'); };
		source.onerror = function () { panel.classList.remove('is-connected'); };
		source.onmessage = function (m) {
			var d;
			try { d = JSON.parse(m.data); } catch (e) { return; }
			if (!d || !Object.prototype.hasOwnProperty.call(LABELS, d.status))
				return;
			var id = String(d.workflow_id);
			var row = /^[0-9]{1,18}$/.test(id) &&
				panel.querySelector('[data-workflow-id="' + id + '"]');
			if (!row)
				return;
			var badge = row.querySelector('.badge');
			badge.className = 'badge badge--' + d.status;
			badge.querySelector('.badge__label').textContent = LABELS[d.status];
			var reason = row.querySelector('.wf__reason');
			var text = typeof d.reason === 'string' ? d.reason : '';
			reason.textContent = text;
			reason.hidden = !text;
		};
	}

	reveal();
	liveStatus();
})();
