/* The post editor's safety net (posts/form.html), no inline script (CSP):
 * - a cover image over the server's limit is refused as soon as it is chosen, naming the limit;
 * - a form whose files would make the request larger than the server accepts is not sent (a 413
 *   would otherwise answer, and the draft be gone);
 * - the draft is kept in this browser (localStorage) as it is typed, offered back after a reload,
 *   a crash or a refused request, and forgotten once the hub has saved it (app.js, on the page the
 *   save leads to). Body images are already uploaded when inserted: the draft holds their URLs. */
(function () {
  "use strict";
  var form = document.getElementById("post-form");
  if (!form) { return; }
  var L = form.dataset;
  var KEY = L.draftKey;
  var timer = null;
  var keeping = !!(KEY && window.localStorage);  // a local draft is kept (storage available)
  var FIELDS = ["title", "summary", "author", "category", "source_url", "publish_at", "content"];
  var cover = document.getElementById("cover-input");
  var coverError = document.getElementById("cover-error");
  var sizeError = document.getElementById("form-size-error");
  var status = document.getElementById("draft-status");

  function mb(bytes) { return (bytes / (1024 * 1024)).toFixed(1) + " MB"; }
  function stamp(d) {
    function two(n) { return (n < 10 ? "0" : "") + n; }
    return d.getFullYear() + "-" + two(d.getMonth() + 1) + "-" + two(d.getDate()) + " " +
      two(d.getHours()) + ":" + two(d.getMinutes());
  }
  function field(name) { return form.elements.namedItem(name); }

  // -- size limits ------------------------------------------------------------------------------
  if (cover) {
    cover.addEventListener("change", function () {
      var f = cover.files && cover.files[0];
      var max = parseInt(L.maxCover || "0", 10);
      if (f && max > 0 && f.size > max) {
        coverError.textContent = L.labelCoverTooLarge + "（" + L.labelSelected + " " + mb(f.size) + "）";
        coverError.hidden = false;
        cover.value = "";  // the rest of the form can still be saved
      } else {
        coverError.hidden = true;
        coverError.textContent = "";
      }
    });
  }

  function requestSize() {
    var total = 0;
    Array.prototype.forEach.call(form.elements, function (el) {
      if (el.type === "file") {
        Array.prototype.forEach.call(el.files || [], function (f) { total += f.size * 4 / 3; });  // sent as base64 later
      } else if (el.name && typeof el.value === "string") {
        total += new Blob([el.value]).size;
      }
    });
    return total;
  }

  form.addEventListener("submit", function (ev) {
    var max = parseInt(L.maxRequest || "0", 10);
    var size = requestSize();
    if (max > 0 && size > max) {
      ev.preventDefault();
      sizeError.textContent = L.labelRequestTooLarge + "（" + mb(size) + "）";
      sizeError.hidden = false;
      if (keeping) { save(); }
      return;
    }
    sizeError.hidden = true;
    if (keeping) { save(true); }
  });

  // -- local draft --------------------------------------------------------------------------------
  if (!keeping) { return; }

  function current() {
    var v = {};
    FIELDS.forEach(function (n) { var el = field(n); if (el) { v[n] = el.value; } });
    var orig = field("is_original");
    v.is_original = !!(orig && orig.checked);
    v.account_ids = Array.prototype.filter.call(form.querySelectorAll("input[name=account_ids]"),
      function (el) { return el.checked; }).map(function (el) { return el.value; });
    return v;
  }
  function same(a, b) {
    return FIELDS.concat(["is_original"]).every(function (n) { return (a[n] || "") === (b[n] || ""); }) &&
      (a.account_ids || []).join(",") === (b.account_ids || []).join(",");
  }
  var initial = current();

  function read() {
    try { return JSON.parse(window.localStorage.getItem(KEY) || "null"); } catch (e) { return null; }
  }
  var submittedAt = null;  // set once the form is sent: the page the save leads to forgets this draft
  function save(submitting) {
    window.clearTimeout(timer);
    timer = null;
    var v = current();
    if (same(v, initial) && !read()) { return; }
    var at = new Date();
    v.saved_at = at.getTime();
    if (submitting) { submittedAt = at.getTime(); }
    if (submittedAt) { v.submitted_at = submittedAt; }
    try {
      window.localStorage.setItem(KEY, JSON.stringify(v));
      if (status) { status.textContent = L.labelDraftSaved.replace("{at}", stamp(at)); }
    } catch (e) { /* storage full or off: nothing more to do */ }
  }

  function later() {
    window.clearTimeout(timer);
    timer = window.setTimeout(function () { save(); }, 800);
  }
  form.addEventListener("input", later);
  form.addEventListener("change", later);
  var holder = document.getElementById("editor");
  if (holder && holder.hubQuill) { holder.hubQuill.on("text-change", later); }
  window.addEventListener("pagehide", function () { if (timer) { save(); } });

  function restore(v) {
    FIELDS.forEach(function (n) {
      var el = field(n);
      if (el && typeof v[n] === "string" && n !== "content") { el.value = v[n]; }
    });
    var orig = field("is_original");
    if (orig) { orig.checked = !!v.is_original; }
    Array.prototype.forEach.call(form.querySelectorAll("input[name=account_ids]"), function (el) {
      el.checked = (v.account_ids || []).indexOf(el.value) >= 0;
      el.dispatchEvent(new Event("change", {bubbles: true}));
    });
    var content = field("content");
    if (content) {
      content.value = v.content || "";
      if (holder && holder.hubQuill) {
        holder.hubQuill.setContents([], "silent");
        if (v.content) { holder.hubQuill.clipboard.dangerouslyPasteHTML(0, v.content, "user"); }
      }
    }
    form.dispatchEvent(new Event("input", {bubbles: true}));
  }

  var offer = document.getElementById("draft-offer");
  var stored = read();
  if (stored && same(stored, initial)) {
    window.localStorage.removeItem(KEY);  // what the hub holds already
  } else if (stored && offer) {
    document.getElementById("draft-offer-text").textContent =
      L.labelDraftFound.replace("{at}", stamp(new Date(stored.saved_at || Date.now())));
    var yes = document.getElementById("draft-restore");
    var no = document.getElementById("draft-discard");
    yes.textContent = L.labelDraftRestore;
    no.textContent = L.labelDraftDiscard;
    offer.hidden = false;
    yes.addEventListener("click", function () {
      restore(stored);
      offer.hidden = true;
      if (status) { status.textContent = L.labelDraftRestored; }
    });
    no.addEventListener("click", function () {
      window.localStorage.removeItem(KEY);
      offer.hidden = true;
    });
  }
}());
