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

// ---- failed requests: say so in place (issue 19) -----------------------------------------
(function () {
  "use strict";
  // A request htmx could not complete (an error answer it does not swap, or no answer at all)
  // would otherwise leave the page as it was, looking like the result. Each failure puts a
  // message just above what the request was to replace, and marks that content as not updated;
  // the next success there takes both away.
  var NOTE = "data-request-failed";

  function retryAfter(xhr) {
    // Retry-After is seconds or an HTTP date; null when absent or unreadable.
    var raw = xhr && xhr.getResponseHeader("Retry-After");
    if (!raw) return null;
    var seconds = /^\d+$/.test(raw.trim()) ? parseInt(raw, 10)
      : Math.ceil((Date.parse(raw) - Date.now()) / 1000);
    return isNaN(seconds) ? null : Math.max(seconds, 1);
  }

  function inWords(seconds) {
    if (seconds < 90) return seconds + (seconds === 1 ? " second" : " seconds");
    var minutes = Math.ceil(seconds / 60);
    return minutes + " minutes";
  }

  function explain(xhr, reading) {
    var status = xhr ? xhr.status : 0;
    var stale = reading ? " What is shown below is not updated." : "";
    if (!status) {
      return "Could not reach the server, so this was not done." + stale +
        " Check the connection and try again.";
    }
    if (status === 429) {
      var wait = retryAfter(xhr);
      return "Too many requests in a short time, so this was not done." + stale +
        (wait ? " Try again in " + inWords(wait) + "." : " Try again in a moment.");
    }
    if (status === 401) return "You are signed out. Reload the page to sign in again.";
    if (status === 403) return "You may not do this (error 403)." + stale;
    if (status === 404) return "Not found (error 404): it may have been removed. Reload the page.";
    if (status >= 500) {
      return "Something went wrong on the server (error " + status + "), so this was not done." +
        stale + " Try again; if it keeps failing, tell an administrator.";
    }
    return "The server refused this (error " + status + ")." + stale;
  }

  // Where the message goes: just before the content the request was to replace (outside a
  // table or list row, where a paragraph cannot stand), or at the top of the page.
  function anchorFor(target) {
    if (!target || !target.isConnected || target === document.body ||
        target === document.documentElement) {
      return document.getElementById("main") && document.getElementById("main").firstChild;
    }
    var table = target.closest("table");
    if (table) return table.closest(".table-wrap") || table;
    return target;
  }

  function show(event, xhr) {
    var detail = event.detail || {};
    var target = detail.target || event.target;
    var config = detail.requestConfig || {};
    var reading = (config.verb || "get").toLowerCase() === "get";
    var anchor = anchorFor(target);
    if (!anchor || !anchor.parentNode) return;
    var note = anchor.previousElementSibling;
    if (!note || !note.hasAttribute(NOTE)) {
      note = document.createElement(anchor.tagName === "LI" ? "li" : "div");
      note.setAttribute(NOTE, "");
      note.setAttribute("role", "alert");
      note.className = "notice error request-failed";
      anchor.parentNode.insertBefore(note, anchor);
    }
    note.textContent = explain(xhr, reading);
    if (reading && target && target.classList && target !== document.body) {
      target.classList.add("is-stale");
    }
  }

  function clear(target) {
    var anchor = anchorFor(target);
    var note = anchor && anchor.previousElementSibling;
    if (note && note.hasAttribute(NOTE)) note.remove();
    if (target && target.classList) target.classList.remove("is-stale");
  }

  document.addEventListener("htmx:responseError", function (event) {
    show(event, event.detail.xhr);
  });
  document.addEventListener("htmx:sendError", function (event) {
    show(event, null);
  });
  // A request that succeeds (or whose refusal is swapped in place) clears the message: an
  // outerHTML swap replaces the target, so look for the note by the new content's id too.
  document.addEventListener("htmx:afterRequest", function (event) {
    var detail = event.detail || {};
    if (!detail.successful) return;
    var target = detail.target;
    if (target && !target.isConnected && target.id) target = document.getElementById(target.id);
    clear(target);
  });
})();

// ---- a renamed entity renames the page around it (issue 19) -------------------------------
(function () {
  "use strict";
  // The details panel carries the entity's name (data-page-name); when an edit or a refresh
  // swaps it in with another name, the breadcrumb ([data-page-name-target]) and the window's
  // title follow, which would otherwise keep the old name until a reload.
  document.addEventListener("htmx:load", function (event) {
    var elt = event.detail && event.detail.elt;
    if (!elt || !elt.querySelector) return;
    var source = elt.hasAttribute && elt.hasAttribute("data-page-name") ? elt
      : elt.querySelector("[data-page-name]");
    if (!source) return;
    var name = source.getAttribute("data-page-name");
    document.querySelectorAll("[data-page-name-target]").forEach(function (crumb) {
      var before = crumb.textContent;
      if (before === name) return;
      if (document.title.indexOf(before) === 0) {
        document.title = name + document.title.slice(before.length);
      }
      crumb.textContent = name;
      crumb.setAttribute("title", name);
    });
  });
})();

// ---- focus stays with the person after a swap (issue 19) ---------------------------------
(function () {
  "use strict";
  // A swap that replaces the button just pressed (a refused move, a revert) would drop focus
  // to the top of the page. New content marks where focus goes instead: an error it shows
  // ([data-focus-on-swap="error"]) before anything else it marks ([data-focus-on-swap]), such
  // as the message saying what was done. Each mark is read out too: role="alert" or "status".
  function target(root, refused) {
    if (!root || !root.querySelector) return null;
    var marks = ['[data-focus-on-swap="error"]', "[data-focus-on-swap]"];
    // A refused form with no mark, whose swap took the focus away: its first input said to
    // be wrong.
    if (refused) marks.splice(1, 0, '[aria-invalid="true"]');
    for (var i = 0; i < marks.length; i++) {
      if (root.matches && root.matches(marks[i])) return root;
      var found = root.querySelector(marks[i]);
      if (found) return found;
    }
    return null;
  }
  document.addEventListener("htmx:afterSettle", function (event) {
    var xhr = event.detail && event.detail.xhr;
    var active = document.activeElement;
    var lost = !active || active === document.body;  // the focused element was swapped out
    var mark = target(event.target, lost && xhr && xhr.status >= 400);
    if (!mark || !mark.isConnected) return;
    if (!mark.matches("a[href], button, input, select, textarea, [tabindex]")) {
      mark.setAttribute("tabindex", "-1");
    }
    mark.focus({ preventScroll: false });
  });
})();
