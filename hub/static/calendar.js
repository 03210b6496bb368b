// The publishing calendar (templates/posts/calendar.html): drag a scheduled post to another day
// (HTML5 drag and drop; the time of day is kept), or use 改期 with a date-time input (phones).
// Either way the post page's schedule form is posted (CSRF token) asking for JSON; the schedule
// rules answer, and a refusal is shown as the hub words it.
(function () {
  "use strict";
  var cal = document.querySelector("[data-testid=calendar]");
  if (!cal) { return; }
  var box = document.getElementById("cal-message");
  var csrf = document.getElementById("cal-csrf").value;
  function msg(name) { return cal.getAttribute("data-msg-" + name) || ""; }

  function say(text, ok) {
    box.textContent = text;
    box.className = "flash " + (ok ? "flash-success" : "flash-error");
    box.hidden = false;
  }

  function place(item, at) {
    item.setAttribute("data-at", at);
    item.querySelector(".cal-time").textContent = at.slice(11, 16);
    var input = item.querySelector("input[name=publish_at]");
    if (input) { input.value = at; }
    var day = cal.querySelector('.cal-day[data-day="' + at.slice(0, 10) + '"] .cal-items');
    if (day) { day.appendChild(item); } else { item.parentNode.removeChild(item); }
  }

  function move(item, at) {
    var body = new FormData();
    body.append("csrf_token", csrf);
    body.append("publish_at", at);
    item.classList.add("cal-busy");
    return fetch(item.getAttribute("data-url"), {
      method: "POST", body: body, credentials: "same-origin",
      headers: {"Accept": "application/json", "X-CSRFToken": csrf}
    }).then(function (r) {
      return r.json().then(function (data) { return {ok: r.ok, data: data}; },
                           function () { return {ok: false, data: {}}; });
    }).then(function (res) {
      item.classList.remove("cal-busy");
      if (res.ok) {
        place(item, at);
        say((res.data.message || msg("done")) + " · " + (res.data.publish_at_local || at.replace("T", " ")), true);
        return true;
      }
      var err = res.data.error || {};
      say(msg("refused") + (err.message || msg("retry")), false);
      return false;
    }, function () {
      item.classList.remove("cal-busy");
      say(msg("refused") + msg("network"), false);
      return false;
    });
  }

  var dragged = null;
  cal.addEventListener("dragstart", function (ev) {
    var item = ev.target.closest ? ev.target.closest(".cal-item[draggable=true]") : null;
    if (!item) { return; }
    dragged = item;
    ev.dataTransfer.effectAllowed = "move";
    ev.dataTransfer.setData("text/plain", item.getAttribute("data-post-id"));
    item.classList.add("cal-dragging");
  });
  cal.addEventListener("dragend", function () {
    if (dragged) { dragged.classList.remove("cal-dragging"); }
    dragged = null;
    cal.querySelectorAll(".cal-over").forEach(function (d) { d.classList.remove("cal-over"); });
  });
  cal.addEventListener("dragover", function (ev) {
    var day = ev.target.closest ? ev.target.closest(".cal-day") : null;
    if (!dragged || !day) { return; }
    ev.preventDefault();
    ev.dataTransfer.dropEffect = "move";
    cal.querySelectorAll(".cal-over").forEach(function (d) { if (d !== day) { d.classList.remove("cal-over"); } });
    day.classList.add("cal-over");
  });
  cal.addEventListener("drop", function (ev) {
    var day = ev.target.closest ? ev.target.closest(".cal-day") : null;
    if (!dragged || !day) { return; }
    ev.preventDefault();
    day.classList.remove("cal-over");
    var item = dragged;
    var at = item.getAttribute("data-at");
    var target = day.getAttribute("data-day");
    if (at.slice(0, 10) === target) { return; }
    move(item, target + at.slice(10));
  });

  cal.addEventListener("click", function (ev) {
    var btn = ev.target.closest ? ev.target.closest(".cal-move-btn, .cal-move-cancel") : null;
    if (!btn) { return; }
    var form = btn.closest(".cal-item").querySelector(".cal-move-form");
    form.hidden = btn.classList.contains("cal-move-cancel") ? true : !form.hidden;
    if (!form.hidden) { form.querySelector("input[name=publish_at]").focus(); }
  });
  cal.addEventListener("submit", function (ev) {
    var form = ev.target.closest(".cal-move-form");
    if (!form) { return; }
    ev.preventDefault();
    var value = form.querySelector("input[name=publish_at]").value;
    if (!value) { say(msg("refused") + msg("pick"), false); return; }
    move(form.closest(".cal-item"), value.slice(0, 16)).then(function (ok) { if (ok) { form.hidden = true; } });
  });
})();
