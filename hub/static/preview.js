/* Per-platform preview and live limit checks in the post editor (post_preview.html).
 *
 * For every platform among the ticked accounts: instant counters against the adapter's limits
 * (rendered into data-limits), and, debounced, the server's preview and the problems the real
 * adapter validate() reports (web.platform_preview), so the editor and the save path agree.
 * No inline scripts (CSP script-src 'self'); the CSRF token travels in X-CSRFToken.
 */
(function () {
  "use strict";
  var box = document.getElementById("platform-preview");
  var form = document.getElementById("post-form");
  if (!box || !form) { return; }
  var L = box.dataset;
  var limits = {};
  try { limits = JSON.parse(L.limits || "{}"); } catch (e) { limits = {}; }
  var list = document.getElementById("platform-preview-list");
  var statusEl = document.getElementById("platform-preview-status");
  var csrf = form.querySelector("input[name=csrf_token]");
  var coverInput = form.querySelector("input[name=cover]");
  var accountInfo = {};
  Array.prototype.forEach.call(box.querySelectorAll(".pv-accounts li"), function (li) {
    accountInfo[li.dataset.accountId] = {platform: li.dataset.platform, name: li.dataset.name,
                                         label: li.dataset.platformLabel};
  });
  var quill = null;
  var holder = document.getElementById("editor");
  var timer = null;
  var seq = 0;
  var coverUrl = "";
  var last = null;   // the latest server answer

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) { e.className = cls; }
    if (text !== undefined && text !== null) { e.textContent = text; }
    return e;
  }
  function field(name) {
    var f = form.querySelector("[name=" + name + "]");
    return f ? f.value : "";
  }
  function content() {
    if (quill) {
      var html = quill.getSemanticHTML ? quill.getSemanticHTML() : quill.root.innerHTML;
      return quill.getText().trim() ? html : "";
    }
    return field("content");
  }
  function chars(s) { return Array.from(s || "").length; }
  /* Weibo counts a CJK character as 1 and two ASCII characters as 1 (as adapters/weibo.py). */
  function weiboLength(s) {
    var all = Array.from(s || "");
    var ascii = all.filter(function (c) { return c.charCodeAt(0) < 128; }).length;
    return (all.length - ascii) + Math.floor((ascii + 1) / 2);
  }
  function selectedIds() {
    return Array.prototype.map.call(form.querySelectorAll("input[name=account_ids]:checked"),
      function (i) { return parseInt(i.value, 10); }).filter(function (n) { return !isNaN(n); });
  }
  function platformsOf(ids) {
    var out = {};
    ids.forEach(function (id) {
      var info = accountInfo[String(id)];
      if (!info) { return; }
      (out[info.platform] = out[info.platform] || {label: info.label, names: []}).names.push(info.name);
    });
    return out;
  }
  function state() {
    var postId = parseInt(L.postId || "", 10);
    return {title: field("title"), summary: field("summary"), author: field("author"),
            source_url: field("source_url"), content: content(), account_ids: selectedIds(),
            post_id: isNaN(postId) ? null : postId};
  }

  /* One counter line: "标题 40/32 字", marked .over when beyond the limit. */
  function counter(label, n, max, strict) {
    var over = strict ? n >= max : n > max;
    var li = el("li", "pv-count" + (over ? " over" : ""));
    li.dataset.over = over ? "1" : "0";
    li.textContent = label + " " + n + "/" + max + " " + L.labelChars +
      (over ? "（" + (strict ? L.labelUnder + " " + max + " " + L.labelChars : L.labelOver) + "）" : "");
    return li;
  }
  function localCounts(platform, s, answer) {
    var lim = limits[platform] || {};
    var ul = el("ul", "pv-counts");
    if (platform === "wechat") {
      if (lim.title) { ul.appendChild(counter(L.labelTitle, chars(s.title), lim.title)); }
      if (lim.author) { ul.appendChild(counter(L.labelAuthor, chars(s.author), lim.author)); }
      if (lim.summary) { ul.appendChild(counter(L.labelSummary, chars(s.summary), lim.summary)); }
      if (lim.content) { ul.appendChild(counter(L.labelContent, s.content.length, lim.content, true)); }
    } else if (platform === "weibo") {
      if (answer && answer.counts) {
        ul.appendChild(counter(L.labelText, answer.counts.text, answer.counts.text_max));
      } else if (lim.text) {
        ul.appendChild(counter(L.labelTitle, weiboLength(s.title), lim.text));
      }
    } else if (lim.title) {
      ul.appendChild(counter(L.labelTitle, chars(s.title), lim.title));
      if (lim.summary) { ul.appendChild(counter(L.labelSummary, chars(s.summary), lim.summary)); }
    }
    return ul;
  }

  function wechatCard(p) {
    var card = el("div", "pv-card pv-wechat");
    var cover = el("div", "pv-cover");
    var accountCover = (p.account_covers || []).filter(function (c) { return c.url; })[0];
    var url = coverUrl || p.cover_url || (accountCover ? accountCover.url : "");
    if (url) {
      var img = el("img");
      img.src = url;
      img.alt = L.labelCover;
      cover.appendChild(img);
      if (coverUrl) { cover.appendChild(el("small", "hint", L.labelCoverUpload)); }
      else if (!p.cover_url) { cover.appendChild(el("small", "hint", L.labelCoverAccount)); }
    } else {
      cover.appendChild(el("small", "pv-warn", L.labelCoverNone));
    }
    card.appendChild(cover);
    card.appendChild(el("h3", "pv-title", p.title));
    if (p.author) { card.appendChild(el("p", "pv-author", p.author)); }
    var digest = el("p", "pv-digest", p.digest);
    card.appendChild(digest);
    if (p.digest_auto) { card.appendChild(el("small", "hint", L.labelDigestAuto)); }
    var body = el("div", "pv-body");
    setBody(body, p.content);
    card.appendChild(body);
    return card;
  }
  /* The sanitised body (nh3) into the preview without parsing style="" (the CSP blocks inline
   * styles in markup): the styles travel as data-hub-style and are applied through CSSOM. */
  function setBody(body, html) {
    body.innerHTML = (html || "").replace(/(<[^>]*?\s)style="/gi, '$1data-hub-style="');
    Array.prototype.forEach.call(body.querySelectorAll("[data-hub-style]"), function (node) {
      node.style.cssText = node.getAttribute("data-hub-style");
      node.removeAttribute("data-hub-style");
    });
  }
  function weiboCard(p) {
    var card = el("div", "pv-card pv-weibo");
    card.appendChild(el("p", "pv-status-text", p.text));
    if (p.long_post) { card.appendChild(el("small", "hint", L.labelLong)); }
    if (p.link_from_account) { card.appendChild(el("small", "hint", L.labelLink)); }
    return card;
  }
  function websiteCard(p) {
    var card = el("div", "pv-card pv-website");
    card.appendChild(el("h3", "pv-title", p.title));
    if (p.summary) { card.appendChild(el("p", "pv-digest", p.summary)); }
    var body = el("div", "pv-body");
    setBody(body, p.content);
    card.appendChild(body);
    return card;
  }

  function render() {
    var s = state();
    var groups = platformsOf(s.account_ids);
    var names = Object.keys(groups).sort();
    list.textContent = "";
    if (!names.length) { statusEl.textContent = L.labelNone; return; }
    var answers = {};
    var fresh = last && last.ids === s.account_ids.join(",");
    if (fresh) { last.data.platforms.forEach(function (e) { answers[e.platform] = e; }); }
    names.forEach(function (platform) {
      var g = groups[platform];
      var a = answers[platform];
      var sec = el("section", "pv-platform");
      sec.dataset.platform = platform;
      sec.appendChild(el("h3", "pv-head", g.label + "：" + g.names.join("、")));
      sec.appendChild(localCounts(platform, s, a));
      var problems = el("ul", "pv-problems");
      if (a) {
        a.problems.forEach(function (msg) { problems.appendChild(el("li", "pv-problem", msg)); });
        if (!a.problems.length) { problems.appendChild(el("li", "pv-ok", L.labelOk)); }
      }
      sec.appendChild(problems);
      if (a && a.preview) {
        if (platform === "wechat") { sec.appendChild(wechatCard(a.preview)); }
        else if (platform === "weibo") { sec.appendChild(weiboCard(a.preview)); }
        else { sec.appendChild(websiteCard(a.preview)); }
      }
      list.appendChild(sec);
    });
  }

  function fetchPreview() {
    timer = null;
    var s = state();
    if (!s.account_ids.length) { last = null; render(); return; }
    var mine = ++seq;
    statusEl.textContent = L.labelChecking;
    fetch(L.url, {
      method: "POST", credentials: "same-origin",
      headers: {"Content-Type": "application/json", "X-CSRFToken": csrf ? csrf.value : ""},
      body: JSON.stringify(s)
    }).then(function (res) {
      return res.json().then(function (data) { return {ok: res.ok, data: data}; });
    }).then(function (r) {
      if (mine !== seq) { return; }
      if (!r.ok) {
        statusEl.textContent = (r.data && r.data.error && r.data.error.message) || L.labelFailed;
        return;
      }
      last = {ids: s.account_ids.join(","), data: r.data};
      statusEl.textContent = "";
      box.dataset.ok = r.data.ok ? "1" : "0";
      render();
    }).catch(function () {
      if (mine === seq) { statusEl.textContent = L.labelFailed; }
    });
  }
  function changed() {
    render();
    if (timer) { window.clearTimeout(timer); }
    timer = window.setTimeout(fetchPreview, 400);
  }

  function start() {
    if (typeof Quill !== "undefined" && holder) {
      var found = Quill.find(holder);
      if (found && typeof found.getContents === "function") {
        quill = found;
        quill.on("text-change", changed);
      }
    }
    ["title", "summary", "author", "source_url", "content"].forEach(function (name) {
      var f = form.querySelector("[name=" + name + "]");
      if (f) { f.addEventListener("input", changed); }
    });
    Array.prototype.forEach.call(form.querySelectorAll("input[name=account_ids]"), function (cb) {
      cb.addEventListener("change", changed);
    });
    if (coverInput) {
      coverInput.addEventListener("change", function () {
        if (coverUrl) { URL.revokeObjectURL(coverUrl); }
        var file = coverInput.files && coverInput.files[0];
        coverUrl = file ? URL.createObjectURL(file) : "";
        render();
      });
    }
    changed();
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", start); }
  else { start(); }
})();
