// The dashboard's sweep page: the runs table (sort, filter, select), the
// learning curves of the selected runs, and the sweep plots, all read from
// the JSON API and refreshed when the server reports a change.
(function () {
  'use strict';
  var A = window.aexp, esc = A.esc;
  var maxRows = 500;

  function num(v) {
    if (v === null || v === undefined) return '—';
    var a = Math.abs(v);
    if (a !== 0 && (a < 1e-3 || a >= 1e5)) return v.toExponential(3);
    return String(+v.toPrecision(4));
  }
  function get(url) {
    return fetch(url, { credentials: 'same-origin' }).then(function (r) {
      if (!r.ok) throw new Error(url + ': ' + r.status);
      return r.json();
    });
  }

  A.sweepPage = function () {
    var api = document.body.dataset.api;
    var st = { d: null, sel: null, metric: '', sort: 'objective', dir: 1, status: '', filter: '', busy: false, again: false };
    var $ = function (id) { return document.getElementById(id); };

    function cols() {
      var d = st.d, c = [{ k: 'id', h: 'run', n: true }, { k: 'status', h: 'status' }];
      if (d.variants.length > 1) c.push({ k: 'variant', h: 'variant' });
      d.params.forEach(function (p) { c.push({ k: 'p:' + p, h: p }); });
      if (d.runs.some(function (r) { return r.tags; })) c.push({ k: 'tags', h: 'tags' });
      c.push({ k: 'objective', h: d.sweep.objective + ' (best)', n: true }, { k: 'best_epoch', h: 'at epoch', n: true },
        { k: 'epochs', h: 'epochs', n: true }, { k: 'test_mse', h: 'test_mse', n: true }, { k: 'pca_mse', h: 'pca_mse', n: true },
        { k: 'seed', h: 'seed', n: true });
      return c;
    }
    function val(r, k) {
      if (k.indexOf('p:') === 0) return r.p[st.d.params.indexOf(k.slice(2))];
      if (k === 'tags') return r.tags ? Object.keys(r.tags).sort().map(function (t) { return t + '=' + r.tags[t]; }).join(' ') : null;
      return r[k];
    }
    function text(v) {
      if (v === null || v === undefined) return '—';
      if (typeof v === 'number') return num(v);
      if (Array.isArray(v)) return '[' + v.join(' ') + ']';
      return String(v);
    }
    function cmp(a, b) {
      var an = a === null || a === undefined, bn = b === null || b === undefined;
      if (an || bn) return an === bn ? 0 : an ? 1 : -1; // missing values last, either way
      if (typeof a === 'number' && typeof b === 'number') return a - b;
      return text(a) < text(b) ? -1 : text(a) > text(b) ? 1 : 0;
    }
    function rows() {
      var d = st.d, f = st.filter.trim().toLowerCase().split(/\s+/).filter(Boolean);
      var out = d.runs.filter(function (r) {
        if (st.status && r.status !== st.status) return false;
        if (!f.length) return true;
        var hay = ['run=' + r.id, 'status=' + r.status, 'variant=' + r.variant, 'seed=' + r.seed];
        d.params.forEach(function (k, i) { hay.push(k + '=' + text(r.p[i])); });
        if (r.tags) Object.keys(r.tags).forEach(function (k) { hay.push(k + '=' + r.tags[k]); });
        hay = hay.join(' ').toLowerCase();
        return f.every(function (w) { return hay.indexOf(w) >= 0; });
      });
      var k = st.sort, dir = st.dir;
      if (k === 'objective' && d.sweep.goal === 'maximize') dir = -dir;
      out.sort(function (a, b) {
        var x = cmp(val(a, k), val(b, k));
        if (x && (val(a, k) == null || val(b, k) == null)) return x; // missing last
        return x * dir || a.id - b.id;
      });
      return out;
    }
    function table() {
      var c = cols(), rs = rows(), h = [];
      h.push('<thead><tr><th><input type="checkbox" id="sel-all" title="select the rows shown"></th>');
      c.forEach(function (x) {
        var arrow = st.sort === x.k ? (st.dir > 0 ? ' ▲' : ' ▼') : '';
        h.push('<th data-k="' + esc(x.k) + '"' + (x.n ? ' class="num"' : '') + ' style="cursor:pointer">' + esc(x.h) + arrow + '</th>');
      });
      h.push('</tr></thead><tbody>');
      rs.slice(0, maxRows).forEach(function (r) {
        var on = st.sel.has(r.id);
        h.push('<tr data-id="' + r.id + '"' + (on ? ' class="sel"' : '') + '><td><input type="checkbox"' + (on ? ' checked' : '') + '></td>');
        c.forEach(function (x) {
          var v = val(r, x.k), cell = esc(text(v));
          if (x.k === 'id') cell = '<a href="/runs/' + r.id + '">' + r.id + '</a>';
          if (x.k === 'status') cell = '<span class="status-' + esc(r.status) + '"' + (r.error ? ' title="' + esc(r.error) + '"' : '') + '>' + esc(r.status) + '</span>';
          h.push('<td' + (x.n ? ' class="num"' : '') + '>' + cell + '</td>');
        });
        h.push('</tr>');
      });
      h.push('</tbody>');
      $('runs').innerHTML = h.join('');
      $('shown').textContent = rs.length > maxRows ? 'showing ' + maxRows + ' of ' + rs.length + ' matching runs (filter to narrow)' : rs.length + ' of ' + st.d.runs.length + ' runs';
      $('runs').querySelectorAll('th[data-k]').forEach(function (th) {
        th.onclick = function () {
          if (st.sort === th.dataset.k) st.dir = -st.dir; else { st.sort = th.dataset.k; st.dir = 1; }
          table();
        };
      });
      $('runs').querySelectorAll('tbody input').forEach(function (cb) {
        cb.onchange = function () {
          var id = +cb.closest('tr').dataset.id;
          if (cb.checked) st.sel.add(id); else st.sel.delete(id);
          cb.closest('tr').className = cb.checked ? 'sel' : '';
          selected();
        };
      });
      $('sel-all').onchange = function () {
        rs.slice(0, maxRows).forEach(function (r) { if ($('sel-all').checked) st.sel.add(r.id); else st.sel.delete(r.id); });
        table(); selected();
      };
    }
    function selected() {
      var ids = Array.from(st.sel).sort(function (a, b) { return a - b; });
      $('compare').href = '/compare?runs=' + ids.join(',');
      $('compare').hidden = ids.length === 0;
      $('nsel').textContent = ids.length + ' selected';
      return curves();
    }
    function curves() {
      var ids = Array.from(st.sel);
      if (!ids.length) { A.curves($('curves'), { metric: st.metric, lines: [] }); return Promise.resolve(); }
      return get(api + '/curves?metric=' + encodeURIComponent(st.metric) + '&runs=' + ids.join(','))
        .then(function (cs) { A.curves($('curves'), cs); });
    }
    function header() {
      var d = st.d, parts = [];
      Object.keys(d.counts).forEach(function (s) { parts.push('<span class="status-' + esc(s) + '">' + esc(s) + ' ' + d.counts[s] + '</span>'); });
      $('counts').innerHTML = 'sweep ' + esc(d.sweep.status) + ' · ' + d.runs.length + ' runs: ' + parts.join(' · ') +
        (d.best ? ' · best run <a href="/runs/' + d.best + '">' + d.best + '</a>' : '');
      var m = $('metric');
      if (m.options.length !== d.metrics.length) {
        m.innerHTML = d.metrics.map(function (x) { return '<option>' + esc(x) + '</option>'; }).join('');
      }
      m.value = st.metric;
      var sf = $('status');
      var want = '<option value="">all statuses</option>' + Object.keys(d.counts).map(function (s) { return '<option>' + esc(s) + '</option>'; }).join('');
      if (sf.innerHTML !== want) { sf.innerHTML = want; sf.value = st.status; }
    }
    function load() {
      if (st.busy) { st.again = true; return Promise.resolve(); }
      st.busy = true;
      return get(api).then(function (d) {
        st.d = d;
        if (!st.sel) st.sel = new Set(d.selected);
        if (!st.metric) st.metric = d.sweep.objective;
        header(); table();
        A.sweepCharts(d.charts);
        return selected();
      }).catch(function (e) { $('shown').textContent = 'could not load: ' + e.message; })
        .then(function () {
          st.busy = false;
          document.body.dataset.loaded = (+document.body.dataset.loaded || 0) + 1;
          if (st.again) { st.again = false; load(); }
        });
    }
    $('metric').onchange = function () { st.metric = $('metric').value; curves(); };
    $('status').onchange = function () { st.status = $('status').value; table(); };
    $('filter').oninput = function () { st.filter = $('filter').value; table(); };
    $('best').onclick = function () { st.sel = new Set(st.d.selected); table(); selected(); };
    $('clear').onclick = function () { st.sel = new Set(); table(); selected(); };
    load();
    if (window.EventSource) {
      var es = new EventSource(api + '/events');
      es.onopen = function () { $('live').className = 'live'; $('live').textContent = '● live'; };
      es.onerror = function () { $('live').className = 'live off'; $('live').textContent = '○ reconnecting'; };
      es.onmessage = function () { load(); };
    }
  };
})();
