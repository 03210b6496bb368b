/* Review page: each sandboxed rendering frame takes the height of what it shows (same origin,
 * no scripts inside the frame: the page measures it). */
(function () {
  "use strict";
  function fit(frame) {
    try {
      var doc = frame.contentDocument;
      if (doc && doc.body) { frame.style.height = Math.min(4000, doc.documentElement.scrollHeight + 4) + "px"; }
    } catch (e) { /* not readable: keep the default height */ }
  }
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("iframe.rendering-frame").forEach(function (frame) {
      frame.addEventListener("load", function () {
        fit(frame);
        Array.prototype.forEach.call(frame.contentDocument.images || [], function (img) {
          img.addEventListener("load", function () { fit(frame); });
        });
      });
      fit(frame);
    });
  });
}());
