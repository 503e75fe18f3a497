// aexp charts: the static report and the dashboard draw with this file and
// the vendored ECharts. Pages hold their data as JSON in
// <script type="application/json" id="aexp-data">, or (dashboard sweep
// pages) fetch it from the JSON API and follow server-sent events.
(function () {
  'use strict';
  var A = window.aexp = { charts: {}, errors: [] };
  var palette = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf'];

  function font() { return getComputedStyle(document.body).fontFamily; }
  function base() {
    return { color: palette, animation: false, textStyle: { fontFamily: font(), fontSize: 12 } };
  }
  // init draws with SVG (crisp, and testable: the points are DOM nodes) unless
  // there are so many marks that a canvas is faster.
  function init(el, many) {
    var c = echarts.getInstanceByDom(el);
    if (!c) {
      c = echarts.init(el, null, { renderer: many ? 'canvas' : 'svg' });
      window.addEventListener('resize', function () { c.resize(); });
    }
    A.charts[el.id || el.dataset.name] = c;
    return c;
  }
  function fmt(v) {
    if (typeof v !== 'number' || !isFinite(v)) return String(v);
    var a = Math.abs(v);
    if (a !== 0 && (a < 1e-3 || a >= 1e5)) return v.toExponential(3);
    return String(+v.toPrecision(4));
  }
  function esc(s) {
    return String(s).replace(/[&<>"']/g, function (c) {
      return { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c];
    });
  }
  A.esc = esc;

  // curves draws a CurveSet: one line per configuration (the mean over its
  // seeds) with a band of ± one standard deviation, and a diamond where a
  // run of the line was pruned.
  A.curves = function (el, cs, title) {
    var series = [], lo = Infinity, hi = -Infinity, npts = 0, maxE = 0;
    cs.lines.forEach(function (l) {
      l.points.forEach(function (p) {
        lo = Math.min(lo, p[1], p[2]); hi = Math.max(hi, p[1], p[3]); maxE = Math.max(maxE, p[0]);
      });
    });
    var logY = lo > 0 && hi / lo > 30;
    var floor = lo > 0 ? lo : 1e-12;
    cs.lines.forEach(function (l, i) {
      var col = palette[i % palette.length];
      npts += l.points.length;
      var pts = l.points;
      series.push({
        type: 'custom', name: l.label, silent: true, z: 1, tooltip: { show: false },
        data: pts.map(function (p) { return [p[0], logY ? Math.max(p[2], floor) : p[2], p[3]]; }),
        encode: { x: 0, y: [1, 2] },
        renderItem: function (params, api) {
          if (params.dataIndex !== 0 || pts.length < 2) return;
          var poly = [], k;
          for (k = 0; k < pts.length; k++) poly.push(api.coord([pts[k][0], logY ? Math.max(pts[k][2], floor) : pts[k][2]]));
          for (k = pts.length - 1; k >= 0; k--) poly.push(api.coord([pts[k][0], pts[k][3]]));
          return { type: 'polygon', shape: { points: poly }, style: { fill: col, opacity: 0.18 } };
        }
      });
      series.push({
        type: 'line', name: l.label, z: 3, symbolSize: 5, showSymbol: true,
        lineStyle: { width: 2, color: col }, itemStyle: { color: col },
        data: pts.map(function (p) { return [p[0], p[1], p[4]]; })
      });
      if (l.pruned && l.pruned.length) {
        var at = {};
        pts.forEach(function (p) { at[p[0]] = p[1]; });
        series.push({
          type: 'scatter', name: l.label, z: 4, symbol: 'diamond', symbolSize: 11,
          itemStyle: { color: col, borderColor: '#000', borderWidth: 1 },
          tooltip: { formatter: function (p) { return esc(l.label) + '<br>pruned at epoch ' + p.value[0]; } },
          data: l.pruned.filter(function (e) { return e in at; }).map(function (e) { return [e, at[e]]; })
        });
      }
    });
    var o = base();
    // the title names the metric; the y axis carries no second copy of it
    o.title = { text: (title || cs.metric) + (logY ? ' (log scale)' : ''), left: 0, textStyle: { fontSize: 14, fontWeight: 600 } };
    o.grid = { left: 60, right: 290, top: 40, bottom: 40 };
    o.tooltip = {
      trigger: 'item', formatter: function (p) {
        var v = p.value;
        return esc(p.seriesName) + '<br>epoch ' + v[0] + ': ' + fmt(v[1]) + (v[2] > 1 ? ' (mean of ' + v[2] + ' seeds)' : '');
      }
    };
    o.legend = { type: 'scroll', orient: 'vertical', right: 0, top: 30, bottom: 10, width: 270,
      textStyle: { width: 240, overflow: 'truncate' }, tooltip: { show: true } };
    o.xAxis = { type: 'value', name: 'epoch', nameLocation: 'middle', nameGap: 25, minInterval: 1, max: Math.max(maxE, 1) };
    o.yAxis = { type: logY ? 'log' : 'value', scale: true,
      axisLabel: { formatter: fmt } };
    o.series = series;
    init(el).setOption(o, true);
    el.dataset.points = npts;
    el.dataset.lines = cs.lines.length;
    el.dataset.maxEpoch = maxE;
  };

  function axisOf(d) {
    if (d.kind === 'category') return { type: 'category', data: d.categories };
    return { type: d.kind === 'log' ? 'log' : 'value', scale: true };
  }
  function xValue(d, v) { return d.kind === 'category' ? d.categories[v] : v; }
  function objectiveRange(sc) {
    var lo = Infinity, hi = -Infinity;
    sc.trials.forEach(function (t) { lo = Math.min(lo, t.y); hi = Math.max(hi, t.y); });
    if (lo === hi) { hi = lo + 1; }
    return [lo, hi];
  }
  // Good runs are dark blue, bad ones red, whatever the goal.
  function ramp(sc) {
    var c = ['#08306b', '#2171b5', '#6baed6', '#fdae61', '#d73027'];
    return sc.objective.goal === 'maximize' ? c.slice().reverse() : c;
  }

  // parallel draws one polyline per finished run across the varying params
  // and the objective, coloured by the objective.
  A.parallel = function (el, sc) {
    var dims = sc.dims.map(function (d, i) {
      var ax = axisOf(d); ax.dim = i; ax.name = d.name; return ax;
    });
    dims.push({ dim: dims.length, name: sc.objective.metric, type: 'value', scale: true });
    var r = objectiveRange(sc);
    var o = base();
    o.parallel = { left: 50, right: 130, top: 50, bottom: 30 };
    o.parallelAxis = dims;
    o.visualMap = { type: 'continuous', dimension: dims.length - 1, min: r[0], max: r[1], right: 0, top: 40,
      calculable: true, inRange: { color: ramp(sc) }, text: [sc.objective.metric, ''], formatter: fmt };
    o.tooltip = { trigger: 'item', formatter: function (p) { return 'run ' + sc.trials[p.dataIndex].id + ': ' + fmt(p.value[p.value.length - 1]); } };
    o.series = [{
      type: 'parallel', lineStyle: { width: 1.2, opacity: sc.trials.length > 500 ? 0.25 : 0.7 },
      data: sc.trials.map(function (t) { return t.x.map(function (v, i) { return xValue(sc.dims[i], v); }).concat([t.y]); })
    }];
    init(el, sc.trials.length > 2000).setOption(o, true);
    el.dataset.points = sc.trials.length;
  };

  // slices draws the objective against each varying param, one small chart
  // each, log axes where the param is log-scaled.
  A.slices = function (el, sc) {
    el.innerHTML = '';
    var r = objectiveRange(sc), n = 0;
    sc.dims.forEach(function (d, i) {
      var div = document.createElement('div');
      div.className = 'chart small';
      div.dataset.name = 'slice-' + d.name;
      el.appendChild(div);
      var o = base();
      o.title = { text: d.name + (d.kind === 'log' ? ' (log)' : ''), left: 'center', textStyle: { fontSize: 13, fontWeight: 600 } };
      o.grid = { left: 60, right: 20, top: 35, bottom: 35 };
      var x = axisOf(d); x.name = d.name; x.nameLocation = 'middle'; x.nameGap = 22;
      if (d.kind !== 'category') x.axisLabel = { formatter: fmt };
      o.xAxis = x;
      o.yAxis = { type: 'value', scale: true, name: sc.objective.metric, axisLabel: { formatter: fmt } };
      o.visualMap = { show: false, type: 'continuous', dimension: 1, min: r[0], max: r[1], inRange: { color: ramp(sc) } };
      o.tooltip = { trigger: 'item', formatter: function (p) { return 'run ' + p.value[2] + '<br>' + esc(d.name) + ' = ' + esc(p.value[0]) + '<br>' + fmt(p.value[1]); } };
      o.series = [{
        type: 'scatter', symbolSize: 7, itemStyle: { opacity: 0.8, borderColor: '#333', borderWidth: 0.3 },
        data: sc.trials.map(function (t) { return [xValue(d, t.x[i]), t.y, t.id]; })
      }];
      n += sc.trials.length;
      init(div, sc.trials.length > 2000).setOption(o, true);
    });
    el.dataset.points = n;
  };

  // importance draws each param's share of the objective's variance.
  A.importance = function (el, sc) {
    var items = sc.importance.slice().reverse();
    var o = base();
    o.grid = { left: 140, right: 60, top: 20, bottom: 30 };
    o.xAxis = { type: 'value', max: 1, axisLabel: { formatter: function (v) { return Math.round(v * 100) + '%'; } } };
    o.yAxis = { type: 'category', data: items.map(function (it) { return it.param; }) };
    o.tooltip = { trigger: 'item', formatter: function (p) { return esc(p.name) + ': ' + (p.value * 100).toFixed(1) + '%'; } };
    o.series = [{ type: 'bar', data: items.map(function (it) { return it.share; }), itemStyle: { color: palette[0] },
      label: { show: true, position: 'right', formatter: function (p) { return (p.value * 100).toFixed(1) + '%'; } } }];
    el.style.height = Math.max(120, 40 + 32 * items.length) + 'px';
    init(el).setOption(o, true);
    el.dataset.points = items.length;
  };

  // sweepCharts draws the parallel, slice and importance plots when there is
  // something to draw, and hides their sections otherwise.
  A.sweepCharts = function (sc) {
    var show = function (id, on) { var s = document.getElementById(id); if (s) s.hidden = !on; };
    var ok = sc && sc.trials.length > 0 && sc.dims.length > 0;
    show('sec-parallel', ok); show('sec-slices', ok);
    show('sec-importance', ok && sc.importance.length > 0);
    if (!ok) return;
    A.parallel(document.getElementById('parallel'), sc);
    A.slices(document.getElementById('slices'), sc);
    if (sc.importance.length) A.importance(document.getElementById('importance'), sc);
  };

  // curvePicker fills the metric <select> and draws the chosen CurveSet.
  A.curvePicker = function (sets, onPick) {
    var sel = document.getElementById('metric'), el = document.getElementById('curves');
    if (!el || !sets || !sets.length) return;
    var pick = 0;
    if (sel) {
      // A live update keeps the metric the reader chose.
      var was = sel.selectedOptions.length ? sel.selectedOptions[0].textContent : '';
      sel.innerHTML = sets.map(function (s, i) { return '<option value="' + i + '">' + esc(s.metric) + '</option>'; }).join('');
      sets.forEach(function (s, i) { if (s.metric === was) pick = i; });
      sel.value = String(pick);
      sel.onchange = function () { A.curves(el, sets[+sel.value]); };
    }
    A.curves(el, sets[pick]);
  };

  // boot draws a page whose data is inline (the report, /compare, /runs/ID).
  A.boot = function () {
    var node = document.getElementById('aexp-data');
    if (!node) return;
    var d = JSON.parse(node.textContent);
    var any = d.curves && d.curves.length > 0, sec = document.getElementById('sec-curves');
    if (sec) sec.hidden = !any;
    if (any) A.curvePicker(d.curves);
    if (d.sweep) A.sweepCharts(d.sweep);
  };

  window.addEventListener('error', function (e) { A.errors.push(String(e.message)); });
  document.addEventListener('DOMContentLoaded', function () {
    if (document.body.dataset.page === 'sweep') A.sweepPage(); else A.boot();
    if (document.body.dataset.live) A.follow(document.body.dataset.live);
  });

  // follow re-reads the live parts of a server-rendered page (elements with
  // class "live-part") whenever the server says the store changed.
  A.follow = function (url) {
    if (!window.EventSource) return;
    var es = new EventSource(url), busy = false;
    es.onmessage = function () {
      if (busy) return;
      busy = true;
      fetch(location.href, { credentials: 'same-origin' }).then(function (r) { return r.text(); }).then(function (t) {
        var doc = new DOMParser().parseFromString(t, 'text/html');
        document.querySelectorAll('.live-part').forEach(function (old) {
          var neu = doc.getElementById(old.id);
          if (neu) old.innerHTML = neu.innerHTML;
        });
        var node = doc.getElementById('aexp-data');
        if (node && document.getElementById('aexp-data')) {
          document.getElementById('aexp-data').textContent = node.textContent;
          A.boot();
        }
      }).catch(function () {}).then(function () { busy = false; });
    };
  };
})();
