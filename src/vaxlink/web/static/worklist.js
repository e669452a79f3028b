// Saved filters of the worklist: the officer names the filter in use and finds it again as a link. They
// are kept in this browser only (localStorage), per user, and hold the filter's words, never a result.
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", function () {
    var save = document.getElementById("save-filter");
    var list = document.getElementById("saved-filters");
    var who = document.querySelector(".who");
    if (!save || !list || !window.localStorage) { return; }
    var key = "vaxlink.filters." + (who ? who.textContent.trim() : "");
    function load() {
      try { return JSON.parse(localStorage.getItem(key) || "[]"); } catch (e) { return []; }
    }
    function show() {
      var saved = load();
      list.replaceChildren();
      saved.forEach(function (f) {
        var a = document.createElement("a");
        a.href = "/cases" + f.query;
        a.textContent = f.name;
        list.append(a);
      });
      list.hidden = saved.length === 0;
    }
    save.hidden = false;
    save.addEventListener("click", function () {
      var query = window.location.search.replace(/[?&](done|cursor)=[^&]*/g, "");
      if (query && query[0] !== "?") { query = "?" + query.replace(/^&/, ""); }
      var name = window.prompt(save.textContent, "");
      if (!name) { return; }
      var saved = load().filter(function (f) { return f.name !== name; });
      saved.push({ name: name.slice(0, 40), query: query });
      localStorage.setItem(key, JSON.stringify(saved.slice(-10)));
      show();
    });
    show();
  });
})();
