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
