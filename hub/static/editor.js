/* Body images: every image inserted, dropped or pasted into an editor is uploaded to the hub
 * (web.posts.upload_body_image, CSRF token in X-CSRFToken) and the editor holds its /media URL —
 * never a base64 data: URL. An upload that fails (too large, not an image) shows the server's
 * Chinese message next to the editor and inserts nothing; the draft stays as it was. */
var HubEditorImages = (function () {
  "use strict";
  var form = document.getElementById("post-form");
  var L = form ? form.dataset : {};
  var csrf = form ? form.querySelector("input[name=csrf_token]") : null;
  // Everything that might be an image goes to the server, which names what it accepts.
  var TYPES = ["image/jpeg", "image/png", "image/gif", "image/webp", "image/bmp", "image/tiff",
               "image/heic", "image/heif", "image/avif", "image/svg+xml"];

  function statusOf(quill) {
    var holder = quill.container;
    var el = holder.parentNode.querySelector(".editor-image-status");
    if (!el) {
      el = document.createElement("p");
      el.className = "hint editor-image-status";
      el.setAttribute("role", "status");
      el.setAttribute("aria-live", "polite");
      holder.parentNode.insertBefore(el, holder.nextSibling);
    }
    return el;
  }

  function show(quill, text, failed) {
    var el = statusOf(quill);
    el.textContent = text;
    el.classList.toggle("error", !!failed);
    el.dataset.state = failed ? "failed" : "ok";
  }

  // The server's limit, refused here before anything is sent (data-max-image on the form).
  function mb(bytes) { return (bytes / (1024 * 1024)).toFixed(1) + " MB"; }
  function tooLarge(blob) {
    var max = parseInt(L.maxImage || "0", 10);
    return max > 0 && blob.size > max;
  }
  function tooLargeError(blob) {
    return new Error(L.labelImageTooLarge + "（" + L.labelSelected + " " + mb(blob.size) + "）");
  }

  function upload(blob, name) {
    if (tooLarge(blob)) { return Promise.reject(tooLargeError(blob)); }
    var body = new FormData();
    body.append("file", blob, name || "image");
    if (L.postId) { body.append("post_id", L.postId); }
    return fetch(L.mediaUrl, {
      method: "POST", body: body, credentials: "same-origin",
      headers: {"X-CSRFToken": csrf ? csrf.value : "", "Accept": "application/json"}
    }).then(function (res) {
      return res.json().catch(function () { return {}; }).then(function (data) {
        if (res.status === 201 && data.url) { return data.url; }
        throw new Error((data.error && data.error.message) || L.labelUploadFailed);
      });
    });
  }

  var pending = 0;
  function track(quill, promise) {
    pending += 1;
    if (form) { form.dataset.uploading = String(pending); }
    show(quill, L.labelUploading, false);
    return promise.then(function (v) {
      show(quill, L.labelUploaded, false);
      return v;
    }, function (err) {
      show(quill, err.message || L.labelUploadFailed, true);
      return null;
    }).then(function (v) {
      pending -= 1;
      if (form) { form.dataset.uploading = String(pending); }
      return v;
    });
  }

  // Quill's uploader (toolbar image button, drop, pasted files): upload, then insert the URL.
  function uploader() {
    return {
      mimetypes: TYPES,
      handler: function (range, files) {
        var quill = this.quill;
        files.reduce(function (chain, file) {
          return chain.then(function (index) {
            return track(quill, upload(file, file.name)).then(function (url) {
              if (!url) { return index; }
              quill.insertEmbed(index, "image", url, "user");
              return index + 1;
            });
          });
        }, Promise.resolve(range.index)).then(function (index) { quill.setSelection(index, 0, "user"); });
      }
    };
  }

  function dataBlob(src) {
    var comma = src.indexOf(",");
    var header = src.slice(5, comma);
    if (comma < 0 || !/;base64$/.test(header)) { throw new Error(L.labelUploadFailed); }
    var bin = atob(src.slice(comma + 1));
    var bytes = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) { bytes[i] = bin.charCodeAt(i); }
    return new Blob([bytes], {type: header.replace(/;base64$/, "")});
  }

  // Pasted HTML (copied from a document) and old drafts may carry data: images: upload each and
  // swap in its URL.
  function rehostInline(quill) {
    var busy = {};
    var scan = function () {
      quill.getContents().ops.forEach(function (op) {
        var src = op.insert && op.insert.image;
        if (typeof src !== "string" || src.indexOf("data:") !== 0 || busy[src]) { return; }
        busy[src] = true;
        var done = Promise.resolve(src).then(dataBlob).then(function (b) { return upload(b, "pasted"); });
        track(quill, done).then(function (url) {
          var index = 0;
          quill.getContents().ops.forEach(function (o) {
            var len = typeof o.insert === "string" ? o.insert.length : 1;
            if (url && o.insert && o.insert.image === src) {
              quill.deleteText(index, 1, "user");
              quill.insertEmbed(index, "image", url, "user");
            }
            index += len;
          });
        });
      });
    };
    quill.on("text-change", scan);
    scan();
  }

  return {uploader: uploader, rehostInline: rehostInline};
})();

/* Body HTML into a Quill editor under the page's CSP (no inline styles): parsing style="" in this
 * page is blocked, so the sanitised body's style attributes travel as data-hub-style and a
 * clipboard matcher turns the inline ones Quill knows back into formats. */
var HubPasteHTML = (function () {
  "use strict";
  var INLINE = {"color": "color", "background-color": "background"};
  function matcher(node, delta) {
    var css = node.getAttribute && node.getAttribute("data-hub-style");
    if (!css) { return delta; }
    var fmt = {};
    css.split(";").forEach(function (decl) {
      var i = decl.indexOf(":");
      var key = i > 0 ? decl.slice(0, i).trim().toLowerCase() : "";
      if (INLINE[key]) { fmt[INLINE[key]] = decl.slice(i + 1).trim(); }
    });
    if (!Object.keys(fmt).length) { return delta; }
    var Delta = Quill.import("delta");
    return delta.compose(new Delta().retain(delta.length(), fmt));
  }
  return function (quill, html) {
    quill.clipboard.addMatcher(Node.ELEMENT_NODE, matcher);
    quill.clipboard.dangerouslyPasteHTML(html.replace(/(<[^>]*?\s)style="/gi, '$1data-hub-style="'));
  };
}());

/* Rich-text editor (Quill, vendored): edits the HTML held in the content textarea. */
(function () {
  "use strict";
  var input = document.getElementById("content-input");
  var holder = document.getElementById("editor");
  if (!input || !holder || typeof Quill === "undefined") { return; }
  var quill = new Quill(holder, {
    theme: "snow",
    modules: {
      toolbar: [
        [{ header: [2, 3, false] }],
        ["bold", "italic", "underline"],
        [{ list: "ordered" }, { list: "bullet" }],
        ["blockquote", "link", "image"],
        ["clean"]
      ],
      uploader: HubEditorImages.uploader()
    }
  });
  HubEditorImages.rehostInline(quill);
  if (input.value) { HubPasteHTML(quill, input.value); }
  input.style.display = "none";
  holder.hubQuill = quill;  // draft.js restores a local draft into it
  holder.setAttribute("data-ready", "1");
  var sync = function () {
    var html = quill.getSemanticHTML ? quill.getSemanticHTML() : quill.root.innerHTML;
    input.value = quill.getText().trim() ? html : "";
  };
  quill.on("text-change", sync);
  document.getElementById("post-form").addEventListener("submit", sync);
})();

/* 多图文: the articles after the main one, each with its own small editor; add, order, remove. */
(function () {
  "use strict";
  var list = document.getElementById("article-list");
  var add = document.getElementById("add-article");
  var tpl = document.getElementById("article-template");
  var form = document.getElementById("post-form");
  if (!list || !add || !tpl || !form) { return; }
  var count = document.getElementById("article-count");

  function setUp(item) {
    var input = item.querySelector("textarea[name=article-content]");
    var holder = item.querySelector(".article-editor");
    if (typeof Quill !== "undefined" && holder && input) {
      var quill = new Quill(holder, {theme: "snow", modules: {toolbar: [
        ["bold", "italic", "underline"], [{list: "ordered"}, {list: "bullet"}], ["link", "image"], ["clean"]],
        uploader: HubEditorImages.uploader()}});
      HubEditorImages.rehostInline(quill);
      if (input.value) { HubPasteHTML(quill, input.value); }
      input.style.display = "none";
      var sync = function () {
        var html = quill.getSemanticHTML ? quill.getSemanticHTML() : quill.root.innerHTML;
        input.value = quill.getText().trim() ? html : "";
      };
      quill.on("text-change", sync);
      form.addEventListener("submit", sync);
    }
    item.querySelector(".article-up").addEventListener("click", function () {
      if (item.previousElementSibling) { list.insertBefore(item, item.previousElementSibling); }
    });
    item.querySelector(".article-down").addEventListener("click", function () {
      if (item.nextElementSibling) { list.insertBefore(item.nextElementSibling, item); }
    });
    item.querySelector(".article-remove").addEventListener("click", function () {
      item.remove();
      refresh();
    });
  }

  function refresh() {
    var n = list.children.length;
    if (count) { count.textContent = String(n); }
    add.disabled = n >= parseInt(add.dataset.max, 10);
    add.title = add.disabled ? add.dataset.full : "";
  }

  Array.prototype.forEach.call(list.children, setUp);
  add.addEventListener("click", function () {
    if (list.children.length >= parseInt(add.dataset.max, 10)) { return; }
    var item = tpl.content.firstElementChild.cloneNode(true);
    list.appendChild(item);
    setUp(item);
    refresh();
    item.querySelector("input[name=article-title]").focus();
  });
  refresh();
})();
