/* Content checks in the UI (no inline scripts: CSP script-src 'self').
 *
 * Editor (post_form.html + checks_editor.html): the 检查 button sends the Quill editor's plain
 * text (embeds as U+FFFC, so offsets are Quill indices), its HTML, the title and the summary to
 * /checks/preview; findings are listed with one-click replacement and highlighted over the
 * editor (an overlay: the document itself is never formatted).
 * Post page and review screen (checks_post_findings.html): swaps in the body with the findings
 * marked (every container rendering the revision HTML); list items
 * and marks jump to each other.
 * Lexicon page: "停用…" fills the rule of the disable form.
 *
 * Server offsets count Unicode code points; JavaScript strings and Quill count UTF-16 units.
 */
(function () {
  "use strict";

  function byId(id) { return document.getElementById(id); }

  /* cpMap(s)[k] = UTF-16 index of code point k of s (length: code points + 1). */
  function cpMap(s) {
    var map = [0];
    var u = 0;
    for (var i = 0; i < s.length;) {
      var c = s.charCodeAt(i);
      var w = (c >= 0xD800 && c <= 0xDBFF && i + 1 < s.length) ? 2 : 1;
      i += w; u += w;
      map.push(u);
    }
    return map;
  }
  function unitAt(map, cp) { return map[Math.max(0, Math.min(cp, map.length - 1))]; }

  function flash(el) {
    if (!el) { return; }
    el.classList.add("flash");
    window.setTimeout(function () { el.classList.remove("flash"); }, 1600);
  }

  // -- editor ---------------------------------------------------------------------------------
  function editorPart() {
    var box = byId("checks-editor");
    var form = byId("post-form");
    if (!box || !form) { return; }
    var holder = byId("editor");
    var quill = null;
    if (typeof Quill !== "undefined" && holder) {
      var found = Quill.find(holder);
      if (found && typeof found.getContents === "function") { quill = found; }
    }
    var list = byId("checks-list");
    var statusEl = byId("checks-status");
    var button = byId("run-checks");
    var title = form.querySelector("[name=title]");
    var summary = form.querySelector("[name=summary]");
    var contentInput = byId("content-input");
    var csrf = form.querySelector("input[name=csrf_token]");
    var L = box.dataset;
    var snapshot = null;   // {text, maps} as sent to the server
    var marks = [];        // [{index, len, severity, els, li}]
    var overlay = null;
    var stale = false;

    if (quill) {
      overlay = document.createElement("div");
      overlay.className = "check-overlay";
      quill.container.appendChild(overlay);
      quill.on("text-change", function () { markStale(); });
      quill.root.addEventListener("scroll", draw);
      window.addEventListener("resize", draw);
    }
    [title, summary, contentInput].forEach(function (el) {
      if (el) { el.addEventListener("input", markStale); }
    });
    form.querySelectorAll("[name^='variant-'], [name=author], [name=source_url]").forEach(function (el) {
      el.addEventListener("input", markStale);
    });

    function setStatus(text) { statusEl.textContent = text; }

    /* The per-platform texts (variants): checked like the body, findings name their field. */
    function variantValues() {
      var out = {};
      form.querySelectorAll("[name^='variant-']").forEach(function (el) {
        var m = /^variant-([a-z]+)-(title|summary|text)$/.exec(el.name);
        if (!m || !el.value.trim()) { return; }
        (out[m[1]] = out[m[1]] || {})[m[2]] = el.value;
      });
      return out;
    }

    function markStale() {
      if (!snapshot || stale) { return; }
      stale = true;
      marks = [];
      if (overlay) { overlay.replaceChildren(); }
      Array.prototype.forEach.call(list.children, function (li) {
        li.classList.add("stale");
        li.querySelectorAll("button.replace").forEach(function (b) { b.disabled = true; });
      });
      setStatus(L.labelStale);
    }

    function editorText() {
      return quill.getContents().ops.map(function (op) {
        return typeof op.insert === "string" ? op.insert : "\uFFFC";
      }).join("");
    }

    function run() {
      setStatus(L.labelRunning);
      button.disabled = true;
      var text = quill ? editorText() : "";
      var payload = {
        title: title ? title.value : "", summary: summary ? summary.value : "", text: text,
        content: contentInput ? contentInput.value : "", variants: variantValues()
      };
      ["author", "source_url"].forEach(function (name) {
        var el = form.querySelector("[name=" + name + "]");
        if (el) { payload[name] = el.value; }
      });
      if (L.postId) { payload.post_id = parseInt(L.postId, 10); }
      var sent = {text: text, title: payload.title, summary: payload.summary};
      Object.keys(inputs()).forEach(function (name) { sent[name] = inputs()[name].value; });
      fetch(L.url, {
        method: "POST", credentials: "same-origin",
        headers: {"Content-Type": "application/json", "Accept": "application/json",
                  "X-CSRFToken": csrf ? csrf.value : ""},
        body: JSON.stringify(payload)
      }).then(function (r) {
        return r.json().then(function (d) { return {ok: r.ok, data: d}; });
      }).then(function (res) {
        button.disabled = false;
        if (!res.ok) {
          setStatus((res.data && res.data.error && res.data.error.message) || L.labelFailed);
          return;
        }
        var maps = {};
        Object.keys(sent).forEach(function (k) { maps[k] = cpMap(sent[k]); });
        snapshot = {values: sent, maps: maps};
        stale = false;
        render(res.data.findings || []);
      }).catch(function () {
        button.disabled = false;
        setStatus(L.labelFailed);
      });
    }

    function render(findings) {
      list.replaceChildren();
      marks = [];
      setStatus(findings.length ? L.labelCount + "：" + findings.length : L.labelNone);
      findings.forEach(function (f) {
        var li = document.createElement("li");
        li.className = "sev-" + f.severity;
        li.setAttribute("data-rule", f.rule);
        var sev = document.createElement("span");
        sev.className = "sev-tag sev-tag-" + f.severity;
        sev.textContent = L["sev" + f.severity.charAt(0).toUpperCase() + f.severity.slice(1)] || f.severity;
        var field = document.createElement("span");
        field.className = "field-tag";
        field.textContent = " " + fieldLabel(f.field) + " ";
        var jump = document.createElement("a");
        jump.href = "#";
        jump.className = "jump";
        if (f.text) {
          /* Findings about the post as a whole (platform rules) quote nothing. */
          var strong = document.createElement("strong");
          strong.textContent = "「" + f.text + "」";
          jump.appendChild(strong);
          li.append(sev, field, jump, document.createTextNode(" " + f.message));
        } else {
          li.append(sev, field, document.createTextNode(" " + f.message));
        }
        var range = locate(f);
        if (!range && f.field === "content") {
          li.appendChild(document.createTextNode(L.labelAttr));
        }
        if (f.suggestion && range) {
          var rep = document.createElement("button");
          rep.type = "button";
          rep.className = "btn btn-small btn-secondary replace";
          rep.textContent = L.labelReplace + "「" + f.suggestion + "」";
          rep.addEventListener("click", function () { replace(f, range); });
          li.appendChild(rep);
        }
        jump.addEventListener("click", function (ev) { ev.preventDefault(); go(f, range, li); });
        list.appendChild(li);
        if (range && f.field === "text" && quill) {
          marks.push({index: range.a, len: range.b - range.a, severity: f.severity, li: li, els: []});
        }
      });
      draw();
    }

    /* UTF-16 range {a, b} of a finding in the field it was found in, or null. */
    function locate(f) {
      if (!snapshot || !(f.field in snapshot.maps)) { return null; }
      var map = snapshot.maps[f.field];
      var a = unitAt(map, f.start);
      var b = unitAt(map, f.end);
      return b > a ? {a: a, b: b} : null;
    }

    function go(f, range, li) {
      if (!range || stale) { return; }
      if (f.field === "text" && quill) {
        quill.setSelection(range.a, range.b - range.a, "user");
        var m = marks.filter(function (x) { return x.li === li; })[0];
        if (m) { m.els.forEach(flash); if (m.els[0]) { m.els[0].scrollIntoView({block: "center"}); } }
      } else if (inputs()[f.field]) {
        var el = inputs()[f.field];
        var box = el.closest("details");
        if (box) { box.open = true; }
        el.focus(); el.setSelectionRange(range.a, range.b);
      }
    }

    /* Inputs other than the body a finding may point at, by field name (title, variants.weibo.text …). */
    function inputs() {
      var out = {};
      if (title) { out.title = title; }
      if (summary) { out.summary = summary; }
      ["author", "source_url"].forEach(function (name) {
        var el = form.querySelector("[name=" + name + "]");
        if (el) { out[name] = el; }
      });
      form.querySelectorAll("[name^='variant-']").forEach(function (el) {
        var m = /^variant-([a-z]+)-(title|summary|text)$/.exec(el.name);
        if (m) { out["variants." + m[1] + "." + m[2]] = el; }
      });
      return out;
    }

    function fieldLabel(name) {
      var own = L["field" + name.charAt(0).toUpperCase() + name.slice(1)];
      if (own) { return own; }
      var el = inputs()[name];
      if (el && name.indexOf("variants.") === 0) {
        var legend = el.closest("fieldset") && el.closest("fieldset").querySelector("legend");
        var label = el.closest("label");
        var words = label ? label.firstChild.textContent.trim() : name;
        return (legend ? legend.textContent.trim() + " · " : "") + words;
      }
      return name;
    }

    function replace(f, range) {
      if (stale) { return; }
      if (f.field === "text" && quill) {
        var Delta = Quill.import("delta");
        var fmt = quill.getFormat(range.a, range.b - range.a);
        var inline = {};
        ["bold", "italic", "underline", "strike", "link"].forEach(function (k) {
          if (fmt[k] !== undefined && !Array.isArray(fmt[k])) { inline[k] = fmt[k]; }
        });
        quill.updateContents(new Delta().retain(range.a).delete(range.b - range.a).insert(f.suggestion, inline),
                             "user");
      } else {
        var input = inputs()[f.field];
        if (!input) { return; }
        input.value = input.value.slice(0, range.a) + f.suggestion + input.value.slice(range.b);
        input.dispatchEvent(new Event("input"));
      }
      run();
    }

    function rects(index, len) {
      if (len > 200) {
        var whole = quill.getBounds(index, len);
        return whole ? [{top: whole.top, left: whole.left, right: whole.left + whole.width, height: whole.height}] : [];
      }
      var text = quill.getText(index, len);
      var out = [];
      var cur = null;
      for (var i = 0; i < len; i++) {
        if (text.charAt(i) === "\n") { continue; }
        var b = quill.getBounds(index + i, 1);
        if (!b) { continue; }
        if (cur && Math.abs(b.top - cur.top) < 2) {
          cur.right = Math.max(cur.right, b.left + b.width);
        } else {
          if (cur) { out.push(cur); }
          cur = {top: b.top, left: b.left, right: b.left + b.width, height: b.height};
        }
      }
      if (cur) { out.push(cur); }
      return out;
    }

    function draw() {
      if (!overlay) { return; }
      overlay.replaceChildren();
      marks.forEach(function (m) {
        m.els = [];
        rects(m.index, m.len).forEach(function (r) {
          var d = document.createElement("div");
          d.className = "hl sev-" + m.severity;
          d.style.top = r.top + "px";
          d.style.left = r.left + "px";
          d.style.width = Math.max(2, r.right - r.left) + "px";
          d.style.height = r.height + "px";
          overlay.appendChild(d);
          m.els.push(d);
        });
      });
    }

    button.addEventListener("click", run);
  }

  // -- post page / review screen ------------------------------------------------------------------
  /* Containers showing the revision's body as rendered HTML: the post page's article and the
   * review screen's WeChat/website previews (both render the stored HTML unchanged). */
  var BODY_SELECTOR = ".article .content, article.phone .content, [data-check-content]";

  function postPart() {
    var panel = byId("findings-panel");
    var tpl = byId("marked-content");
    if (!panel) { return; }
    var toggle = byId("toggle-marks");
    var bodies = [];
    var on = false;
    /* The bodies in this page and in its content frames (same origin, sandboxed, no scripts:
     * this page marks them); a frame that (re)loads adds its new body. */
    function collect() {
      var els = Array.prototype.slice.call(document.querySelectorAll(BODY_SELECTOR));
      document.querySelectorAll("iframe.content-frame").forEach(function (f) {
        var d = f.contentDocument;
        if (d && d.body && d.readyState === "complete" && d.location.href !== "about:blank") { els.push(d.body); }
      });
      els.forEach(function (el) {
        if (!bodies.some(function (b) { return b.el === el; })) {
          bodies.push({el: el, original: Array.prototype.slice.call(el.childNodes)});
        }
      });
    }

    function show(flag) {
      collect();
      if (!tpl || !bodies.length) { on = flag; return; }
      bodies.forEach(function (b) {
        if (flag) {
          b.el.replaceChildren(b.el.ownerDocument.importNode(tpl.content, true));
          b.el.querySelectorAll("[data-hub-style]").forEach(function (n) {  // see hub/checks/web.py
            n.style.cssText = n.getAttribute("data-hub-style");
            n.removeAttribute("data-hub-style");
          });
          b.el.querySelectorAll("mark.finding").forEach(function (m) {
            m.addEventListener("click", function () {
              var id = (m.getAttribute("data-finding") || "").split(" ")[0];
              var li = byId("finding-" + id);
              if (li) { li.scrollIntoView({block: "center"}); flash(li); }
            });
          });
        } else {
          b.el.replaceChildren.apply(b.el, b.original);
        }
      });
      on = flag;
      if (toggle) { toggle.textContent = flag ? toggle.dataset.labelHide : toggle.dataset.labelShow; }
    }

    if (tpl) {
      show(true);
      document.querySelectorAll("iframe.content-frame").forEach(function (f) {
        f.addEventListener("load", function () { show(on); });
      });
      if (toggle) {
        toggle.hidden = false;
        toggle.addEventListener("click", function () { show(!on); });
      }
    }
    panel.querySelectorAll("a.jump").forEach(function (a) {
      a.addEventListener("click", function (ev) {
        ev.preventDefault();
        if (!on) { show(true); }
        var id = a.getAttribute("data-finding");
        var hits = [];
        bodies.forEach(function (b) {
          b.el.querySelectorAll("mark.finding").forEach(function (m) {
            if ((m.getAttribute("data-finding") || "").split(" ").indexOf(id) >= 0) { hits.push(m); }
          });
        });
        var visible = hits.filter(function (m) { return m.offsetParent !== null; });
        var first = visible[0] || hits[0];
        if (first) { first.scrollIntoView({block: "center"}); hits.forEach(flash); }
      });
    });
  }

  // -- lexicon page -------------------------------------------------------------------------------
  function lexiconPart() {
    var input = byId("disable-rule-input");
    if (!input) { return; }
    document.querySelectorAll("button.pick-rule").forEach(function (b) {
      b.addEventListener("click", function () {
        input.value = b.getAttribute("data-rule");
        input.scrollIntoView({block: "center"});
        input.focus();
      });
    });
  }

  editorPart();
  postPart();
  lexiconPart();
})();
