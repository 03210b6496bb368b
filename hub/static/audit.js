// Audit pages: the print button of the accountability record (no inline handlers: CSP).
document.querySelectorAll("[data-print]").forEach(function (el) {
  el.addEventListener("click", function () { window.print(); });
});
