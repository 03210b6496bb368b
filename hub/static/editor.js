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
      ]
    }
  });
  if (input.value) { quill.clipboard.dangerouslyPasteHTML(input.value); }
  input.style.display = "none";
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
        ["bold", "italic", "underline"], [{list: "ordered"}, {list: "bullet"}], ["link", "image"], ["clean"]]}});
      if (input.value) { quill.clipboard.dangerouslyPasteHTML(input.value); }
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
