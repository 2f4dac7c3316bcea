// berth store page: copy buttons, and search and filters on the home page. No network, no
// dependencies; the pages work without it (every card shown, references selectable).
(function () {
  'use strict';

  function announce(text) {
    var el = document.getElementById('announce');
    if (el) { el.textContent = text; }
  }

  // --- Copy buttons ------------------------------------------------------------------------
  function copyFallback(text) {
    var area = document.createElement('textarea');
    area.value = text;
    area.setAttribute('readonly', '');
    area.className = 'offscreen';
    document.body.appendChild(area);
    area.select();
    var ok = false;
    try { ok = document.execCommand('copy'); } catch (e) { ok = false; }
    area.remove();
    return ok;
  }

  function copy(text) {
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(text).then(
        function () { return true; },
        function () { return copyFallback(text); });
    }
    return Promise.resolve(copyFallback(text));
  }

  function selectReference(button) {
    var row = button.closest('tr');
    var code = row && row.querySelector('code.ref');
    if (!code) { return; }
    var range = document.createRange();
    range.selectNodeContents(code);
    var sel = window.getSelection();
    sel.removeAllRanges();
    sel.addRange(range);
  }

  document.addEventListener('click', function (event) {
    var button = event.target.closest && event.target.closest('button.copy');
    if (!button) { return; }
    var text = button.getAttribute('data-copy');
    copy(text).then(function (ok) {
      button.setAttribute('data-copied', ok ? 'true' : 'false');
      button.textContent = ok ? 'Copied' : 'Press Ctrl+C';
      if (ok) {
        announce('Copied ' + text);
      } else {
        selectReference(button);
        announce('Copying is blocked here; the reference is selected, press Ctrl+C');
      }
      window.clearTimeout(button._berthTimer);
      button._berthTimer = window.setTimeout(function () {
        button.textContent = 'Copy';
        button.removeAttribute('data-copied');
      }, 2500);
    });
  });

  // --- Search and filters (home page) --------------------------------------------------------
  var list = document.getElementById('cards');
  var query = document.getElementById('q');
  if (!list || !query) { return; }
  var panel = document.getElementById('filters');
  var count = document.getElementById('count');
  var empty = document.getElementById('empty');
  var selects = Array.prototype.slice.call(panel.querySelectorAll('select[data-filter]'));
  var cards = Array.prototype.map.call(list.children, function (el) {
    return {
      el: el,
      text: el.getAttribute('data-search'),
      label: JSON.parse(el.getAttribute('data-labels')),
      scope: JSON.parse(el.getAttribute('data-scope')),
      category: el.getAttribute('data-category'),
      publisher: el.getAttribute('data-publisher')
    };
  });

  function matches(card, words, wanted) {
    for (var i = 0; i < words.length; i++) {
      if (card.text.indexOf(words[i]) < 0) { return false; }
    }
    for (var key in wanted) {
      var have = card[key];
      var want = wanted[key];
      if (Array.isArray(have) ? have.indexOf(want) < 0 : have !== want) { return false; }
    }
    return true;
  }

  function state() {
    var params = new URLSearchParams();
    if (query.value) { params.set('q', query.value); }
    selects.forEach(function (s) { if (s.value) { params.set(s.getAttribute('data-filter'), s.value); } });
    return params.toString();
  }

  function update(remember) {
    var words = query.value.toLowerCase().split(/\s+/).filter(Boolean);
    var wanted = {};
    selects.forEach(function (s) { if (s.value) { wanted[s.getAttribute('data-filter')] = s.value; } });
    var shown = 0;
    cards.forEach(function (card) {
      var show = matches(card, words, wanted);
      if (card.el.hidden === show) { card.el.hidden = !show; }
      if (show) { shown++; }
    });
    count.textContent = shown + ' of ' + cards.length + ' images';
    empty.hidden = shown > 0;
    if (remember) {
      var s = state();
      history.replaceState(null, '', s ? '#' + s : location.pathname + location.search);
    }
  }

  function restore() {
    var params = new URLSearchParams(location.hash.replace(/^#/, ''));
    query.value = params.get('q') || '';
    selects.forEach(function (s) {
      var v = params.get(s.getAttribute('data-filter')) || '';
      s.value = Array.prototype.some.call(s.options, function (o) { return o.value === v; }) ? v : '';
    });
  }

  function clear() {
    query.value = '';
    selects.forEach(function (s) { s.value = ''; });
    update(true);
    query.focus();
  }

  panel.hidden = false;
  query.addEventListener('input', function () { update(true); });
  selects.forEach(function (s) { s.addEventListener('change', function () { update(true); }); });
  document.getElementById('clear').addEventListener('click', clear);
  document.getElementById('clear2').addEventListener('click', clear);
  query.addEventListener('keydown', function (event) {
    if (event.key === 'Escape') { clear(); }
  });
  document.addEventListener('keydown', function (event) {
    var t = event.target;
    var typing = t && (t.tagName === 'INPUT' || t.tagName === 'SELECT' || t.tagName === 'TEXTAREA' || t.isContentEditable);
    if (event.key === '/' && !typing && !event.ctrlKey && !event.metaKey && !event.altKey) {
      event.preventDefault();
      query.focus();
    }
  });
  window.addEventListener('hashchange', function () { restore(); update(false); });
  restore();
  update(false);
})();
