// The header's search box (CONTRACT §11): "/" focuses it from anywhere but a text field;
// results arrive as one types (htmx); the arrow keys move through them, Enter opens the chosen
// (the best, first, by default) and Escape closes the list. Without script the form submits
// to the search page.
(function () {
  "use strict";

  function box() { return document.getElementById("header-q"); }
  function options() {
    return Array.from(document.querySelectorAll("#header-search-list [role=option]"));
  }
  function chosen() {
    return options().find(function (o) { return o.getAttribute("aria-selected") === "true"; });
  }
  function choose(option) {
    options().forEach(function (o) { o.setAttribute("aria-selected", o === option ? "true" : "false"); });
    var input = box();
    if (option) {
      input.setAttribute("aria-activedescendant", option.id);
      option.scrollIntoView({ block: "nearest" });
    } else {
      input.removeAttribute("aria-activedescendant");
    }
  }
  function close() {
    var results = document.getElementById("header-search-results");
    if (results) { results.innerHTML = ""; }
    var input = box();
    if (input) { input.setAttribute("aria-expanded", "false"); input.removeAttribute("aria-activedescendant"); }
  }

  document.addEventListener("keydown", function (event) {
    var input = box();
    if (!input) { return; }
    var target = event.target;
    var typing = target instanceof HTMLElement &&
      (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName));
    if (event.key === "/" && !typing && !event.ctrlKey && !event.metaKey && !event.altKey) {
      event.preventDefault();
      input.focus();
      input.select();
      return;
    }
    if (target !== input) { return; }
    var all = options();
    var at = all.indexOf(chosen());
    if (event.key === "ArrowDown" && all.length) {
      event.preventDefault();
      choose(all[Math.min(at + 1, all.length - 1)]);
    } else if (event.key === "ArrowUp" && all.length) {
      event.preventDefault();
      choose(all[Math.max(at - 1, 0)]);
    } else if (event.key === "Enter") {
      var option = chosen();
      var link = option && option.querySelector("a[href]");
      if (link) {
        event.preventDefault();
        window.location.assign(link.getAttribute("href"));
      }
    } else if (event.key === "Escape") {
      close();
    }
  });

  document.addEventListener("htmx:afterSwap", function (event) {
    if (event.target && event.target.id === "header-search-results") {
      var input = box();
      var any = options().length > 0;
      input.setAttribute("aria-expanded", any ? "true" : "false");
      choose(any ? options()[0] : null);
    }
  });

  document.addEventListener("click", function (event) {
    var form = document.querySelector("[data-header-search]");
    if (form && !form.contains(event.target)) { close(); }
  });
})();
