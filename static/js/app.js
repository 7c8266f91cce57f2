// Small progressive enhancements; the pages work without them. No inline scripts (CSP).
(function () {
  "use strict";
  // <button data-confirm="..."> asks before submitting its form.
  document.addEventListener("click", function (event) {
    var el = event.target.closest("[data-confirm]");
    if (el && !window.confirm(el.getAttribute("data-confirm"))) {
      event.preventDefault();
      event.stopImmediatePropagation();
    }
  }, true);
  // <input type=checkbox data-select-all="name"> toggles every checkbox named "name".
  document.addEventListener("change", function (event) {
    var el = event.target;
    var name = el.getAttribute && el.getAttribute("data-select-all");
    if (!name) return;
    document.querySelectorAll('input[type=checkbox][name="' + name + '"]').forEach(function (box) {
      box.checked = el.checked;
    });
  });
})();
