// The live page of `protolab watch`: one EventSource, a model of the
// connections built from its snapshot and updates, and the DOM drawn from the
// model. Updates carry a `seq`; those a snapshot already holds are ignored.
(function () {
  'use strict';
  var MAX_SEGS = 2000;      // segments kept per connection on the page
  var MAX_MESSAGES = 500;   // lines in the datagrams and messages list
  var ROW = 34, TOP = 44, LEFT = 120, RIGHT = 540, WIDTH = 660;
  var SVG = 'http://www.w3.org/2000/svg';

  var conns = {};           // flow -> {view, segs: [], dropped}
  var order = [];           // flows, in order of appearance
  var selected = null;      // flow shown on the ladder; null: follow the newest
  var pinned = false;       // the user picked it
  var paused = false, pending = 0;
  var lastSeq = 0, coalesced = 0;
  var kernelRows = {};
  var current = null;       // the clicked segment

  function $(id) { return document.getElementById(id); }
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) { e.className = cls; }
    if (text !== undefined) { e.textContent = text; }
    return e;
  }
  // The application messages a segment completed (chat, HTTP/1.1, HTTP/2).
  function hasApp(g) { return !!(g.app && g.app.length); }
  // One line for the ladder: the first message, and how many more there are.
  function appLine(g) {
    return g.app[0] + (g.app.length > 1 ? '  (+' + (g.app.length - 1) + ')' : '');
  }
  function svg(tag, attrs, text) {
    var e = document.createElementNS(SVG, tag);
    Object.keys(attrs).forEach(function (k) { e.setAttribute(k, attrs[k]); });
    if (text !== undefined) { e.textContent = text; }
    return e;
  }

  // ---- connections ----------------------------------------------------------
  function mark(ep) {
    if (ep.agree === null || ep.agree === undefined) {
      return {cls: 'kmark none', text: ep.state ? 'kernel: —' : ''};
    }
    if (ep.agree) { return {cls: 'kmark agree', text: '✓ kernel ' + ep.kernel}; }
    return {cls: 'kmark disagree', text: '✗ inferred ' + ep.state + ' ≠ kernel ' + ep.kernel};
  }
  function endpointLine(li, flow, who, ep) {
    var line = el('div', 'ep ' + who);
    line.appendChild(document.createTextNode(who + ' ' + ep.addr + ' '));
    var b = el('b', '', ep.state);
    b.id = 'conn-' + flow + '-' + who + '-state';
    line.appendChild(b);
    var m = mark(ep);
    var k = el('span', m.cls, m.text);
    k.id = 'conn-' + flow + '-' + who + '-kernel';
    line.appendChild(k);
    li.appendChild(line);
  }
  function drawConn(flow) {
    var c = conns[flow], v = c.view;
    var li = $('conn-' + flow);
    if (!li) {
      li = el('li', 'conn');
      li.id = 'conn-' + flow;
      li.setAttribute('data-flow', flow);
      li.addEventListener('click', function () { pinned = true; select(flow); });
      $('conns').appendChild(li);
      $('no-conns').style.display = 'none';
    }
    while (li.firstChild) { li.removeChild(li.firstChild); }
    li.appendChild(el('div', 'addrs', '#' + flow + ' ' + v.proto + '  ' + v.client.addr + ' → ' + v.server.addr));
    endpointLine(li, flow, 'client', v.client);
    endpointLine(li, flow, 'server', v.server);
    var counts = v.segments + (v.proto === 'udp' ? ' datagrams, ' : ' segments, ') + v.bytes + ' bytes';
    if (v.summarized) { counts += ' (' + v.summarized + ' counted, not drawn)'; }
    var n = el('div', 'counts', counts);
    n.id = 'conn-' + flow + '-counts';
    li.appendChild(n);
    li.classList.toggle('selected', flow === selected);
    if (flow === selected) { lightDiagram(); noteLadder(); }
  }
  function setConn(v) {
    var c = conns[v.flow];
    if (!c) {
      c = conns[v.flow] = {view: v, segs: [], dropped: 0};
      order.push(v.flow);
    }
    c.view = v;
    drawConn(v.flow);
    if (!pinned && selected !== v.flow && order[order.length - 1] === v.flow) { select(v.flow); }
  }
  function select(flow) {
    selected = flow;
    order.forEach(function (f) {
      var li = $('conn-' + f);
      if (li) { li.classList.toggle('selected', f === flow); }
    });
    current = null;
    clearLayers();
    drawLadder();
    lightDiagram();
  }

  // ---- the ladder -------------------------------------------------------------
  function ladderHead(s, v) {
    [['client', LEFT, v.client.addr], ['server', RIGHT, v.server.addr]].forEach(function (e) {
      s.appendChild(svg('text', {x: e[1], y: 16, 'text-anchor': 'middle', 'class': 'who'}, e[0]));
      s.appendChild(svg('text', {x: e[1], y: 32, 'text-anchor': 'middle', 'class': 'addr'}, e[2]));
    });
    var defs = svg('defs', {});
    var m = svg('marker', {id: 'w-arrow', viewBox: '0 0 10 10', refX: 9, refY: 5, markerWidth: 9, markerHeight: 9, markerUnits: 'userSpaceOnUse', orient: 'auto-start-reverse'});
    m.appendChild(svg('path', {d: 'M0,0 L10,5 L0,10 z', fill: 'context-stroke'}));
    defs.appendChild(m);
    s.appendChild(defs);
    s.appendChild(svg('line', {id: 'life-client', x1: LEFT, y1: TOP, x2: LEFT, y2: TOP, 'class': 'life'}));
    s.appendChild(svg('line', {id: 'life-server', x1: RIGHT, y1: TOP, x2: RIGHT, y2: TOP, 'class': 'life'}));
  }
  function segClass(g) {
    var c = 'seg';
    if (/[SFR]/.test(g.label.split(']')[0])) { c += ' ctl'; }
    if (g.flags.some(function (f) { return f.indexOf('retransmission') >= 0; })) { c += ' retrans'; }
    if (g.flags.indexOf('duplicate_ack') >= 0) { c += ' dup'; }
    return c;
  }
  function appendSeg(s, g, row) {
    var y = TOP + row * ROW;
    var fromX = g.from === 'client' ? LEFT : RIGHT, toX = g.from === 'client' ? RIGHT : LEFT;
    var grp = svg('g', {id: 'seg-' + g.flow + '-' + g.n, 'class': segClass(g), 'data-n': g.n});
    // The whole row answers a click, not only the thin arrow.
    grp.appendChild(svg('rect', {x: 0, y: y, width: WIDTH, height: ROW, fill: 'transparent', 'class': 'hit'}));
    grp.appendChild(svg('text', {x: 4, y: y + 14, 'class': 'fno'}, g.frame + '  +' + g.t.toFixed(3)));
    grp.appendChild(svg('line', {x1: fromX, y1: y + 8, x2: toX, y2: y + ROW - 6, 'marker-end': 'url(#w-arrow)'}));
    grp.appendChild(svg('text', {x: (LEFT + RIGHT) / 2, y: y + 8, 'text-anchor': 'middle', 'class': 'lbl'}, g.label));
    if (g.text || hasApp(g)) {
      grp.appendChild(svg('text', {x: (LEFT + RIGHT) / 2, y: y + ROW - 1, 'text-anchor': 'middle', 'class': hasApp(g) ? 'txt app' : 'txt'}, hasApp(g) ? appLine(g) : g.text));
    }
    if (g.client_state) {
      grp.appendChild(svg('text', {x: LEFT - 6, y: y + ROW - 6, 'text-anchor': 'end', 'class': 'st'}, g.client_state));
      grp.appendChild(svg('text', {x: RIGHT + 6, y: y + ROW - 6, 'class': 'st'}, g.server_state));
    }
    grp.addEventListener('click', function () { showLayers(g, grp); });
    s.appendChild(grp);
    var h = TOP + (row + 1) * ROW + 8;
    s.setAttribute('viewBox', '0 0 ' + WIDTH + ' ' + h);
    ['life-client', 'life-server'].forEach(function (id) { $(id).setAttribute('y2', h - 4); });
  }
  function drawLadder() {
    var s = $('ladder');
    while (s.firstChild) { s.removeChild(s.firstChild); }
    var c = conns[selected];
    if (!c) { clearAppMessages(); return; }
    $('ladder-title').textContent = 'Ladder of #' + selected;
    ladderHead(s, c.view);
    c.segs.forEach(function (g, i) { appendSeg(s, g, i); });
    drawAppMessages();
    noteLadder();
    follow();
  }
  function noteLadder() {
    var c = conns[selected];
    if (!c) { return; }
    var note = [];
    if (c.dropped) { note.push(c.dropped + ' earlier segments scrolled off'); }
    if (c.view.summarized) { note.push(c.view.summarized + ' segments only counted (heavy traffic: SYN, FIN, RST and state changes are always drawn)'); }
    if (paused) { note.push('paused: ' + pending + ' updates waiting'); }
    $('ladder-note').textContent = note.join(' · ');
  }
  function follow() {
    if (paused) { return; }
    var box = $('ladder-box');
    box.scrollTop = box.scrollHeight;
  }
  function addSeg(g) {
    var c = conns[g.flow];
    if (!c) { return; }
    c.segs.push(g);
    if (c.segs.length > MAX_SEGS) {
      c.segs.shift();
      c.dropped++;
      if (g.flow === selected && !paused) { drawLadder(); }
    } else if (g.flow === selected && !paused) {
      appendSeg($('ladder'), g, c.segs.length - 1);
      if (hasApp(g)) { appendAppMessages(g); }
      follow();
    }
    if (hasApp(g) || !c.view.client.state) { addMessage(g); }
  }

  // ---- layers of the clicked segment, as in the report's player -------------
  function clearLayers() {
    var layers = $('layers');
    while (layers.firstChild) { layers.removeChild(layers.firstChild); }
  }
  function showLayers(g, grp) {
    if (current) { current.classList.remove('current'); }
    current = grp;
    grp.classList.add('current');
    clearLayers();
    var parent = $('layers');
    g.layers.forEach(function (l, i) {
      var box = el('div', 'layer l' + Math.min(i, 3));
      box.appendChild(el('div', 'name', l[0]));
      box.appendChild(el('div', 'fields', l[1]));
      parent.appendChild(box);
      parent = box;
    });
    if (g.text) { parent.appendChild(el('div', 'fields', 'text: ' + g.text)); }
    if (hasApp(g)) { parent.appendChild(el('div', 'fields', 'messages: ' + g.app.join(' · '))); }
    if (g.changes.length) { parent.appendChild(el('div', 'fields', g.changes.join(' · '))); }
  }

  // ---- the selected connection's application messages, above its ladder -------
  // As the report's message sequence: one row a message, the segment that
  // completed it a click away.
  function clearAppMessages() {
    var tb = document.querySelector('#app-messages tbody');
    while (tb.firstChild) { tb.removeChild(tb.firstChild); }
    $('app-panel').style.display = 'none';
  }
  function appendAppMessages(g) {
    var tb = document.querySelector('#app-messages tbody');
    g.app.forEach(function (line) {
      var tr = el('tr', 'msg ' + g.from);
      tr.setAttribute('data-n', g.n);
      tr.appendChild(el('td', '', String(g.frame)));
      tr.appendChild(el('td', '', '+' + g.t.toFixed(3)));
      tr.appendChild(el('td', '', g.from === 'client' ? 'client →' : '← server'));
      tr.appendChild(el('td', '', line));
      tr.addEventListener('click', function () {
        var grp = $('seg-' + g.flow + '-' + g.n);
        if (grp) { showLayers(g, grp); grp.scrollIntoView({block: 'nearest'}); }
      });
      tb.appendChild(tr);
    });
    while (tb.childNodes.length > MAX_MESSAGES) { tb.removeChild(tb.firstChild); }
    $('app-panel').style.display = '';
    var box = $('app-box');
    if (!paused) { box.scrollTop = box.scrollHeight; }
  }
  function drawAppMessages() {
    clearAppMessages();
    var c = conns[selected];
    if (!c) { return; }
    c.segs.forEach(function (g) { if (hasApp(g)) { appendAppMessages(g); } });
  }

  // ---- the state diagram -------------------------------------------------------
  function lightDiagram() {
    var c = conns[selected];
    var v = c && c.view;
    document.querySelectorAll('#w-diagram .node').forEach(function (n) {
      n.classList.toggle('lit-client', !!v && n.id === 'w-n-' + v.client.state);
      n.classList.toggle('lit-server', !!v && n.id === 'w-n-' + v.server.state);
    });
  }

  // ---- kernel table and messages ----------------------------------------------
  function setKernel(k) {
    var key = k.local + ' ' + k.remote;
    var tr = kernelRows[key];
    if (!tr) {
      tr = kernelRows[key] = el('tr');
      tr.appendChild(el('td', '', k.local));
      tr.appendChild(el('td', '', k.remote));
      tr.appendChild(el('td'));
      document.querySelector('#kernel tbody').appendChild(tr);
    }
    tr.lastChild.textContent = k.state;
  }
  function addMessage(g) {
    var ul = $('messages');
    var c = conns[g.flow].view;
    var who = g.from === 'client' ? c.client.addr + ' → ' + c.server.addr : c.server.addr + ' → ' + c.client.addr;
    (hasApp(g) ? g.app : [g.text]).forEach(function (line) {
      ul.appendChild(el('li', '', '#' + g.flow + ' frame ' + g.frame + ' ' + who + ': ' + line));
    });
    while (ul.childNodes.length > MAX_MESSAGES) { ul.removeChild(ul.firstChild); }
    if (!paused) { ul.scrollTop = ul.scrollHeight; }
  }

  // ---- the stream ------------------------------------------------------------------
  function reset(snap) {
    conns = {}; order = []; kernelRows = {};
    ['conns', 'messages'].forEach(function (id) { var e = $(id); while (e.firstChild) { e.removeChild(e.firstChild); } });
    var tb = document.querySelector('#kernel tbody');
    while (tb.firstChild) { tb.removeChild(tb.firstChild); }
    var keep = pinned ? selected : null;
    selected = null;
    snap.conns.forEach(setConn);
    snap.segs.forEach(function (g) { var c = conns[g.flow]; if (c) { c.segs.push(g); if (hasApp(g) || !c.view.client.state) { addMessage(g); } } });
    snap.kernel.forEach(setKernel);
    $('kernel-source').textContent = snap.kernel_source ? 'from ' + snap.kernel_source : '';
    $('frames').textContent = snap.frames;
    coalesced = snap.coalesced;
    $('coalesced').textContent = coalesced;
    if (keep !== null && conns[keep]) { selected = keep; }
    select(selected !== null ? selected : order[order.length - 1]);
    lastSeq = snap.seq;
  }
  var held = [], stale = false;
  var MAX_HELD = 20000;
  function apply(u) {
    if (u.type === 'snapshot') { held = []; pending = 0; reset(u); return; }
    if (u.seq <= lastSeq) { return; }
    lastSeq = u.seq;
    if (u.type === 'conn') { setConn(u); }
    else if (u.type === 'seg') { addSeg(u); $('frames').textContent = u.frame; }
    else if (u.type === 'kernel') { setKernel(u); }
  }
  function receive(u) {
    // Paused: the page keeps everything but changes nothing on screen.
    if (paused && u.type !== 'snapshot') {
      // Bounded while paused too: past the cap the page forgets what it held and
      // asks for a fresh snapshot on resume.
      if (held.length < MAX_HELD) { held.push(u); } else { stale = true; }
      pending++;
      noteLadder();
      return;
    }
    apply(u);
  }
  $('pause').addEventListener('click', function () {
    paused = !paused;
    $('pause').textContent = paused ? 'Resume' : 'Pause';
    if (!paused) {
      var h = held; held = []; pending = 0;
      if (stale) { stale = false; connect(); } else { h.forEach(apply); }
      drawLadder();
    }
    noteLadder();
  });
  var source = null;
  // A new stream starts with a snapshot: the page is redrawn from it.
  function connect() {
    if (source) { source.close(); }
    source = new EventSource('events' + location.search);
    source.onopen = function () { $('status').textContent = 'live'; $('status').className = 'status live'; };
    source.onerror = function () { $('status').textContent = 'disconnected (retrying)'; $('status').className = 'status down'; };
    source.onmessage = function (e) { receive(JSON.parse(e.data)); };
  }
  connect();
  document.body.setAttribute('data-ready', 'true');
})();
