(function () {
  'use strict';
  function setText(id, value) {
    var e = document.getElementById(id);
    if (e) { e.textContent = value; }
  }
  document.querySelectorAll('.player').forEach(function (p) {
    var id = p.getAttribute('data-player');
    var steps = JSON.parse(document.getElementById(id + '-data').textContent);
    var slider = document.getElementById(id + '-slider');
    var prev = document.getElementById(id + '-prev');
    var next = document.getElementById(id + '-next');
    var layers = document.getElementById(id + '-layers');
    var diagram = document.getElementById(id + '-diagram');
    var at = 0;
    // The state diagram: each endpoint's box lit, the arcs taken up to this step
    // traced, the ones of this very step drawn thick and moving.
    function lightDiagram() {
      if (!diagram) { return; }
      var s = steps[at];
      diagram.querySelectorAll('.node').forEach(function (n) {
        n.classList.toggle('lit-client', n.id === id + '-n-' + s.client_node);
        n.classList.toggle('lit-server', n.id === id + '-n-' + s.server_node);
      });
      var marks = {};
      for (var k = 1; k <= at; k++) {
        steps[k].arcs.forEach(function (a) {
          marks[a.edge] = marks[a.edge] || {};
          marks[a.edge][a.who] = k === at ? 'now' : (marks[a.edge][a.who] || 'past');
        });
      }
      diagram.querySelectorAll('.edge').forEach(function (e) {
        var m = marks[e.id.slice((id + '-e').length)] || {};
        ['client', 'server'].forEach(function (who) {
          e.classList.toggle('now-' + who, m[who] === 'now');
          e.classList.toggle('past-' + who, m[who] === 'past');
        });
      });
    }
    function show(n) {
      var before = steps[at];
      at = Math.max(0, Math.min(steps.length - 1, n));
      var s = steps[at];
      p.querySelectorAll('.seg').forEach(function (g) {
        var k = parseInt(g.getAttribute('data-step'), 10);
        g.classList.toggle('current', k === at);
        g.classList.toggle('past', k < at);
      });
      var cur = document.getElementById(id + '-s' + s.seg);
      if (cur && cur.scrollIntoView) { cur.scrollIntoView({block: 'nearest'}); }
      setText(id + '-client-state', s.client);
      setText(id + '-server-state', s.server);
      document.getElementById(id + '-client-box').classList.toggle('changed', at > 0 && before.client !== s.client);
      document.getElementById(id + '-server-box').classList.toggle('changed', at > 0 && before.server !== s.server);
      setText(id + '-caption', s.caption);
      setText(id + '-changes', s.changes.join(' · '));
      setText(id + '-pos', at + ' / ' + (steps.length - 1));
      while (layers.firstChild) { layers.removeChild(layers.firstChild); }
      var parent = layers;
      s.layers.forEach(function (l, i) {
        var box = document.createElement('div');
        box.className = 'layer l' + Math.min(i, 3);
        var name = document.createElement('div');
        name.className = 'name';
        name.textContent = l[0];
        var fields = document.createElement('div');
        fields.className = 'fields';
        fields.textContent = l[1];
        box.appendChild(name);
        box.appendChild(fields);
        parent.appendChild(box);
        parent = box;
      });
      lightDiagram();
      slider.value = String(at);
      prev.disabled = at === 0;
      next.disabled = at === steps.length - 1;
    }
    prev.addEventListener('click', function () { show(at - 1); });
    next.addEventListener('click', function () { show(at + 1); });
    slider.addEventListener('input', function () { show(parseInt(slider.value, 10)); });
    p.addEventListener('keydown', function (e) {
      if (e.key === 'ArrowRight') { show(at + 1); }
      if (e.key === 'ArrowLeft') { show(at - 1); }
    });
    show(0);
  });
  document.body.setAttribute('data-players-ready', 'true');
})();
