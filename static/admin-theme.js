/* The theme editor's live sample: keeps each colour's picker and text
 * input in step and repaints the SVG sample as colours change.  The form
 * works without it (the server decides between picker and text). */
(function () {
	'use strict';
	var form = document.querySelector('[data-theme-form]');
	if (!form) return;
	var hex = /^#([0-9a-f]{3}|[0-9a-f]{6})$/i;
	function full(v) {
		v = v.trim().toLowerCase();
		if (!hex.test(v)) return null;
		if (v.length === 4) v = '#' + v[1] + v[1] + v[2] + v[2] + v[3] + v[3];
		return v;
	}
	function paint(key, value) {
		var els = document.querySelectorAll('[data-fill="' + key + '"]');
		for (var i = 0; i < els.length; i++) els[i].setAttribute('fill', value);
	}
	var rows = form.querySelectorAll('.admin-color');
	Array.prototype.forEach.call(rows, function (row) {
		var pick = row.querySelector('input[type="color"]');
		var text = row.querySelector('input[type="text"]');
		if (!pick || !text) return;
		var key = text.name.replace(/^colors\./, '');
		pick.addEventListener('input', function () {
			text.value = pick.value;
			paint(key, pick.value);
		});
		text.addEventListener('input', function () {
			var v = full(text.value);
			if (!v) return;
			pick.value = v;
			paint(key, v);
		});
	});
})();
