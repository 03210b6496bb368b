/* Live dispatch status on the post page: polls the post's status.json. No inline scripts (CSP). */
(function () {
  "use strict";
  var table = document.getElementById("dispatches");
  if (!table || table.getAttribute("data-live") !== "1") { return; }
  var url = table.getAttribute("data-status-url");
  var settled = ["published", "failed", "cancelled"];

  function badge(status, label) {
    var span = document.createElement("span");
    span.className = "status status-" + status;
    span.setAttribute("data-status", status);
    span.textContent = label;
    return span;
  }

  function poll() {
    fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) {
        if (!data) { return; }
        var rows = table.querySelectorAll("tr[data-dispatch]");
        if (rows.length !== data.dispatches.length) { window.location.reload(); return; }
        var done = true, reload = false;
        data.dispatches.forEach(function (d) {
          var row = table.querySelector('tr[data-dispatch="' + d.id + '"]');
          if (!row) { return; }
          var cell = row.querySelector(".d-status");
          cell.replaceChildren(badge(d.status, d.status_label));
          row.querySelector(".d-attempts").textContent = d.attempts;
          var info = row.querySelector(".d-info");
          if (d.url) {
            var a = document.createElement("a");
            a.href = d.url; a.target = "_blank"; a.rel = "noopener noreferrer";
            a.textContent = info.getAttribute("data-view-label") || "查看";
            info.replaceChildren(a);
          } else {
            info.textContent = d.error || "";
          }
          var last = row.querySelector(".d-last-text");
          if (last && d.attempts_log && d.attempts_log.length) {
            var a = d.attempts_log[d.attempts_log.length - 1];
            last.textContent = (a.message || a.outcome_label || "") + (a.finished_at ? "" : " …");
          }
          if (settled.indexOf(d.status) < 0) { done = false; }
          // A failure or an unsure result brings the page's "what to do" block (and the retry).
          if ((d.status === "failed" || d.status === "unconfirmed") &&
              !document.querySelector('#dispatch-attention li[data-dispatch="' + d.id + '"]')) { reload = true; }
        });
        if (reload) { window.location.reload(); return; }
        var ps = document.getElementById("post-status");
        if (ps) { ps.replaceChildren(badge(data.status, data.status_label)); }
        if (!done || data.status === "approved" || data.status === "publishing") {
          window.setTimeout(poll, 1500);
        }
      })
      .catch(function () { window.setTimeout(poll, 4000); });
  }
  window.setTimeout(poll, 800);
})();

/* The editor's local draft (draft.js) is forgotten once the hub has saved it: the save leads to the
 * post's page with a success message. Only drafts sent with that save (submitted_at) are removed. */
(function () {
  "use strict";
  var m = /^\/posts\/(\d+)$/.exec(window.location.pathname);
  if (!m || !document.querySelector(".flash-success") || !window.localStorage) { return; }
  var keep = [];
  for (var i = 0; i < window.localStorage.length; i++) { keep.push(window.localStorage.key(i)); }
  keep.forEach(function (key) {
    var parts = (key || "").split(":");
    if (parts[0] !== "hub-draft" || (parts[2] !== m[1] && parts[2] !== "new")) { return; }
    try {
      var v = JSON.parse(window.localStorage.getItem(key) || "null");
      if (v && v.submitted_at) { window.localStorage.removeItem(key); }
    } catch (e) { window.localStorage.removeItem(key); }
  });
}());
