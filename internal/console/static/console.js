// greenlight console: live updates. Every page is complete without this
// script; it only keeps the page current. A page with data-live opens that
// event stream: "patch" replaces regions (element id -> HTML the server
// rendered and escaped), "append" adds text to the log (as text, never as
// HTML), "end" closes the stream.
(function () {
  "use strict";
  var url = document.body.getAttribute("data-live");
  if (!url || !window.EventSource) return;
  var state = document.getElementById("live-state");
  var log = document.getElementById("log");
  var follow = document.getElementById("follow");
  var source = new EventSource(url);
  function say(text) { if (state) state.textContent = text; }
  // A region holding the focus (a form being filled in) is patched only once
  // the focus leaves it.
  var pending = {};
  function apply() {
    Object.keys(pending).forEach(function (id) {
      var el = document.getElementById(id);
      if (!el) { delete pending[id]; return; }
      if (el.contains(document.activeElement)) return;
      el.innerHTML = pending[id];
      delete pending[id];
    });
  }
  document.addEventListener("focusout", function () { setTimeout(apply, 0); });
  if (log && follow && follow.checked) log.scrollTop = log.scrollHeight;
  source.addEventListener("patch", function (e) {
    var regions = JSON.parse(e.data);
    Object.keys(regions).forEach(function (id) { pending[id] = regions[id]; });
    apply();
    say("live updates on · updated " + new Date().toLocaleTimeString());
  });
  source.addEventListener("append", function (e) {
    if (!log) return;
    log.appendChild(document.createTextNode(JSON.parse(e.data)));
    if (follow && follow.checked) log.scrollTop = log.scrollHeight;
  });
  source.addEventListener("problem", function (e) { say("live updates: " + JSON.parse(e.data)); });
  source.addEventListener("end", function () { source.close(); say("finished: nothing more will change"); });
  source.onerror = function () { say("live updates interrupted; reconnecting…"); };
})();
