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

// ---- entities pages -------------------------------------------------------------------
(function () {
  "use strict";
  // Elements marked data-swap-errors show the server's answer to a refused request
  // (400 form errors, 403, 409 conflict, 422 blocked move) in place, as htmx would a 200.
  document.addEventListener("htmx:beforeSwap", function (event) {
    var status = event.detail.xhr.status;
    // The event fires on the swap target; the element that made the request may carry the mark.
    var config = event.detail.requestConfig || {};
    var marked = [event.target, config.elt].some(function (el) {
      return el && el.closest && el.closest("[data-swap-errors]");
    });
    if ([400, 403, 409, 422].indexOf(status) !== -1 && marked) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });
  // <select data-autosubmit> applies its form as soon as it changes.
  document.addEventListener("change", function (event) {
    var el = event.target;
    if (el.hasAttribute && el.hasAttribute("data-autosubmit") && el.form) {
      el.form.requestSubmit();
    }
  });
  // A page pushed by htmx and missing from its history cache is reloaded whole, rather
  // than asked for as a fragment (which would replace the page with the fragment alone).
  document.addEventListener("DOMContentLoaded", function () {
    if (window.htmx) { window.htmx.config.refreshOnHistoryMiss = true; }
  });
  // Bulk action form: show only the fields of the chosen action (<div data-bulk-action="assign">).
  function showBulkFields(form) {
    var chosen = form.querySelector('input[name="action"]:checked');
    form.querySelectorAll("[data-bulk-action]").forEach(function (el) {
      el.hidden = !chosen || el.getAttribute("data-bulk-action") !== chosen.value;
    });
  }
  document.addEventListener("change", function (event) {
    var form = event.target.closest && event.target.closest("form.bulk-action");
    if (form && event.target.name === "action") showBulkFields(form);
  });
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("form.bulk-action").forEach(showBulkFields);
  });
})();
// Inside [data-swap-errors], htmx swaps 409 and 422 answers (a stale form, validation errors)
// like successes, so the form comes back in place with its messages.
document.addEventListener("htmx:beforeSwap", function (event) {
  var status = event.detail.xhr.status;
  if ((status === 409 || status === 422) && event.detail.elt.closest("[data-swap-errors]")) {
    event.detail.shouldSwap = true;
    event.detail.isError = false;
  }
});

// ---- declared fields: typeaheads and list tables (templates/entities/_fields.html) ----------
(function () {
  "use strict";
  // A typeahead input (<input data-typeahead hx-get=...>) asks for suggestions matching what
  // was typed, as q; the answer fills its <datalist>.
  document.addEventListener("htmx:configRequest", function (event) {
    var elt = event.detail.elt;
    if (elt && elt.hasAttribute && elt.hasAttribute("data-typeahead")) {
      event.detail.parameters.q = elt.value;
    }
  });
  // A list field's rows are added and removed here, in place. Without script the same
  // buttons post the form and the server answers it with the row added or removed.
  function nextIndex(list) {
    var highest = -1;
    list.querySelectorAll("[data-rows] [data-remove-row]").forEach(function (button) {
      var found = /-(\d+)$/.exec(button.value);
      if (found) { highest = Math.max(highest, parseInt(found[1], 10)); }
    });
    return highest + 1;
  }
  function addRow(list) {
    var rows = list.querySelector("[data-rows]");
    var template = list.querySelector("template[data-row-template]");
    var html = template.innerHTML.split("__index__").join(String(nextIndex(list)))
      .split("__number__").join(String(rows.children.length + 1));
    rows.insertAdjacentHTML("beforeend", html);
    var row = rows.lastElementChild;
    if (window.htmx) { window.htmx.process(row); }
    var first = row.querySelector("input, select, textarea");
    if (first) { first.focus(); }
  }
  function removeRow(button) {
    var list = button.closest("[data-list]");
    button.closest("[data-row]").remove();
    list.querySelector("[data-add-row]").focus();
  }
  document.addEventListener("click", function (event) {
    var add = event.target.closest && event.target.closest("[data-add-row]");
    var remove = event.target.closest && event.target.closest("[data-remove-row]");
    if (add && add.closest("[data-list]")) {
      event.preventDefault();
      addRow(add.closest("[data-list]"));
    } else if (remove && remove.closest("[data-row]")) {
      event.preventDefault();
      removeRow(remove);
    }
  });
})();
