// Small SVG charts for the operator console, drawn with the DOM (no
// innerHTML, no inline style: the page's Content-Security-Policy allows
// neither). Every bar carries data-series, data-label and data-value, and
// every chart data-total, so what was drawn can be read back (the browser
// test does).

const NS = 'http://www.w3.org/2000/svg';

function el(parent, name, attrs = {}, text = null) {
  const e = document.createElementNS(NS, name);
  for (const [k, v] of Object.entries(attrs))
    e.setAttribute(k, String(v));
  if (text !== null)
    e.textContent = text;
  parent.appendChild(e);
  return e;
}

function size(svg) {
  const vb = svg.viewBox.baseVal;
  return { w: vb.width, h: vb.height };
}

function clear(svg) {
  while (svg.firstChild)
    svg.removeChild(svg.firstChild);
}

// A chart with nothing to show says why.
export function noData(svg, why = 'no data') {
  clear(svg);
  const { w, h } = size(svg);
  svg.dataset.total = '0';
  svg.dataset.empty = why;
  el(svg, 'text', { x: w / 2, y: h / 2, 'text-anchor': 'middle',
    class: 'nodata' }, why);
}

// A round top for an axis: 1, 2 or 5 times a power of ten.
function niceMax(v) {
  if (v <= 0)
    return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 5, 10]) {
    if (m * p >= v)
      return m * p;
  }
  return 10 * p;
}

// Stacked columns: rows [{label, values: {key: n}}], series [{key, label}]
// bottom first. Labels every `every` columns.
export function stackedColumns(svg, rows, series, every = 10) {
  clear(svg);
  delete svg.dataset.empty;
  const { w, h } = size(svg);
  const left = 34, bottom = 20, top = 8;
  const totals = rows.map((r) => series.reduce((s, x) =>
    s + (r.values[x.key] || 0), 0));
  const total = totals.reduce((a, b) => a + b, 0);
  const max = niceMax(Math.max(0, ...totals));
  const ph = h - bottom - top;
  const cw = (w - left) / Math.max(1, rows.length);
  el(svg, 'line', { x1: left, y1: h - bottom, x2: w, y2: h - bottom,
    class: 'axis' });
  el(svg, 'text', { x: left - 4, y: top + 8, 'text-anchor': 'end' }, max);
  el(svg, 'text', { x: left - 4, y: h - bottom, 'text-anchor': 'end' }, 0);
  rows.forEach((r, i) => {
    let y = h - bottom;
    for (const s of series) {
      const v = r.values[s.key] || 0;
      if (!v)
        continue;
      const bh = (v / max) * ph;
      y -= bh;
      el(svg, 'rect', { x: left + i * cw + 1, y, width: Math.max(1, cw - 2),
        height: bh, class: `bar s-${s.key}`, 'data-series': s.key,
        'data-label': r.label, 'data-value': v });
    }
    if (i % every === 0)
      el(svg, 'text', { x: left + i * cw, y: h - 5 }, r.label);
  });
  svg.dataset.total = String(total);
  if (!total)
    el(svg, 'text', { x: (left + w) / 2, y: h / 2, 'text-anchor': 'middle',
      class: 'nodata' }, 'nothing in this window yet');
}

// Horizontal bars: items [{key, label, value, cls}], values written out.
export function bars(svg, items, unit = '') {
  clear(svg);
  delete svg.dataset.empty;
  const { w, h } = size(svg);
  const left = 130, right = 60;
  const max = Math.max(0, ...items.map((x) => x.value));
  const rowH = h / Math.max(1, items.length);
  items.forEach((x, i) => {
    const y = i * rowH;
    const bw = max ? (x.value / max) * (w - left - right) : 0;
    el(svg, 'text', { x: left - 6, y: y + rowH / 2 + 4,
      'text-anchor': 'end' }, x.label);
    el(svg, 'rect', { x: left, y: y + rowH * 0.2, width: Math.max(bw, 0.5),
      height: rowH * 0.6, class: `bar ${x.cls || ''}`.trim(),
      'data-series': x.key, 'data-label': x.label, 'data-value': x.value });
    el(svg, 'text', { x: left + bw + 4, y: y + rowH / 2 + 4,
      class: 'value' }, `${x.value}${unit}`);
  });
  svg.dataset.total = String(items.reduce((a, x) => a + x.value, 0));
}

// Columns side by side: items [{key, label, value}], labels below.
export function columns(svg, items) {
  clear(svg);
  delete svg.dataset.empty;
  const { w, h } = size(svg);
  const bottom = 20, top = 16;
  const max = niceMax(Math.max(0, ...items.map((x) => x.value)));
  const cw = w / Math.max(1, items.length);
  items.forEach((x, i) => {
    const bh = (x.value / max) * (h - bottom - top);
    el(svg, 'rect', { x: i * cw + 6, y: h - bottom - bh,
      width: cw - 12, height: Math.max(bh, 0.5), class: 'bar',
      'data-series': x.key, 'data-label': x.label, 'data-value': x.value });
    el(svg, 'text', { x: i * cw + cw / 2, y: h - bottom - bh - 3,
      'text-anchor': 'middle', class: 'value' }, x.value);
    el(svg, 'text', { x: i * cw + cw / 2, y: h - 5,
      'text-anchor': 'middle' }, x.label);
  });
  svg.dataset.total = String(items.reduce((a, x) => a + x.value, 0));
}
